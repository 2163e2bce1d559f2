package app

import (
	"context"
	"fmt"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
)

// The demo's ids.
const (
	DemoPlanID      = "demo-plan"
	DemoRegion      = "us-east-1"
	DemoDBGroupID   = "demo-databases"
	DemoAppGroupID  = "demo-app-tier"
	DemoWebGroupID  = "demo-web-tier"
	demoApplication = "demo-shop"
)

// demoTiers is the demo inventory: 6 database, 8 application and 10 web servers.
var demoTiers = []struct {
	tier, name string
	count      int
	subnet     int
}{
	{"db", "database", 6, 1},
	{"app", "application", 8, 2},
	{"web", "web", 10, 3},
}

// DemoServers returns the demo's simulated source servers, tagged Name, Tier, Application and Environment.
func DemoServers() []drsorch.SourceServer {
	var out []drsorch.SourceServer
	for _, t := range demoTiers {
		for i := 1; i <= t.count; i++ {
			name := fmt.Sprintf("%s-%02d", t.tier, i)
			out = append(out, drsorch.SourceServer{
				SourceServerID:   fmt.Sprintf("s-%s%0*d", t.tier, 17-len(t.tier), i),
				Hostname:         name + ".demo.internal",
				Tags:             map[string]string{"Name": name, "Tier": t.tier, "Application": demoApplication, "Environment": "production"},
				ReplicationState: "CONTINUOUS",
				LifecycleState:   "READY_FOR_RECOVERY",
				SourceInstanceID: fmt.Sprintf("i-0%s%0*x", hexTier(t.tier), 16-len(hexTier(t.tier)), i),
				IPAddress:        fmt.Sprintf("10.0.%d.%d", t.subnet, 10+i),
				Region:           DemoRegion,
			})
		}
	}
	return out
}

// hexTier spells a tier in hex digits, for readable instance ids.
func hexTier(tier string) string {
	switch tier {
	case "db":
		return "db"
	case "app":
		return "a"
	}
	return "e"
}

// demoGroups are the demo's protection groups: the databases by explicit ids,
// the application and web tiers by tags.
func demoGroups() []drsorch.ProtectionGroup {
	var db []string
	for _, s := range DemoServers() {
		if s.Tags["Tier"] == "db" {
			db = append(db, s.SourceServerID)
		}
	}
	return []drsorch.ProtectionGroup{
		{GroupID: DemoDBGroupID, GroupName: "Demo databases", Description: "The demo shop's database servers, listed by id",
			Region: DemoRegion, SourceServerIDs: db},
		{GroupID: DemoAppGroupID, GroupName: "Demo application tier", Description: "Every server tagged Tier=app",
			Region: DemoRegion, ServerSelectionTags: map[string]string{"Tier": "app", "Application": demoApplication}},
		{GroupID: DemoWebGroupID, GroupName: "Demo web tier", Description: "Every server tagged Tier=web",
			Region: DemoRegion, ServerSelectionTags: map[string]string{"Tier": "web", "Application": demoApplication}},
	}
}

func demoPlan() drsorch.RecoveryPlan {
	return drsorch.RecoveryPlan{
		PlanID: DemoPlanID, PlanName: "Demo three-tier application",
		Description: "Recovers the demo shop: databases first, then the application tier, then the web tier",
		Waves: []drsorch.PlanWave{
			{WaveNumber: 0, WaveName: "Database", ProtectionGroupID: DemoDBGroupID},
			{WaveNumber: 1, WaveName: "Application", ProtectionGroupID: DemoAppGroupID},
			{WaveNumber: 2, WaveName: "Web", ProtectionGroupID: DemoWebGroupID},
		},
	}
}

// SeedDemo adds the demo inventory to the simulator and, through the engine
// (so they are validated), the demo's protection groups and plan. Records that
// already exist are left as they are. With a nil simulator (real DRS, or
// `drsorch drs-sim --fixtures examples/demo-drs.json`) only the groups and the
// plan are added: the servers must exist in DRS.
func SeedDemo(ctx context.Context, e *engine.Engine, sim *drssim.Sim) error {
	ctx = drsorch.WithCaller(ctx, drsorch.Caller{Username: "demo-seed", System: true})
	if sim != nil {
		if err := sim.AddSourceServers(DemoServers()...); err != nil {
			return fmt.Errorf("demo inventory: %w", err)
		}
	}
	for _, g := range demoGroups() {
		_, err := e.GetGroup(ctx, g.GroupID)
		if err == nil {
			continue
		}
		if !drsorch.IsCode(err, drsorch.CodeNotFound) {
			return err
		}
		if _, err := e.SaveGroup(ctx, &g, true); err != nil {
			return fmt.Errorf("demo protection group %s: %w", g.GroupID, err)
		}
	}
	p := demoPlan()
	_, err := e.GetPlan(ctx, p.PlanID)
	if drsorch.IsCode(err, drsorch.CodeNotFound) {
		if _, err := e.SavePlan(ctx, &p, true); err != nil {
			return fmt.Errorf("demo plan: %w", err)
		}
		return nil
	}
	return err
}
