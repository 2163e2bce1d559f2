package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/drsorch/drsorch/internal/fileutil"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/drsorch/drsorch"
)

// SimClockFile holds the anchor of the simulator's scaled clock in the data directory.
const SimClockFile = "sim-clock.json"

// simAnchor pins simulated time to real time: at real time Real the simulated
// time was Sim, and it runs Speed times faster from there.
type simAnchor struct {
	Real  time.Time `json:"real"`
	Sim   time.Time `json:"sim"`
	Speed float64   `json:"speed"`
}

// ScaledClock is the simulator's clock in `serve`: simulated time runs Speed
// times faster than real time. Its anchor is kept in the data directory, so
// simulated time keeps running across restarts (a DRS job goes on while
// drsorch is down, as it would on AWS) and never goes back.
type ScaledClock struct {
	real drsorch.Clock
	mu   sync.Mutex
	a    simAnchor
	last time.Time
}

// Now returns the simulated time.
func (c *ScaledClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.real.Now().Sub(c.a.Real)
	if d < 0 {
		d = 0 // the real clock went back: hold still rather than go back
	}
	t := c.a.Sim.Add(time.Duration(float64(d) * c.a.Speed)).UTC()
	if t.Before(c.last) {
		return c.last
	}
	c.last = t
	return t
}

// Speed returns the simulated seconds per real second.
func (c *ScaledClock) Speed() float64 { return c.a.Speed }

// OpenScaledClock loads the clock anchored in dir, or anchors a new one at the
// real time now. When the speed changed, the clock is re-anchored at its
// current simulated time, so time stays continuous.
func OpenScaledClock(dir string, real drsorch.Clock, speed float64) (*ScaledClock, error) {
	if speed <= 0 {
		return nil, fmt.Errorf("simulator speed must be positive, got %g", speed)
	}
	if real == nil {
		real = drsorch.SystemClock
	}
	path := filepath.Join(dir, SimClockFile)
	c := &ScaledClock{real: real}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		now := real.Now().UTC()
		c.a = simAnchor{Real: now, Sim: now, Speed: speed}
		return c, saveAnchor(path, c.a)
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(b, &c.a); err != nil || c.a.Speed <= 0 || c.a.Real.IsZero() {
		return nil, fmt.Errorf("the simulator clock file %s is unreadable (remove it only together with the simulator state)", path)
	}
	if c.a.Speed != speed {
		now := real.Now().UTC()
		c.a = simAnchor{Real: now, Sim: c.Now(), Speed: speed}
		return c, saveAnchor(path, c.a)
	}
	return c, nil
}

func saveAnchor(path string, a simAnchor) error {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return fileutil.WriteAtomic(path, append(b, '\n'), 0o600)
}
