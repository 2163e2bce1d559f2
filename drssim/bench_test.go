package drssim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
)

var unlimited = drssim.Limits{MaxServersPerJob: -1, MaxConcurrentJobs: -1, MaxServersInActiveJobs: -1}

// busySim returns a sim with jobs active jobs of perJob servers each, half-way through their launch.
func busySim(b *testing.B, jobs, perJob int) (*fixture, []string) {
	b.Helper()
	f := newFixture(b, drssim.Options{Seed: 1, Limits: unlimited}, jobs*perJob)
	ids := make([]string, jobs)
	for i := range jobs {
		ids[i] = f.start(b, f.ids[i*perJob:(i+1)*perJob]...).JobID
	}
	f.clock.Advance(10 * time.Minute)
	return f, ids
}

// BenchmarkDescribeJobs1000of3000 describes 1,000 job ids among 3,000 active jobs of 10 servers.
func BenchmarkDescribeJobs1000of3000(b *testing.B) {
	f, ids := busySim(b, 3000, 10)
	filter := drsorch.JobFilter{JobIDs: ids[1000:2000]}
	b.ReportAllocs()
	for b.Loop() {
		jobs, err := f.sim.DescribeJobs(ctx, drsorch.Target{}, filter)
		if err != nil || len(jobs) != 1000 {
			b.Fatalf("%d jobs, %v", len(jobs), err)
		}
	}
}

// BenchmarkStartRecovery starts 10-server jobs in an account with 3,000 active jobs.
func BenchmarkStartRecovery(b *testing.B) {
	f, _ := busySim(b, 3000, 10)
	servers := drsorchtestServers(b.N * 10)
	if err := f.sim.AddSourceServers(servers...); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		in := drsorch.StartRecoveryInput{IsDrill: true}
		for _, s := range servers[i*10 : (i+1)*10] {
			in.SourceServers = append(in.SourceServers, drsorch.StartRecoveryServer{SourceServerID: s.SourceServerID})
		}
		if _, err := f.sim.StartRecovery(ctx, drsorch.Target{}, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSettle3000Jobs advances time over 3,000 jobs so every launch ends.
func BenchmarkSettle3000Jobs(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		f, _ := busySim(b, 3000, 10)
		f.clock.Advance(time.Hour)
		b.StartTimer()
		if n := len(f.sim.Instances(drsorch.Target{})); n != 30000 {
			b.Fatalf("%d instances", n)
		}
	}
}

func drsorchtestServers(n int) []drsorch.SourceServer {
	out := make([]drsorch.SourceServer, n)
	for i := range out {
		out[i] = drsorch.SourceServer{SourceServerID: fmt.Sprintf("s-f%016x", i), ReplicationState: "CONTINUOUS"}
	}
	return out
}
