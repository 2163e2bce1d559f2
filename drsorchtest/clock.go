// Package drsorchtest holds what tests share: the contract suites every Store
// and every DRS implementation must pass, a fake clock and fixtures.
package drsorchtest

import (
	"time"

	"github.com/drsorch/drsorch"
)

// Epoch is the default start of fake time: a fixed, recognisable instant.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Clock is the tests' fake clock: a drsorch.ManualClock.
type Clock = drsorch.ManualClock

// NewClock returns a fake clock set to t (Epoch when t is zero).
func NewClock(t time.Time) *Clock {
	if t.IsZero() {
		t = Epoch
	}
	return drsorch.NewManualClock(t)
}
