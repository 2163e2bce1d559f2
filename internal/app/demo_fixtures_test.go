package app_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/internal/app"
)

var update = flag.Bool("update", false, "rewrite examples/demo-drs.json from app.DemoServers")

// demoFixturesFile is the drs-sim fixtures of the demo's servers, for
// `drsorch drs-sim --fixtures examples/demo-drs.json` and `serve --drs aws --demo`.
var demoFixturesFile = filepath.Join("..", "..", "examples", "demo-drs.json")

// TestDemoDRSFixturesAreTheDemo keeps examples/demo-drs.json equal to the
// servers the demo's groups and plan expect (go test ./internal/app -run DemoDRSFixtures -update rewrites it).
func TestDemoDRSFixturesAreTheDemo(t *testing.T) {
	type drsPart struct {
		SourceServers []drsorch.SourceServer `json:"sourceServers"`
	}
	want, err := json.MarshalIndent(struct {
		Comment string  `json:"_comment"`
		DRS     drsPart `json:"drs"`
	}{
		Comment: "The demo's 24 source servers, for drsorch drs-sim --fixtures examples/demo-drs.json; " +
			"drsorch serve --drs aws --demo adds the demo's protection groups and plan on top (see docs/deploy.md).",
		DRS: drsPart{SourceServers: app.DemoServers()},
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(demoFixturesFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(demoFixturesFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not app.DemoServers(); rewrite it with go test ./internal/app -run DemoDRSFixtures -update", demoFixturesFile)
	}
}
