package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/drsorch/drsorch"
)

// Bundle is a plan file of `drsorch plan apply`: protection groups and the
// recovery plans that use them, in YAML or JSON with the API's field names.
type Bundle struct {
	ProtectionGroups []drsorch.ProtectionGroup `json:"protectionGroups,omitempty"`
	RecoveryPlan     *drsorch.RecoveryPlan     `json:"recoveryPlan,omitempty"`
	RecoveryPlans    []drsorch.RecoveryPlan    `json:"recoveryPlans,omitempty"`
}

// Plans returns the bundle's plans (recoveryPlan, then recoveryPlans).
func (b Bundle) Plans() []drsorch.RecoveryPlan {
	var out []drsorch.RecoveryPlan
	if b.RecoveryPlan != nil {
		out = append(out, *b.RecoveryPlan)
	}
	return append(out, b.RecoveryPlans...)
}

// serverManaged are the fields the server sets; a plan file leaves them out.
var serverManaged = []string{"version", "createdDate", "lastModifiedDate"}

// MarshalJSON writes the bundle as a plan file: the records without their
// server-managed fields (version, createdDate, lastModifiedDate).
func (b Bundle) MarshalJSON() ([]byte, error) {
	type plain Bundle
	raw, err := json.Marshal(plain(b))
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	strip := func(v any) {
		if m, ok := v.(map[string]any); ok {
			for _, k := range serverManaged {
				delete(m, k)
			}
		}
	}
	if gs, ok := doc["protectionGroups"].([]any); ok {
		for _, g := range gs {
			strip(g)
		}
	}
	strip(doc["recoveryPlan"])
	if ps, ok := doc["recoveryPlans"].([]any); ok {
		for _, p := range ps {
			strip(p)
		}
	}
	return json.Marshal(doc)
}

// ParseBundle reads a plan file: one bundle object or a list of them, in YAML
// or JSON. Unknown fields are refused, and every group and plan needs its id
// (groupId, planId) so that applying the file again updates them.
func ParseBundle(data []byte) (Bundle, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return Bundle{}, fmt.Errorf("the file is neither YAML nor JSON: %w", err)
	}
	j = bytes.TrimSpace(j)
	if len(j) == 0 || string(j) == "null" {
		return Bundle{}, errors.New("the file is empty")
	}
	var list []Bundle
	if j[0] == '[' {
		if err := strictJSON(j, &list); err != nil {
			return Bundle{}, err
		}
	} else {
		var b Bundle
		if err := strictJSON(j, &b); err != nil {
			return Bundle{}, err
		}
		list = []Bundle{b}
	}
	var out Bundle
	for _, b := range list {
		out.ProtectionGroups = append(out.ProtectionGroups, b.ProtectionGroups...)
		out.RecoveryPlans = append(out.RecoveryPlans, b.Plans()...)
	}
	if len(out.ProtectionGroups) == 0 && len(out.RecoveryPlans) == 0 {
		return Bundle{}, errors.New("the file holds no protectionGroups and no recoveryPlan")
	}
	seen := map[string]bool{}
	for i, g := range out.ProtectionGroups {
		if strings.TrimSpace(g.GroupID) == "" {
			return Bundle{}, fmt.Errorf("protectionGroups[%d] (%q): groupId is required, so that applying the file again updates the group", i, g.GroupName)
		}
		if seen["g"+g.GroupID] {
			return Bundle{}, fmt.Errorf("protectionGroups[%d]: groupId %q appears twice", i, g.GroupID)
		}
		seen["g"+g.GroupID] = true
	}
	for i, p := range out.RecoveryPlans {
		if strings.TrimSpace(p.PlanID) == "" {
			return Bundle{}, fmt.Errorf("recoveryPlans[%d] (%q): planId is required, so that applying the file again updates the plan", i, p.PlanName)
		}
		if seen["p"+p.PlanID] {
			return Bundle{}, fmt.Errorf("recoveryPlans[%d]: planId %q appears twice", i, p.PlanID)
		}
		seen["p"+p.PlanID] = true
	}
	return out, nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the plan file does not match the expected shape: %w", err)
	}
	return nil
}

// Change is what Apply did to one record.
type Change struct {
	Kind   string `json:"kind"` // "protectionGroup" or "recoveryPlan"
	ID     string `json:"id"`
	Action string `json:"action"` // "created", "updated" or "unchanged" (with dryRun: what would be done)
}

// Apply creates the bundle's groups and plans that do not exist and updates
// those that differ; records already as described are left alone, so applying
// a file twice changes nothing the second time. Groups go first. With dryRun
// nothing is written.
func (c *Client) Apply(ctx context.Context, b Bundle, dryRun bool) ([]Change, error) {
	var changes []Change
	for _, g := range b.ProtectionGroups {
		want := g
		cur, err := c.GetGroup(ctx, g.GroupID)
		switch {
		case Code(err) == drsorch.CodeNotFound:
			if !dryRun {
				if _, err := c.CreateGroup(ctx, &want); err != nil {
					return changes, fmt.Errorf("creating protection group %s: %w", g.GroupID, err)
				}
			}
			changes = append(changes, Change{"protectionGroup", g.GroupID, "created"})
			continue
		case err != nil:
			return changes, err
		}
		normalizeGroup(&want, cur)
		if same(&want, cur) {
			changes = append(changes, Change{"protectionGroup", g.GroupID, "unchanged"})
			continue
		}
		if !dryRun {
			if _, err := c.UpdateGroup(ctx, &want); err != nil {
				return changes, fmt.Errorf("updating protection group %s: %w", g.GroupID, err)
			}
		}
		changes = append(changes, Change{"protectionGroup", g.GroupID, "updated"})
	}
	for _, p := range b.Plans() {
		want := p
		cur, err := c.GetPlan(ctx, p.PlanID)
		switch {
		case Code(err) == drsorch.CodeNotFound:
			if !dryRun {
				if _, err := c.CreatePlan(ctx, &want); err != nil {
					return changes, fmt.Errorf("creating recovery plan %s: %w", p.PlanID, err)
				}
			}
			changes = append(changes, Change{"recoveryPlan", p.PlanID, "created"})
			continue
		case err != nil:
			return changes, err
		}
		normalizePlan(&want, cur)
		if same(&want, cur) {
			changes = append(changes, Change{"recoveryPlan", p.PlanID, "unchanged"})
			continue
		}
		if !dryRun {
			if _, err := c.UpdatePlan(ctx, &want); err != nil {
				return changes, fmt.Errorf("updating recovery plan %s: %w", p.PlanID, err)
			}
		}
		changes = append(changes, Change{"recoveryPlan", p.PlanID, "updated"})
	}
	return changes, nil
}

// normalizeGroup applies the server's defaults to a desired group and takes
// the server-managed fields (version, dates) from the current one.
func normalizeGroup(g, cur *drsorch.ProtectionGroup) {
	g.GroupName = strings.TrimSpace(g.GroupName)
	if g.SourceServerIDs == nil {
		g.SourceServerIDs = []string{}
	}
	g.Version, g.CreatedDate, g.LastModifiedDate = cur.Version, cur.CreatedDate, cur.LastModifiedDate
}

// normalizePlan applies the server's defaults to a desired plan (trimmed
// names, "Wave N" for unnamed waves, waves in number order, the account the
// server derived) and takes the server-managed fields from the current one.
func normalizePlan(p, cur *drsorch.RecoveryPlan) {
	p.PlanName = strings.TrimSpace(p.PlanName)
	p.Waves = slices.Clone(p.Waves)
	for i := range p.Waves {
		w := &p.Waves[i]
		w.WaveName = strings.TrimSpace(w.WaveName)
		if w.WaveName == "" {
			w.WaveName = fmt.Sprintf("Wave %d", i+1)
		}
	}
	slices.SortStableFunc(p.Waves, func(a, b drsorch.PlanWave) int { return a.WaveNumber - b.WaveNumber })
	if p.AccountID == "" {
		p.AccountID = cur.AccountID
	}
	p.Version, p.CreatedDate, p.LastModifiedDate = cur.Version, cur.CreatedDate, cur.LastModifiedDate
}

// same compares two records by their JSON form.
func same(a, b any) bool {
	var x, y any
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil || json.Unmarshal(ja, &x) != nil || json.Unmarshal(jb, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// ExportBundle returns a plan with its protection groups as a Bundle; written
// out (MarshalJSON) it is a plan file that can be kept and applied again.
func (c *Client) ExportBundle(ctx context.Context, planID string) (Bundle, error) {
	p, err := c.GetPlan(ctx, planID)
	if err != nil {
		return Bundle{}, err
	}
	var b Bundle
	seen := map[string]bool{}
	for _, w := range p.Waves {
		for _, id := range w.GroupIDs() {
			if seen[id] {
				continue
			}
			seen[id] = true
			g, err := c.GetGroup(ctx, id)
			if err != nil {
				return Bundle{}, fmt.Errorf("protection group %s of the plan: %w", id, err)
			}
			b.ProtectionGroups = append(b.ProtectionGroups, *g)
		}
	}
	b.RecoveryPlan = p
	return b, nil
}
