package drssim

import (
	"container/heap"
	"slices"
	"sort"
	"time"

	"github.com/drsorch/drsorch"
)

// job is a DRS job. A simulated job stores its whole plan (per-server phase
// ends as offsets from creation) so its status, servers and log at any time
// are computed from the clock. A static job (from fixtures) keeps the values
// it was given.
type job struct {
	ID          string            `json:"jobID"`
	Type        drsorch.JobType   `json:"type"`
	InitiatedBy string            `json:"initiatedBy,omitempty"`
	Created     time.Time         `json:"creationDateTime"`
	Seq         int64             `json:"seq"`
	Tags        map[string]string `json:"tags,omitempty"`
	IsDrill     bool              `json:"isDrill,omitempty"`
	Start       time.Duration     `json:"start"` // PENDING until then, then STARTED
	End         time.Duration     `json:"end"`   // COMPLETED from then on
	Servers     []*jobServer      `json:"servers,omitempty"`
	Applied     int               `json:"applied"` // effects already applied to the region

	Static    *drsorch.Job         `json:"static,omitempty"`
	StaticLog []drsorch.JobLogItem `json:"staticLog,omitempty"`

	effects []effect // cached, derived from the plan
	index   int      // position in the region's queue, -1 when not queued
}

// jobServer is one participating server's plan.
type jobServer struct {
	SourceServerID     string `json:"sourceServerID"`
	InstanceID         string `json:"instanceID,omitempty"` // LAUNCH: the instance it creates; TERMINATE: the one it removes
	ConversionServerID string `json:"conversionServerID,omitempty"`
	SnapshotID         string `json:"snapshotID,omitempty"` // the point-in-time snapshot asked for
	Replaces           string `json:"replaces,omitempty"`   // the previous recovery instance, cleaned up first
	FailError          string `json:"failError,omitempty"`  // the launch fails with this raw error
	FailEarly          bool   `json:"failEarly,omitempty"`  // it fails while taking the snapshot
	InstanceType       string `json:"instanceType,omitempty"`
	PrivateIP          string `json:"privateIp,omitempty"`

	CleanupEnd    time.Duration `json:"cleanupEnd,omitempty"`
	SnapshotEnd   time.Duration `json:"snapshotEnd,omitempty"`
	ConversionEnd time.Duration `json:"conversionEnd,omitempty"`
	End           time.Duration `json:"end,omitempty"`
}

func (j *job) static() bool { return j.Static != nil }

// status returns the job's status at elapsed time e since creation.
func (j *job) status(e time.Duration) drsorch.JobStatus {
	switch {
	case j.static():
		return j.Static.Status
	case e < j.Start:
		return drsorch.JobPending
	case e < j.End:
		return drsorch.JobStarted
	}
	return drsorch.JobCompleted
}

// serverStatus returns a participating server's launch status at elapsed time e.
func (j *job) serverStatus(js *jobServer, e time.Duration) drsorch.LaunchStatus {
	if j.Type == drsorch.JobTerminate {
		switch {
		case e < j.Start:
			return drsorch.LaunchPending
		case e < j.End:
			return drsorch.LaunchInProgress
		}
		return drsorch.LaunchTerminated
	}
	switch {
	case e >= js.End && js.FailError != "":
		return drsorch.LaunchFailed
	case e >= js.End:
		return drsorch.LaunchLaunched
	case !js.FailEarly && e >= js.ConversionEnd:
		return drsorch.LaunchInProgress
	}
	return drsorch.LaunchPending
}

// view returns the job as DRS reports it at now.
func (j *job) view(r *region, now time.Time) drsorch.Job {
	if j.static() {
		v := *j.Static
		v.ParticipatingServers = slices.Clone(v.ParticipatingServers)
		v.Tags = cloneTags(v.Tags)
		return v
	}
	e := now.Sub(j.Created)
	v := drsorch.Job{
		JobID:                j.ID,
		Type:                 j.Type,
		Status:               j.status(e),
		InitiatedBy:          j.InitiatedBy,
		CreationDateTime:     j.Created,
		ParticipatingServers: make([]drsorch.ParticipatingServer, len(j.Servers)),
		Tags:                 cloneTags(j.Tags),
		Region:               r.name,
		AccountID:            r.account,
	}
	if v.Status == drsorch.JobCompleted {
		v.EndDateTime = j.Created.Add(j.End)
	}
	for i, js := range j.Servers {
		ps := drsorch.ParticipatingServer{SourceServerID: js.SourceServerID, LaunchStatus: j.serverStatus(js, e)}
		if ps.LaunchStatus == drsorch.LaunchLaunched || j.Type == drsorch.JobTerminate {
			ps.RecoveryInstanceID = js.InstanceID
		}
		v.ParticipatingServers[i] = ps
	}
	return v
}

// log returns the job's log items up to now, in time order.
func (j *job) log(now time.Time) []drsorch.JobLogItem {
	if j.static() {
		return slices.Clone(j.StaticLog)
	}
	type item struct {
		at  time.Duration
		ord int
		it  drsorch.JobLogItem
	}
	e := now.Sub(j.Created)
	var items []item
	add := func(at time.Duration, event string, d drsorch.JobEventData) {
		if at <= e {
			items = append(items, item{at, len(items), drsorch.JobLogItem{Event: event, EventData: d, LogDateTime: j.Created.Add(at)}})
		}
	}
	add(j.Start, drsorch.EventJobStart, drsorch.JobEventData{})
	if j.Type == drsorch.JobLaunch {
		for _, js := range j.Servers {
			src := drsorch.JobEventData{SourceServerID: js.SourceServerID}
			if js.Replaces != "" {
				add(j.Start, drsorch.EventCleanupStart, src)
				add(js.CleanupEnd, drsorch.EventCleanupEnd, src)
			}
			if js.SnapshotID != "" {
				add(js.CleanupEnd, drsorch.EventUsingPreviousSnapshot, src)
			} else {
				add(js.CleanupEnd, drsorch.EventSnapshotStart, src)
			}
			if js.FailEarly {
				add(js.End, drsorch.EventLaunchFailed, drsorch.JobEventData{SourceServerID: js.SourceServerID, RawError: js.FailError})
				continue
			}
			if js.SnapshotID == "" {
				add(js.SnapshotEnd, drsorch.EventSnapshotEnd, src)
			}
			conv := drsorch.JobEventData{SourceServerID: js.SourceServerID, ConversionServerID: js.ConversionServerID}
			add(js.SnapshotEnd, drsorch.EventConversionStart, conv)
			add(js.ConversionEnd, drsorch.EventConversionEnd, conv)
			add(js.ConversionEnd, drsorch.EventLaunchStart, src)
			if js.FailError != "" {
				add(js.End, drsorch.EventLaunchFailed, drsorch.JobEventData{SourceServerID: js.SourceServerID, RawError: js.FailError})
			} else {
				add(js.End, drsorch.EventLaunchEnd, drsorch.JobEventData{SourceServerID: js.SourceServerID, TargetInstanceID: js.InstanceID})
			}
		}
	}
	add(j.End, drsorch.EventJobEnd, drsorch.JobEventData{})
	// Items of one instant keep the order above: JOB_START first, JOB_END last.
	sort.SliceStable(items, func(a, b int) bool {
		if items[a].at != items[b].at {
			return items[a].at < items[b].at
		}
		return items[a].ord < items[b].ord
	})
	out := make([]drsorch.JobLogItem, len(items))
	for i := range items {
		out[i] = items[i].it
	}
	return out
}

// Effects are the changes a job makes to its region at given times.
type effectKind int

const (
	effCleanup effectKind = iota // remove a server's previous recovery instance
	effLaunch                    // create a server's recovery instance
	effJobEnd                    // release the servers; a TERMINATE job removes its instances
)

type effect struct {
	at     time.Duration
	kind   effectKind
	server int
}

func (j *job) plannedEffects() []effect {
	if j.effects != nil || j.static() {
		return j.effects
	}
	var effs []effect
	if j.Type == drsorch.JobLaunch {
		for i, js := range j.Servers {
			if js.Replaces != "" {
				effs = append(effs, effect{js.CleanupEnd, effCleanup, i})
			}
			if js.FailError == "" {
				effs = append(effs, effect{js.End, effLaunch, i})
			}
		}
	}
	effs = append(effs, effect{j.End, effJobEnd, -1})
	sort.SliceStable(effs, func(a, b int) bool {
		if effs[a].at != effs[b].at {
			return effs[a].at < effs[b].at
		}
		return effs[a].kind < effs[b].kind
	})
	j.effects = effs
	return effs
}

// next returns when the job's next effect is due.
func (j *job) next() time.Time {
	effs := j.plannedEffects()
	return j.Created.Add(effs[j.Applied].at)
}

func (j *job) pending() bool {
	return !j.static() && j.Applied < len(j.plannedEffects())
}

// jobQueue orders a region's unfinished jobs by their next effect.
type jobQueue []*job

func (q jobQueue) Len() int { return len(q) }
func (q jobQueue) Less(a, b int) bool {
	na, nb := q[a].next(), q[b].next()
	if !na.Equal(nb) {
		return na.Before(nb)
	}
	return q[a].Seq < q[b].Seq
}
func (q jobQueue) Swap(a, b int) {
	q[a], q[b] = q[b], q[a]
	q[a].index, q[b].index = a, b
}
func (q *jobQueue) Push(x any) {
	j := x.(*job)
	j.index = len(*q)
	*q = append(*q, j)
}
func (q *jobQueue) Pop() any {
	old := *q
	j := old[len(old)-1]
	old[len(old)-1] = nil
	j.index = -1
	*q = old[:len(old)-1]
	return j
}

// settle applies every effect due by now, in time order across the region's jobs.
func (s *Sim) settle(r *region, now time.Time) {
	for len(r.queue) > 0 {
		j := r.queue[0]
		if j.next().After(now) {
			return
		}
		effs := j.plannedEffects()
		for j.Applied < len(effs) && !j.Created.Add(effs[j.Applied].at).After(now) {
			r.apply(j, effs[j.Applied])
			j.Applied++
		}
		if j.Applied < len(effs) {
			heap.Fix(&r.queue, 0)
		} else {
			heap.Pop(&r.queue)
		}
	}
}

// apply makes one effect of a job.
func (r *region) apply(j *job, e effect) {
	switch e.kind {
	case effCleanup:
		js := j.Servers[e.server]
		if in := r.instances[js.Replaces]; in != nil {
			r.removeInstance(in)
		}
	case effLaunch:
		js := j.Servers[e.server]
		if old := r.bySource[js.SourceServerID]; old != nil {
			r.removeInstance(old)
		}
		r.addInstance(&instance{RecoveryInstance: drsorch.RecoveryInstance{
			RecoveryInstanceID: js.InstanceID,
			EC2InstanceID:      js.InstanceID,
			EC2InstanceState:   drsorch.EC2Running,
			SourceServerID:     js.SourceServerID,
			JobID:              j.ID,
			IsDrill:            j.IsDrill,
			InstanceType:       js.InstanceType,
			PrivateIP:          js.PrivateIP,
			LaunchTime:         j.Created.Add(js.End),
			Region:             r.name,
			AccountID:          r.account,
		}})
	case effJobEnd:
		r.release(j)
		if j.Type == drsorch.JobTerminate {
			for _, js := range j.Servers {
				if in := r.instances[js.InstanceID]; in != nil && in.TerminateJob == j.ID {
					r.removeInstance(in)
				}
			}
		}
	}
}
