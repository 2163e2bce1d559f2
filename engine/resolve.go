package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/drsorch/drsorch"
)

// resolvedServer is a source server a wave will launch.
type resolvedServer struct {
	ID       string
	Name     string
	Hostname string
	Region   string
	Snapshot string
	Err      string // set when the server cannot be launched (not in DRS, no snapshot…)
}

// resolver resolves protection groups to servers, caching groups and DRS
// inventories for the duration of one operation.
type resolver struct {
	e       *Engine
	x       *drsorch.Execution
	groups  map[string]*drsorch.ProtectionGroup
	servers map[string][]drsorch.SourceServer // by target key: the whole inventory
}

func (e *Engine) newResolver(x *drsorch.Execution) *resolver {
	return &resolver{e: e, x: x, groups: map[string]*drsorch.ProtectionGroup{}, servers: map[string][]drsorch.SourceServer{}}
}

func (r *resolver) group(ctx context.Context, id string) (*drsorch.ProtectionGroup, error) {
	if g, ok := r.groups[id]; ok {
		return g, nil
	}
	g, err := r.e.store.GetGroup(ctx, id)
	if drsorch.IsCode(err, drsorch.CodeNotFound) {
		return nil, drsorch.Errorf(drsorch.CodeInvalidState, "Protection Group %s not found", id).
			WithDetails(map[string]any{"groupId": id})
	}
	if err != nil {
		return nil, err
	}
	r.groups[id] = g
	return g, nil
}

func (r *resolver) region(g *drsorch.ProtectionGroup) string {
	if g != nil && g.Region != "" {
		return g.Region
	}
	return r.e.cfg.DefaultRegion
}

// inventory returns every source server of a target (all pages), once per resolver.
func (r *resolver) inventory(ctx context.Context, t drsorch.Target) ([]drsorch.SourceServer, error) {
	if s, ok := r.servers[t.Key()]; ok {
		return s, nil
	}
	s, err := r.e.drs.DescribeSourceServers(ctx, t, drsorch.SourceServerFilter{})
	if err != nil {
		return nil, err
	}
	r.servers[t.Key()] = s
	return s, nil
}

// describe returns the DRS view of the given servers of a target, in batches of 200.
func (r *resolver) describe(ctx context.Context, t drsorch.Target, ids []string) (map[string]drsorch.SourceServer, error) {
	out := map[string]drsorch.SourceServer{}
	if inv, ok := r.servers[t.Key()]; ok {
		for _, s := range inv {
			out[s.SourceServerID] = s
		}
		return out, nil
	}
	for _, batch := range chunks(ids, drsorch.MaxIDsPerFilter) {
		got, err := r.e.drs.DescribeSourceServers(ctx, t, drsorch.SourceServerFilter{SourceServerIDs: batch})
		if err != nil {
			return nil, err
		}
		for _, s := range got {
			out[s.SourceServerID] = s
		}
	}
	return out, nil
}

// groupServers returns the ids a group selects: by tags from DRS (all pages), else its explicit ids.
func (r *resolver) groupServers(ctx context.Context, g *drsorch.ProtectionGroup) ([]string, error) {
	if !g.UsesTags() {
		return g.SourceServerIDs, nil
	}
	inv, err := r.inventory(ctx, r.x.Target(r.region(g), r.e.cfg.AccountID))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range inv {
		if g.MatchesTags(s.Tags) {
			ids = append(ids, s.SourceServerID)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// waveServerIDs returns a wave's servers by region: the union of its groups'
// servers, narrowed to the wave's explicit serverIds when it lists some.
func (r *resolver) waveServerIDs(ctx context.Context, groupIDs, explicit []string) (map[string][]string, error) {
	byRegion := map[string][]string{}
	if len(groupIDs) == 0 {
		if len(explicit) > 0 {
			byRegion[r.e.cfg.DefaultRegion] = append([]string(nil), explicit...)
		}
		return byRegion, nil
	}
	seen := map[string]bool{}
	for _, gid := range groupIDs {
		g, err := r.group(ctx, gid)
		if err != nil {
			return nil, err
		}
		ids, err := r.groupServers(ctx, g)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if seen[id] || (len(explicit) > 0 && !slices.Contains(explicit, id)) {
				continue
			}
			seen[id] = true
			byRegion[r.region(g)] = append(byRegion[r.region(g)], id)
		}
	}
	return byRegion, nil
}

// resolveWave returns the servers of an execution wave, checked against DRS and
// with the recovery snapshot chosen when the execution names a point in time.
func (r *resolver) resolveWave(ctx context.Context, w *drsorch.ExecutionWave) ([]resolvedServer, error) {
	byRegion, err := r.waveServerIDs(ctx, w.GroupIDs(), w.ServerIDs)
	if err != nil {
		return nil, err
	}
	var out []resolvedServer
	for _, region := range sortedKeys(byRegion) {
		ids := byRegion[region]
		t := r.x.Target(region, r.e.cfg.AccountID)
		known, err := r.describe(ctx, t, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			rs := resolvedServer{ID: id, Name: id, Region: region}
			s, ok := known[id]
			if !ok {
				rs.Err = "Source server not found in DRS"
				out = append(out, rs)
				continue
			}
			rs.Name, rs.Hostname = s.Name(), s.Hostname
			if err := r.snapshot(ctx, t, &rs); err != nil {
				return nil, err
			}
			out = append(out, rs)
		}
	}
	return out, nil
}

// snapshot picks the recovery snapshot of a server when the execution asks for a point in time.
func (r *resolver) snapshot(ctx context.Context, t drsorch.Target, rs *resolvedServer) error {
	rp := r.x.RecoveryPoint
	if rp == nil {
		return nil
	}
	if id := rp.Snapshots[rs.ID]; id != "" {
		rs.Snapshot = id
		return nil
	}
	if rp.PointInTime == "" {
		return nil
	}
	pit, err := time.Parse(time.RFC3339, rp.PointInTime)
	if err != nil {
		return drsorch.Errorf(drsorch.CodeInvalidParameter, "recoveryPoint.pointInTime must be RFC 3339, got %q", rp.PointInTime)
	}
	snaps, err := r.e.drs.DescribeRecoverySnapshots(ctx, t, drsorch.SnapshotFilter{SourceServerID: rs.ID, ToDateTime: pit})
	if err != nil {
		return err
	}
	var best *drsorch.RecoverySnapshot
	for i := range snaps {
		s := &snaps[i]
		if !s.Timestamp.After(pit) && (best == nil || s.Timestamp.After(best.Timestamp)) {
			best = s
		}
	}
	if best == nil {
		rs.Err = fmt.Sprintf("No recovery snapshot at or before %s", rp.PointInTime)
		return nil
	}
	rs.Snapshot = best.SnapshotID
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// accountContextFor decides in which account a plan runs from its groups'
// accountId values: one other account needs its target-account record.
func (e *Engine) accountContextFor(ctx context.Context, p *drsorch.RecoveryPlan) (*drsorch.AccountContext, string, error) {
	accounts := map[string]bool{}
	r := &resolver{e: e, groups: map[string]*drsorch.ProtectionGroup{}}
	for _, w := range p.Waves {
		for _, gid := range w.GroupIDs() {
			g, err := r.group(ctx, gid)
			if err != nil {
				return nil, "", err
			}
			if g.AccountID != "" {
				accounts[g.AccountID] = true
			}
		}
	}
	if p.AccountID != "" {
		accounts[p.AccountID] = true
	}
	ids := sortedKeys(accounts)
	if len(ids) > 1 {
		return nil, "", drsorch.Errorf(drsorch.CodeInvalidState,
			"Recovery Plan contains Protection Groups from multiple accounts: %v. Multi-account Recovery Plans are not supported. Create a separate Recovery Plan for each account.", ids).
			WithDetails(map[string]any{"accounts": ids})
	}
	if len(ids) == 0 || ids[0] == e.cfg.AccountID {
		return &drsorch.AccountContext{AccountID: e.cfg.AccountID, IsCurrentAccount: true}, "", nil
	}
	ac := &drsorch.AccountContext{AccountID: ids[0], AssumeRoleName: drsorch.DefaultCrossAccountRole}
	a, err := e.store.GetAccount(ctx, ids[0])
	if drsorch.IsCode(err, drsorch.CodeNotFound) {
		return ac, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	if role := a.RoleName(); role != "" {
		ac.AssumeRoleName = role
	}
	return ac, a.ExternalID, nil
}
