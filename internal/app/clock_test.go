package app_test

import (
	"testing"
	"time"

	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/internal/app"
)

func engineStart() engine.StartRequest {
	return engine.StartRequest{PlanID: app.DemoPlanID, ExecutionType: "DRILL", InitiatedBy: "test"}
}

func TestScaledClock(t *testing.T) {
	dir := t.TempDir()
	real := drsorchtest.NewClock(time.Time{})
	c, err := app.OpenScaledClock(dir, real, 60)
	if err != nil {
		t.Fatal(err)
	}
	t0 := c.Now()
	if !t0.Equal(real.Now()) {
		t.Fatalf("a new clock starts at %s, real time is %s", t0, real.Now())
	}
	real.Advance(2 * time.Second)
	if got := c.Now().Sub(t0); got != 2*time.Minute {
		t.Fatalf("2s of real time gave %s of simulated time", got)
	}

	// Restart after 10s of downtime: simulated time went on meanwhile.
	real.Advance(10 * time.Second)
	c2, err := app.OpenScaledClock(dir, real, 60)
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Now().Sub(t0); got != 12*time.Minute {
		t.Fatalf("after the restart: %s, want 12m", got)
	}

	// A new speed is anchored where the old one left off.
	c3, err := app.OpenScaledClock(dir, real, 600)
	if err != nil {
		t.Fatal(err)
	}
	at := c3.Now()
	if at.Sub(t0) != 12*time.Minute {
		t.Fatalf("speed change jumped to %s", at.Sub(t0))
	}
	real.Advance(time.Second)
	if got := c3.Now().Sub(at); got != 10*time.Minute {
		t.Fatalf("at speed 600 one second is %s", got)
	}
	c4, _ := app.OpenScaledClock(dir, real, 600)
	if !c4.Now().Equal(c3.Now()) {
		t.Fatalf("reopened at the same speed: %s vs %s", c4.Now(), c3.Now())
	}

	// The real clock going back never takes simulated time back.
	before := c4.Now()
	real.Advance(-time.Hour)
	if c4.Now().Before(before) {
		t.Fatal("simulated time went back")
	}
	if _, err := app.OpenScaledClock(t.TempDir(), real, 0); err == nil {
		t.Fatal("speed 0 accepted")
	}
}
