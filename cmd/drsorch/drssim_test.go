package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drs"
	"github.com/drsorch/drsorch/internal/testenv"
)

// drsSimRun is `drsorch drs-sim` running in process.
type drsSimRun struct {
	url    string
	stderr *testenv.LockedBuffer
	stop   func() error
}

// startDRSSim runs the command with args plus a free port and waits for its URL.
func startDRSSim(t *testing.T, args ...string) *drsSimRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &testenv.LockedBuffer{}, &testenv.LockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- runDRSSim(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), stdout, stderr) }()
	r := &drsSimRun{stderr: stderr}
	var once sync.Once
	var stopErr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(10 * time.Second):
				stopErr = errors.New("drs-sim did not stop within 10s of its context ending")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { r.stop() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if out := stdout.String(); strings.Contains(out, "listening on ") {
			r.url = strings.TrimSpace(out[strings.Index(out, "http://"):])
			return r
		}
		select {
		case err := <-done:
			t.Fatalf("drs-sim exited: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("drs-sim printed no URL\n%s", stderr.String())
	return nil
}

// adapter is the real DRS adapter on the command's endpoint.
func (r *drsSimRun) adapter() drsorch.DRS {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(r.url),
	}
	return drs.New(cfg, drs.Options{DisableEC2: true, MaxBackoff: time.Millisecond})
}

func waitJobDone(t *testing.T, d drsorch.DRS, target drsorch.Target, id string) drsorch.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		jobs, err := d.DescribeJobs(context.Background(), target, drsorch.JobFilter{JobIDs: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 1 && jobs[0].Status == drsorch.JobCompleted {
			return jobs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not completed: %+v", id, jobs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDRSSimServesFixtures(t *testing.T) {
	ctx := context.Background()
	run := startDRSSim(t, "--fixtures", "testdata/drs-sim-fixtures.json", "--speed", "3600", "--seed", "1")
	d := run.adapter()
	home := drsorch.Target{AccountID: "123456789012", Region: "us-east-1"}

	servers, err := d.DescribeSourceServers(ctx, home, drsorch.SourceServerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range servers {
		names = append(names, s.Name())
	}
	if strings.Join(names, ",") != "web1,web2,db1" {
		t.Errorf("servers %v, want web1,web2,db1", names)
	}
	far, err := drs.New(aws.Config{Region: "us-west-2", BaseEndpoint: aws.String(run.url),
		Credentials: credentials.NewStaticCredentialsProvider("222233334444", "secret", "")}, drs.Options{DisableEC2: true}).
		DescribeSourceServers(ctx, drsorch.Target{Region: "us-west-2"}, drsorch.SourceServerFilter{})
	if err != nil || len(far) != 1 || far[0].Name() != "far1" || far[0].AccountID != "222233334444" {
		t.Errorf("servers of account 222233334444 in us-west-2 = %+v, %v", far, err)
	}

	old, err := d.DescribeJobs(ctx, home, drsorch.JobFilter{JobIDs: []string{"drsjob-11111111111111111"}})
	if err != nil || len(old) != 1 || old[0].Status != drsorch.JobCompleted {
		t.Fatalf("fixture job = %+v, %v", old, err)
	}

	job, err := d.StartRecovery(ctx, home, drsorch.StartRecoveryInput{IsDrill: true, SourceServers: []drsorch.StartRecoveryServer{
		{SourceServerID: "s-1111111111111111a"}, {SourceServerID: "s-2222222222222222b"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if c := job.CreationDateTime; c.Before(clock) || c.After(clock.Add(12*time.Hour)) {
		t.Errorf("job created at %v, want shortly after the fixtures' clock %v", c, clock)
	}
	done := waitJobDone(t, d, home, job.JobID)
	for _, ps := range done.ParticipatingServers {
		if ps.LaunchStatus != drsorch.LaunchLaunched {
			t.Errorf("server %s %s", ps.SourceServerID, ps.LaunchStatus)
		}
	}
	inst, err := d.DescribeRecoveryInstances(ctx, home, drsorch.RecoveryInstanceFilter{})
	if err != nil || len(inst) != 3 {
		t.Fatalf("recovery instances = %+v, %v; want the fixture's and two new ones", inst, err)
	}

	// The fixture's fault: the first DescribeRecoverySnapshots is throttled.
	res, err := http.Post(run.url+"/DescribeRecoverySnapshots", "application/json", strings.NewReader(`{"sourceServerID":"s-1111111111111111a"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("X-Amzn-ErrorType") != "ThrottlingException" {
		t.Errorf("first DescribeRecoverySnapshots: %d %q, want 429 ThrottlingException", res.StatusCode, res.Header.Get("X-Amzn-ErrorType"))
	}
	if snaps, err := d.DescribeRecoverySnapshots(ctx, home, drsorch.SnapshotFilter{SourceServerID: "s-1111111111111111a"}); err != nil || len(snaps) == 0 {
		t.Errorf("snapshots = %d, %v", len(snaps), err)
	}

	if err := run.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	logs := run.stderr.String()
	for _, want := range []string{"drs-sim listening", "op=StartRecovery status=202", "awsError=ThrottlingException", "drs-sim stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestDRSSimBareFixtureAndState(t *testing.T) {
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "drs-state.json")
	home := drsorch.Target{Region: "us-east-1"}

	first := startDRSSim(t, "--fixtures", "testdata/drs-sim-bare.json", "--state", state, "--speed", "600", "--seed", "2")
	d := first.adapter()
	servers, err := d.DescribeSourceServers(ctx, home, drsorch.SourceServerFilter{})
	if err != nil || len(servers) != 1 || servers[0].Name() != "app1" {
		t.Fatalf("servers = %+v, %v", servers, err)
	}
	job, err := d.StartRecovery(ctx, home, drsorch.StartRecoveryInput{SourceServers: []drsorch.StartRecoveryServer{{SourceServerID: "s-5555555555555555e"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no state saved: %v", err)
	}

	second := startDRSSim(t, "--fixtures", "testdata/drs-sim-bare.json", "--state", state, "--speed", "600")
	if !strings.Contains(second.stderr.String(), "fixtures not loaded") {
		t.Errorf("restart log:\n%s", second.stderr.String())
	}
	d = second.adapter()
	done := waitJobDone(t, d, home, job.JobID)
	if done.ParticipatingServers[0].LaunchStatus != drsorch.LaunchLaunched {
		t.Errorf("restored job = %+v", done)
	}
	if servers, _ := d.DescribeSourceServers(ctx, home, drsorch.SourceServerFilter{}); len(servers) != 1 {
		t.Errorf("%d servers after restart, want 1 (fixtures not loaded twice)", len(servers))
	}
}

func TestDRSSimRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args []string
		code int    // exit status when an exitError, 0 otherwise
		want string // in the error
	}{
		{"zero speed", []string{"--speed", "0"}, 2, "--speed"},
		{"unknown flag", []string{"--nope"}, 2, ""},
		{"extra argument", []string{"now"}, 2, "unexpected arguments"},
		{"bad log level", []string{"--log-level", "loud"}, 2, "--log-level"},
		{"missing fixtures", []string{"--fixtures", filepath.Join(dir, "absent.json")}, 0, "absent.json"},
		{"malformed fixtures", []string{"--fixtures", write("bad.json", `{"drs":`)}, 0, "bad.json"},
		{"bad clock", []string{"--fixtures", write("clock.json", `{"clock":"yesterday"}`)}, 0, "clock"},
		{"invalid fixture entry", []string{"--fixtures", write("entry.json", `{"drs":{"jobs":[{"jobID":"job-1"}]}}`)}, 0, "drs.jobs[0].jobID"},
		{"unusable address", []string{"--addr", "256.0.0.1:1"}, 0, "drs-sim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := runDRSSim(ctx, append([]string{"--addr", "127.0.0.1:0"}, tt.args...), &bytes.Buffer{}, &stderr)
			if err == nil {
				t.Fatal("no error")
			}
			var ee *exitError
			code := 0
			if errors.As(err, &ee) {
				code = ee.code
			}
			if code != tt.code {
				t.Errorf("exit code %d, want %d (%v)", code, tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestDRSSimClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newDRSSimClock(start, 3600)
	time.Sleep(20 * time.Millisecond)
	if got := c.Now().Sub(start); got < time.Minute || got > time.Hour {
		t.Errorf("after 20ms at 3600x the clock moved %v, want about 72s", got)
	}
	later := start.Add(48 * time.Hour)
	c.rebase(later)
	if got := c.Now(); got.Before(later) || got.After(later.Add(time.Hour)) {
		t.Errorf("rebased clock = %v, want just after %v", got, later)
	}
}
