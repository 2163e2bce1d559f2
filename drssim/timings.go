package drssim

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Timings are the durations of a job's phases. In JSON each duration is a Go
// duration string ("3m", "20s") or a number of seconds.
type Timings struct {
	Pending    time.Duration // a job stays PENDING this long, then starts
	Cleanup    time.Duration // removing a server's previous recovery instance
	Snapshot   time.Duration // taking the on-demand snapshot
	Conversion time.Duration // converting the snapshot on a conversion server
	Launch     time.Duration // launching the recovery instance
	Terminate  time.Duration // a TERMINATE job from creation to completion
	// Jitter is the per-server spread of each launch phase, as a fraction:
	// 0.2 means ±20%. Zero means the default; negative means none.
	Jitter float64
}

// DefaultTimings returns the default phase durations. A LAUNCH job of up to
// 100 servers ends within 30 simulated minutes with them.
func DefaultTimings() Timings {
	return Timings{
		Pending:    20 * time.Second,
		Cleanup:    time.Minute,
		Snapshot:   3 * time.Minute,
		Conversion: 10 * time.Minute,
		Launch:     5 * time.Minute,
		Terminate:  2 * time.Minute,
		Jitter:     0.2,
	}
}

// merge returns t with the non-zero fields of o.
func (t Timings) merge(o Timings) Timings {
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	set(&t.Pending, o.Pending)
	set(&t.Cleanup, o.Cleanup)
	set(&t.Snapshot, o.Snapshot)
	set(&t.Conversion, o.Conversion)
	set(&t.Launch, o.Launch)
	set(&t.Terminate, o.Terminate)
	if o.Jitter != 0 {
		t.Jitter = o.Jitter
	}
	return t
}

func (t Timings) withDefaults() Timings { return DefaultTimings().merge(t) }

// jitter returns the spread in use, within [0, 0.9].
func (t Timings) jitter() float64 {
	return math.Max(0, math.Min(t.Jitter, 0.9))
}

type timingsJSON struct {
	Pending    json.RawMessage `json:"pending,omitempty"`
	Cleanup    json.RawMessage `json:"cleanup,omitempty"`
	Snapshot   json.RawMessage `json:"snapshot,omitempty"`
	Conversion json.RawMessage `json:"conversion,omitempty"`
	Launch     json.RawMessage `json:"launch,omitempty"`
	Terminate  json.RawMessage `json:"terminate,omitempty"`
	Jitter     float64         `json:"jitter,omitempty"`
}

// MarshalJSON writes the durations as Go duration strings.
func (t Timings) MarshalJSON() ([]byte, error) {
	str := func(d time.Duration) json.RawMessage {
		if d == 0 {
			return nil
		}
		b, _ := json.Marshal(d.String())
		return b
	}
	return json.Marshal(timingsJSON{
		Pending: str(t.Pending), Cleanup: str(t.Cleanup), Snapshot: str(t.Snapshot),
		Conversion: str(t.Conversion), Launch: str(t.Launch), Terminate: str(t.Terminate),
		Jitter: t.Jitter,
	})
}

// UnmarshalJSON reads durations given as Go duration strings or numbers of seconds.
func (t *Timings) UnmarshalJSON(b []byte) error {
	var j timingsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("timings: %w", err)
	}
	var out Timings
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *time.Duration
	}{
		{"pending", j.Pending, &out.Pending},
		{"cleanup", j.Cleanup, &out.Cleanup},
		{"snapshot", j.Snapshot, &out.Snapshot},
		{"conversion", j.Conversion, &out.Conversion},
		{"launch", j.Launch, &out.Launch},
		{"terminate", j.Terminate, &out.Terminate},
	} {
		d, err := parseDuration(f.raw)
		if err != nil {
			return fieldErr("timings."+f.name, "%v", err)
		}
		*f.dst = d
	}
	out.Jitter = j.Jitter
	*t = out
	return nil
}

func parseDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var d time.Duration
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration like \"3m\" or \"20s\"", s)
		}
		d = v
	} else {
		var secs float64
		if err := json.Unmarshal(raw, &secs); err != nil {
			return 0, fmt.Errorf("%s is not a duration string or a number of seconds", raw)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("%s must not be negative", d)
	}
	return d, nil
}
