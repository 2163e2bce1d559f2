package drssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/drsorch/drsorch/internal/fileutil"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/drsorch/drsorch"
)

// stateVersion is the version of the Snapshot format.
const stateVersion = 1

type stateJSON struct {
	Version    int            `json:"version"`
	Seed       int64          `json:"seed"`
	Now        time.Time      `json:"now,omitzero"`
	Seq        int64          `json:"seq"`
	Timings    Timings        `json:"timings"`
	RNG        rngJSON        `json:"rng"`
	Faults     []Fault        `json:"faults,omitempty"`
	FailLaunch map[string]int `json:"failLaunch,omitempty"`
	Regions    []regionJSON   `json:"regions"`
}

type rngJSON struct {
	ID       []byte `json:"id"`
	Fail     []byte `json:"fail"`
	Throttle []byte `json:"throttle"`
}

type regionJSON struct {
	AccountID         string                 `json:"accountId"`
	Region            string                 `json:"region"`
	SourceServers     []drsorch.SourceServer `json:"sourceServers"`
	Jobs              []*job                 `json:"jobs"`
	RecoveryInstances []*instance            `json:"recoveryInstances"`
}

// Snapshot returns the whole state as JSON: inventory, jobs with their plans,
// recovery instances, scripted faults, timings and the generators' positions.
// The call log is not part of it.
func (s *Sim) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

func (s *Sim) snapshotLocked() ([]byte, error) {
	st := stateJSON{
		Version:    stateVersion,
		Seed:       s.seed,
		Now:        s.now,
		Seq:        s.seq,
		Timings:    s.timings,
		Faults:     s.faults,
		FailLaunch: s.failLaunch,
		Regions:    []regionJSON{},
	}
	var err error
	if st.RNG.ID, err = s.idRNG.MarshalBinary(); err != nil {
		return nil, err
	}
	if st.RNG.Fail, err = s.failRNG.MarshalBinary(); err != nil {
		return nil, err
	}
	if st.RNG.Throttle, err = s.throttlRNG.MarshalBinary(); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(s.regions))
	for k := range s.regions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := s.regions[k]
		rj := regionJSON{AccountID: r.account, Region: r.name, Jobs: r.jobList,
			SourceServers: make([]drsorch.SourceServer, len(r.serverList)), RecoveryInstances: []*instance{}}
		for i, srv := range r.serverList {
			rj.SourceServers[i] = *srv
		}
		for _, in := range r.instanceList {
			if in != nil {
				rj.RecoveryInstances = append(rj.RecoveryInstances, in)
			}
		}
		if rj.Jobs == nil {
			rj.Jobs = []*job{}
		}
		st.Regions = append(st.Regions, rj)
	}
	return json.Marshal(st)
}

// Restore replaces the whole state with one taken by Snapshot. The options
// (clock, limits, rates, defaults) stay; the seed and timings are the snapshot's.
func (s *Sim) Restore(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.restoreLocked(data); err != nil {
		return err
	}
	s.changed()
	s.persist()
	return nil
}

func (s *Sim) restoreLocked(data []byte) error {
	var st stateJSON
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("drssim: reading state: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("drssim: state version %d, want %d", st.Version, stateVersion)
	}
	rngs := []*rand.PCG{{}, {}, {}}
	for i, b := range [][]byte{st.RNG.ID, st.RNG.Fail, st.RNG.Throttle} {
		if err := rngs[i].UnmarshalBinary(b); err != nil {
			return fmt.Errorf("drssim: reading state: generator %d: %w", i, err)
		}
	}
	regions := map[string]*region{}
	for _, rj := range st.Regions {
		r := newRegion(rj.AccountID, rj.Region)
		for _, srv := range rj.SourceServers {
			r.putServer(srv)
		}
		for _, in := range rj.RecoveryInstances {
			if in == nil {
				continue
			}
			r.addInstance(in)
		}
		for _, j := range rj.Jobs {
			if j == nil || (j.Static == nil && len(j.Servers) == 0) {
				return fmt.Errorf("drssim: reading state: job without servers in %s/%s", rj.AccountID, rj.Region)
			}
			if j.Static == nil && j.Applied > len(j.plannedEffects()) {
				return fmt.Errorf("drssim: reading state: job %s: applied effects out of range", j.ID)
			}
			r.addJob(j)
		}
		regions[rj.AccountID+"/"+rj.Region] = r
	}
	s.seed = st.Seed
	s.now = st.Now
	s.seq = st.Seq
	s.timings = st.Timings.withDefaults()
	s.idRNG, s.failRNG, s.throttlRNG = rngs[0], rngs[1], rngs[2]
	s.faults = st.Faults
	s.failLaunch = st.FailLaunch
	if s.failLaunch == nil {
		s.failLaunch = map[string]int{}
	}
	s.regions = regions
	return nil
}

// persist saves the state to Options.StatePath when it changed.
func (s *Sim) persist() {
	if s.statePath == "" || !s.dirty {
		return
	}
	s.dirty = false
	data, err := s.snapshotLocked()
	if err == nil {
		err = writeFileAtomic(s.statePath, data)
	}
	s.err = err
}

func (s *Sim) loadFile() error {
	data, err := os.ReadFile(s.statePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("drssim: %w", err)
	}
	if err := s.restoreLocked(data); err != nil {
		return fmt.Errorf("%w (file %s)", err, s.statePath)
	}
	return nil
}

// writeFileAtomic replaces path with data, creating its directory if needed.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return fileutil.WriteAtomic(path, data, 0o644)
}
