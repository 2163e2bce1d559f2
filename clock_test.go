package drsorch_test

import (
	"sync"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
)

func TestManualClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		move func(*drsorch.ManualClock)
		want time.Time
	}{
		{"still", func(*drsorch.ManualClock) {}, start.UTC()},
		{"advance", func(c *drsorch.ManualClock) { c.Advance(90 * time.Second) }, start.UTC().Add(90 * time.Second)},
		{"set forward", func(c *drsorch.ManualClock) { c.Set(start.Add(time.Hour)) }, start.UTC().Add(time.Hour)},
		{"set back", func(c *drsorch.ManualClock) { c.Set(start.Add(-time.Hour)) }, start.UTC().Add(-time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := drsorch.NewManualClock(start)
			tt.move(c)
			if got := c.Now(); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("Now() = %v, want %v in UTC", got, tt.want)
			}
		})
	}
	t.Run("concurrent advances all count", func(t *testing.T) {
		c := drsorch.NewManualClock(start)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { c.Advance(time.Second) })
		}
		wg.Wait()
		if got := c.Now().Sub(start); got != 50*time.Second {
			t.Errorf("after 50 advances of 1s the clock moved %v", got)
		}
	})
}
