package drssim

import (
	"container/heap"
	"slices"
	"sort"
	"time"

	"github.com/drsorch/drsorch"
)

// region is the DRS state of one account and region.
type region struct {
	account, name string

	servers    map[string]*drsorch.SourceServer
	serverList []*drsorch.SourceServer // in the order added

	jobs    map[string]*job
	jobList []*job // in the order created

	instances    map[string]*instance
	instanceList []*instance // in the order launched; removed ones are nil until compacted
	removed      int
	bySource     map[string]*instance

	busy          map[string]*job // source server id → the active job it takes part in
	activeJobs    int
	activeServers int
	queue         jobQueue
}

// instance is a recovery instance.
type instance struct {
	drsorch.RecoveryInstance
	TerminateJob string `json:"terminateJob,omitempty"` // the TERMINATE job removing it
	pos          int
}

func newRegion(account, name string) *region {
	return &region{
		account:   account,
		name:      name,
		servers:   map[string]*drsorch.SourceServer{},
		jobs:      map[string]*job{},
		instances: map[string]*instance{},
		bySource:  map[string]*instance{},
		busy:      map[string]*job{},
	}
}

func (r *region) putServer(srv drsorch.SourceServer) {
	if old := r.servers[srv.SourceServerID]; old != nil {
		*old = srv
		return
	}
	p := &srv
	r.servers[srv.SourceServerID] = p
	r.serverList = append(r.serverList, p)
}

// addJob registers a job. A simulated job holds its servers and counts toward
// the quotas until its end is applied; a static one while its status is active.
func (r *region) addJob(j *job) {
	j.index = -1
	r.jobs[j.ID] = j
	r.jobList = append(r.jobList, j)
	switch {
	case j.static():
		if j.Static.Status.Active() {
			r.hold(j)
		}
	case j.pending():
		r.hold(j)
		heap.Push(&r.queue, j)
	}
}

func (r *region) hold(j *job) {
	r.activeJobs++
	r.activeServers += len(j.serverIDs())
	for _, id := range j.serverIDs() {
		if id != "" {
			r.busy[id] = j
		}
	}
}

func (r *region) release(j *job) {
	r.activeJobs--
	r.activeServers -= len(j.serverIDs())
	for _, id := range j.serverIDs() {
		if r.busy[id] == j {
			delete(r.busy, id)
		}
	}
}

func (j *job) serverIDs() []string {
	if j.static() {
		ids := make([]string, len(j.Static.ParticipatingServers))
		for i, ps := range j.Static.ParticipatingServers {
			ids[i] = ps.SourceServerID
		}
		return ids
	}
	ids := make([]string, len(j.Servers))
	for i, js := range j.Servers {
		ids[i] = js.SourceServerID
	}
	return ids
}

func (r *region) addInstance(in *instance) {
	if old := r.instances[in.RecoveryInstanceID]; old != nil {
		r.removeInstance(old)
	}
	in.pos = len(r.instanceList)
	r.instances[in.RecoveryInstanceID] = in
	r.instanceList = append(r.instanceList, in)
	if in.SourceServerID != "" {
		r.bySource[in.SourceServerID] = in
	}
}

func (r *region) removeInstance(in *instance) {
	if r.instances[in.RecoveryInstanceID] != in {
		return
	}
	delete(r.instances, in.RecoveryInstanceID)
	if r.bySource[in.SourceServerID] == in {
		delete(r.bySource, in.SourceServerID)
	}
	r.instanceList[in.pos] = nil
	r.removed++
	if r.removed > 64 && r.removed > len(r.instanceList)/2 {
		live := r.instanceList[:0]
		for _, x := range r.instanceList {
			if x != nil {
				x.pos = len(live)
				live = append(live, x)
			}
		}
		clear(r.instanceList[len(live):])
		r.instanceList = live
		r.removed = 0
	}
}

// describeServers returns the servers with the given ids (all when ids is empty), in the order added.
func (r *region) describeServers(ids []string) []drsorch.SourceServer {
	out := []drsorch.SourceServer{}
	if len(ids) > 0 {
		want := make(map[string]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		for _, srv := range r.serverList {
			if want[srv.SourceServerID] {
				out = append(out, cloneServer(srv))
			}
		}
		return out
	}
	for _, srv := range r.serverList {
		out = append(out, cloneServer(srv))
	}
	return out
}

func cloneServer(p *drsorch.SourceServer) drsorch.SourceServer {
	s := *p
	s.Tags = cloneTags(s.Tags)
	return s
}

// describeJobs returns the jobs the filter selects, newest first.
func (r *region) describeJobs(f drsorch.JobFilter, now time.Time) []drsorch.Job {
	var sel []*job
	if len(f.JobIDs) > 0 {
		sel = make([]*job, 0, len(f.JobIDs))
		seen := make(map[*job]bool, len(f.JobIDs))
		for _, id := range f.JobIDs {
			if j := r.jobs[id]; j != nil && !seen[j] {
				seen[j] = true
				sel = append(sel, j)
			}
		}
	} else {
		sel = slices.Clone(r.jobList)
	}
	kept := sel[:0]
	for _, j := range sel {
		if !f.FromDate.IsZero() && j.Created.Before(f.FromDate) {
			continue
		}
		if !f.ToDate.IsZero() && j.Created.After(f.ToDate) {
			continue
		}
		kept = append(kept, j)
	}
	sort.Slice(kept, func(a, b int) bool {
		if !kept[a].Created.Equal(kept[b].Created) {
			return kept[a].Created.After(kept[b].Created)
		}
		return kept[a].Seq > kept[b].Seq
	})
	out := make([]drsorch.Job, len(kept))
	for i, j := range kept {
		out[i] = j.view(r, now)
	}
	return out
}

// describeInstances returns the recovery instances the filter selects, in the order launched.
func (r *region) describeInstances(f drsorch.RecoveryInstanceFilter, now time.Time) []drsorch.RecoveryInstance {
	out := []drsorch.RecoveryInstance{}
	var wantSrc map[string]bool
	if len(f.SourceServerIDs) > 0 {
		wantSrc = make(map[string]bool, len(f.SourceServerIDs))
		for _, id := range f.SourceServerIDs {
			wantSrc[id] = true
		}
	}
	keep := func(in *instance) bool { return wantSrc == nil || wantSrc[in.SourceServerID] }
	if len(f.RecoveryInstanceIDs) > 0 {
		var sel []*instance
		seen := map[*instance]bool{}
		for _, id := range f.RecoveryInstanceIDs {
			if in := r.instances[id]; in != nil && !seen[in] && keep(in) {
				seen[in] = true
				sel = append(sel, in)
			}
		}
		sort.Slice(sel, func(a, b int) bool { return sel[a].pos < sel[b].pos })
		for _, in := range sel {
			out = append(out, r.instanceView(in, now))
		}
		return out
	}
	for _, in := range r.instanceList {
		if in != nil && keep(in) {
			out = append(out, r.instanceView(in, now))
		}
	}
	return out
}

// instanceView reports an instance; one a started TERMINATE job is removing is SHUTTING-DOWN.
func (r *region) instanceView(in *instance, now time.Time) drsorch.RecoveryInstance {
	v := in.RecoveryInstance
	if in.TerminateJob != "" {
		if j := r.jobs[in.TerminateJob]; j != nil && j.status(now.Sub(j.Created)) == drsorch.JobStarted {
			v.EC2InstanceState = "SHUTTING-DOWN"
		}
	}
	return v
}
