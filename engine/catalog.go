package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/drsorch/drsorch"
)

func invalid(param, format string, args ...any) error {
	return drsorch.Errorf(drsorch.CodeInvalidParameter, "%s: %s", param, fmt.Sprintf(format, args...)).
		WithDetails(map[string]any{"parameter": param})
}

// ListGroups returns every protection group.
func (e *Engine) ListGroups(ctx context.Context) ([]drsorch.ProtectionGroup, error) {
	if err := e.authorize(ctx, drsorch.PermViewExecutions, ""); err != nil {
		return nil, err
	}
	gs, err := e.store.ListGroups(ctx)
	if gs == nil {
		gs = []drsorch.ProtectionGroup{}
	}
	return gs, err
}

// GetGroup returns one protection group.
func (e *Engine) GetGroup(ctx context.Context, id string) (*drsorch.ProtectionGroup, error) {
	if err := e.authorize(ctx, drsorch.PermViewExecutions, ""); err != nil {
		return nil, err
	}
	return e.store.GetGroup(ctx, id)
}

// SaveGroup creates a protection group (create true) or replaces one, after validation.
func (e *Engine) SaveGroup(ctx context.Context, g *drsorch.ProtectionGroup, create bool) (*drsorch.ProtectionGroup, error) {
	if err := e.authorize(ctx, drsorch.PermManagePlans, ""); err != nil {
		return nil, err
	}
	g.GroupName = strings.TrimSpace(g.GroupName)
	switch {
	case g.GroupID != "" && !drsorch.ValidRecordID(g.GroupID):
		return nil, invalid("groupId", "%q is not a valid id (letters, digits, '.', '_', '-', at most 128)", g.GroupID)
	case g.GroupName == "" || len(g.GroupName) > 64:
		return nil, invalid("groupName", "required, 1 to 64 characters")
	case g.Region == "":
		return nil, drsorch.Errorf(drsorch.CodeMissingParameter, "region is required").WithDetails(map[string]any{"parameter": "region"})
	case !drsorch.ValidRegion(g.Region):
		return nil, invalid("region", "%q is not an AWS region", g.Region)
	case g.AccountID != "" && !drsorch.ValidAccountID(g.AccountID):
		return nil, invalid("accountId", "%q is not a 12-digit account id", g.AccountID)
	case len(g.SourceServerIDs) == 0 && len(g.ServerSelectionTags) == 0:
		return nil, invalid("sourceServerIds", "a protection group needs sourceServerIds or serverSelectionTags")
	}
	seen := map[string]bool{}
	for i, id := range g.SourceServerIDs {
		if !drsorch.ValidSourceServerID(id) {
			return nil, invalid(fmt.Sprintf("sourceServerIds[%d]", i), "%q is not a DRS source server id (s- and 17 characters)", id)
		}
		if seen[id] {
			return nil, invalid(fmt.Sprintf("sourceServerIds[%d]", i), "%s is listed twice", id)
		}
		seen[id] = true
	}
	for k := range g.ServerSelectionTags {
		if strings.TrimSpace(k) == "" {
			return nil, invalid("serverSelectionTags", "tag keys must not be empty")
		}
	}
	if g.SourceServerIDs == nil {
		g.SourceServerIDs = []string{}
	}
	all, err := e.store.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range all {
		if o.GroupID != g.GroupID && strings.EqualFold(o.GroupName, g.GroupName) {
			return nil, drsorch.Errorf(drsorch.CodeAlreadyExists, "A Protection Group named %q already exists", g.GroupName).
				WithDetails(map[string]any{"groupId": o.GroupID})
		}
	}
	if len(g.SourceServerIDs) > 0 && !g.UsesTags() {
		if err := e.checkServersExist(ctx, g); err != nil {
			return nil, err
		}
	}
	now := e.now().Unix()
	g.LastModifiedDate = now
	if create {
		if g.GroupID == "" {
			g.GroupID = uuid.NewString()
		}
		g.CreatedDate, g.Version = now, 0
		return g, e.store.CreateGroup(ctx, g)
	}
	cur, err := e.store.GetGroup(ctx, g.GroupID)
	if err != nil {
		return nil, err
	}
	if g.Version != 0 && g.Version != cur.Version {
		return nil, drsorch.Errorf(drsorch.CodeVersionConflict, "Protection Group %s was changed by someone else (version %d, yours %d)", g.GroupID, cur.Version, g.Version)
	}
	g.Version, g.CreatedDate = cur.Version, cur.CreatedDate
	return g, e.store.UpdateGroup(ctx, g)
}

func (e *Engine) checkServersExist(ctx context.Context, g *drsorch.ProtectionGroup) error {
	x := &drsorch.Execution{}
	if g.AccountID != "" && g.AccountID != e.cfg.AccountID {
		x.AccountContext = &drsorch.AccountContext{AccountID: g.AccountID, AssumeRoleName: drsorch.DefaultCrossAccountRole}
		if a, err := e.store.GetAccount(ctx, g.AccountID); err == nil {
			if role := a.RoleName(); role != "" {
				x.AccountContext.AssumeRoleName = role
			}
			x.Secrets.ExternalID = a.ExternalID
		}
	}
	r := e.newResolver(x)
	known, err := r.describe(ctx, x.Target(g.Region, e.cfg.AccountID), g.SourceServerIDs)
	if err != nil {
		return drsorch.Wrap(drsorch.ErrorCode(err), err, "Could not check the servers in DRS: %s", drsorch.AsError(err).Message)
	}
	for i, id := range g.SourceServerIDs {
		if _, ok := known[id]; !ok {
			return invalid(fmt.Sprintf("sourceServerIds[%d]", i), "source server %s does not exist in DRS in %s", id, g.Region)
		}
	}
	return nil
}

// DeleteGroup removes a protection group no plan uses.
func (e *Engine) DeleteGroup(ctx context.Context, id string) error {
	if err := e.authorize(ctx, drsorch.PermManagePlans, ""); err != nil {
		return err
	}
	plans, err := e.store.ListPlans(ctx)
	if err != nil {
		return err
	}
	for _, p := range plans {
		for _, w := range p.Waves {
			if slices.Contains(w.GroupIDs(), id) {
				return drsorch.Errorf(drsorch.CodeInvalidState, "Protection Group %s is used by Recovery Plan %s", id, p.PlanID).
					WithDetails(map[string]any{"groupId": id, "planId": p.PlanID})
			}
		}
	}
	return e.store.DeleteGroup(ctx, id)
}

// ListPlans returns every recovery plan.
func (e *Engine) ListPlans(ctx context.Context) ([]drsorch.RecoveryPlan, error) {
	if err := e.authorize(ctx, drsorch.PermViewExecutions, ""); err != nil {
		return nil, err
	}
	ps, err := e.store.ListPlans(ctx)
	if ps == nil {
		ps = []drsorch.RecoveryPlan{}
	}
	return ps, err
}

// GetPlan returns one recovery plan.
func (e *Engine) GetPlan(ctx context.Context, id string) (*drsorch.RecoveryPlan, error) {
	if err := e.authorize(ctx, drsorch.PermViewExecutions, ""); err != nil {
		return nil, err
	}
	return e.store.GetPlan(ctx, id)
}

// SavePlan creates (create true) or replaces a recovery plan after checking
// that its groups exist, wave numbers are unique, dependencies are acyclic and
// in range, and every wave's servers resolve.
func (e *Engine) SavePlan(ctx context.Context, p *drsorch.RecoveryPlan, create bool) (*drsorch.RecoveryPlan, error) {
	if err := e.authorize(ctx, drsorch.PermManagePlans, ""); err != nil {
		return nil, err
	}
	if err := e.validatePlan(ctx, p); err != nil {
		return nil, err
	}
	now := e.now().Unix()
	p.LastModifiedDate = now
	if create {
		if p.PlanID == "" {
			p.PlanID = uuid.NewString()
		}
		p.CreatedDate, p.Version = now, 0
		return p, e.store.CreatePlan(ctx, p)
	}
	cur, err := e.store.GetPlan(ctx, p.PlanID)
	if err != nil {
		return nil, err
	}
	if p.Version != 0 && p.Version != cur.Version {
		return nil, drsorch.Errorf(drsorch.CodeVersionConflict, "Recovery Plan %s was changed by someone else (version %d, yours %d)", p.PlanID, cur.Version, p.Version)
	}
	p.Version, p.CreatedDate = cur.Version, cur.CreatedDate
	return p, e.store.UpdatePlan(ctx, p)
}

func (e *Engine) validatePlan(ctx context.Context, p *drsorch.RecoveryPlan) error {
	p.PlanName = strings.TrimSpace(p.PlanName)
	switch {
	case p.PlanID != "" && !drsorch.ValidRecordID(p.PlanID):
		return invalid("planId", "%q is not a valid id (letters, digits, '.', '_', '-', at most 128)", p.PlanID)
	case p.PlanName == "":
		return drsorch.Errorf(drsorch.CodeMissingParameter, "planName is required").WithDetails(map[string]any{"parameter": "planName"})
	case len(p.PlanName) > 64:
		return invalid("planName", "at most 64 characters")
	case len(p.Waves) == 0:
		return invalid("waves", "a recovery plan needs at least one wave")
	case p.AccountID != "" && !drsorch.ValidAccountID(p.AccountID):
		return invalid("accountId", "%q is not a 12-digit account id", p.AccountID)
	}
	plans, err := e.store.ListPlans(ctx)
	if err != nil {
		return err
	}
	for _, o := range plans {
		if o.PlanID != p.PlanID && strings.EqualFold(o.PlanName, p.PlanName) {
			return drsorch.Errorf(drsorch.CodeAlreadyExists, "A Recovery Plan named %q already exists", p.PlanName).
				WithDetails(map[string]any{"planId": o.PlanID})
		}
	}
	numbers := map[int]int{}
	for i := range p.Waves {
		w := &p.Waves[i]
		at := fmt.Sprintf("waves[%d]", i)
		if w.WaveNumber < 0 {
			return invalid(at+".waveNumber", "must be 0 or more, got %d", w.WaveNumber)
		}
		if j, dup := numbers[w.WaveNumber]; dup {
			return invalid(at+".waveNumber", "wave number %d is used by waves[%d] too", w.WaveNumber, j)
		}
		numbers[w.WaveNumber] = i
		w.WaveName = strings.TrimSpace(w.WaveName)
		if w.WaveName == "" {
			w.WaveName = fmt.Sprintf("Wave %d", i+1)
		}
		if w.TimeoutSeconds < 0 {
			return invalid(at+".timeoutSeconds", "must be 0 (the default) or more")
		}
		if len(w.GroupIDs()) == 0 {
			return invalid(at+".protectionGroupId", "each wave needs protectionGroupId or protectionGroupIds")
		}
		for j, id := range w.ServerIDs {
			if !drsorch.ValidSourceServerID(id) {
				return invalid(fmt.Sprintf("%s.serverIds[%d]", at, j), "%q is not a DRS source server id (s- and 17 characters)", id)
			}
		}
	}
	slices.SortStableFunc(p.Waves, func(a, b drsorch.PlanWave) int { return a.WaveNumber - b.WaveNumber })
	for i, w := range p.Waves {
		for _, d := range w.DependsOnWaves {
			at := fmt.Sprintf("waves[%d].dependsOnWaves", i)
			if d == w.WaveNumber {
				return invalid(at, "wave %d cannot depend on itself", d)
			}
			if _, ok := numbers[d]; !ok {
				return invalid(at, "wave %d depends on wave %d, which the plan does not have", w.WaveNumber, d)
			}
		}
	}
	if cycle := findCycle(p.Waves); cycle != nil {
		return invalid("dependsOnWaves", "waves depend on each other in a cycle: %v", cycle)
	}
	ac, externalID, err := e.accountContextFor(ctx, p)
	if err != nil {
		if drsorch.IsCode(err, drsorch.CodeInvalidState) {
			e := drsorch.AsError(err)
			return drsorch.Errorf(drsorch.CodeInvalidParameter, "%s", e.Message).WithDetails(e.Details)
		}
		return err
	}
	r := e.newResolver(&drsorch.Execution{AccountContext: ac, Secrets: drsorch.ExecutionSecrets{ExternalID: externalID}})
	for i, w := range p.Waves {
		at := fmt.Sprintf("waves[%d]", i)
		for _, gid := range w.GroupIDs() {
			if _, err := r.group(ctx, gid); err != nil {
				if drsorch.IsCode(err, drsorch.CodeInvalidState) {
					return invalid(at+".protectionGroupId", "Protection Group %s not found", gid)
				}
				return err
			}
		}
		all, err := r.waveServerIDs(ctx, w.GroupIDs(), nil)
		if err != nil {
			return drsorch.Wrap(drsorch.ErrorCode(err), err, "%s: could not resolve the wave's servers: %s", at, drsorch.AsError(err).Message)
		}
		members := map[string]bool{}
		for _, ids := range all {
			for _, id := range ids {
				members[id] = true
			}
		}
		for j, id := range w.ServerIDs {
			if !members[id] {
				return invalid(fmt.Sprintf("%s.serverIds[%d]", at, j), "server %s is not in the wave's protection groups", id)
			}
		}
		if len(members) == 0 {
			return invalid(at, "the wave's protection groups select no servers")
		}
	}
	if p.AccountID == "" && ac.AccountID != e.cfg.AccountID {
		p.AccountID = ac.AccountID
	}
	return nil
}

// findCycle returns the wave numbers of a dependency cycle, or nil.
func findCycle(waves []drsorch.PlanWave) []int {
	deps := map[int][]int{}
	for i, w := range waves {
		switch {
		case len(w.DependsOnWaves) > 0:
			deps[w.WaveNumber] = w.DependsOnWaves
		case i > 0:
			deps[w.WaveNumber] = []int{waves[i-1].WaveNumber}
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[int]int{}
	var path []int
	var visit func(n int) []int
	visit = func(n int) []int {
		color[n] = grey
		path = append(path, n)
		for _, d := range deps[n] {
			switch color[d] {
			case grey:
				i := slices.Index(path, d)
				return append(append([]int(nil), path[i:]...), d)
			case white:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		color[n] = black
		return nil
	}
	for _, w := range waves {
		if color[w.WaveNumber] == white {
			if c := visit(w.WaveNumber); c != nil {
				return c
			}
		}
	}
	return nil
}

// DeletePlan removes a recovery plan that has no active execution.
func (e *Engine) DeletePlan(ctx context.Context, id string) error {
	if err := e.authorize(ctx, drsorch.PermManagePlans, ""); err != nil {
		return err
	}
	if _, err := e.store.GetPlan(ctx, id); err != nil {
		return err
	}
	xs, err := e.listAll(ctx, drsorch.ExecutionQuery{PlanID: id, Statuses: drsorch.StoredActiveStatuses})
	if err != nil {
		return err
	}
	if len(xs) > 0 {
		return drsorch.Errorf(drsorch.CodeInvalidState, "Recovery Plan %s has an active execution (%s)", id, xs[0].ExecutionID).
			WithDetails(map[string]any{"planId": id, "executionId": xs[0].ExecutionID})
	}
	return e.store.DeletePlan(ctx, id)
}

// PutAccount stores a target account.
func (e *Engine) PutAccount(ctx context.Context, a *drsorch.TargetAccount) error {
	if err := e.authorize(ctx, drsorch.PermManagePlans, ""); err != nil {
		return err
	}
	if !drsorch.ValidAccountID(a.AccountID) {
		return invalid("accountId", "%q is not a 12-digit account id", a.AccountID)
	}
	return e.store.PutAccount(ctx, a)
}
