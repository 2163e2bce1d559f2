//go:build integration

package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drsorch/drsorch/internal/testenv"
)

// awsCLI returns the command that runs the AWS CLI: $DRSORCH_AWS_CLI, else
// `aws` on PATH, else the awscli Python module; nil when there is none.
func awsCLI() []string {
	if c := strings.Fields(os.Getenv("DRSORCH_AWS_CLI")); len(c) > 0 {
		return c
	}
	if p, err := exec.LookPath("aws"); err == nil {
		return []string{p}
	}
	for _, py := range []string{"python3", "python"} {
		if p, err := exec.LookPath(py); err == nil && exec.Command(p, "-c", "import awscli").Run() == nil {
			return []string{p, "-m", "awscli"}
		}
	}
	return nil
}

// drsSimProcess is `drsorch drs-sim` running as a process.
type drsSimProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *testenv.LockedBuffer
	exited chan struct{} // closed once the process has exited; err is then set
	err    error
}

func startDRSSimProcess(t *testing.T, bin string, args ...string) *drsSimProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"drs-sim", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &drsSimProcess{cmd: cmd, stderr: &testenv.LockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(t) })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), "listening on "); ok {
				lines <- url
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.url = <-lines:
	case <-p.exited:
		t.Fatalf("drs-sim exited: %v\n%s", p.err, p.stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("drs-sim printed no URL\n%s", p.stderr)
	}
	return p
}

// stop ends the process with SIGTERM and wants a clean exit.
func (p *drsSimProcess) stop(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("drs-sim exited with %v after SIGTERM\n%s", p.err, p.stderr)
		}
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("drs-sim did not stop within 10s of SIGTERM")
	}
}

// cli runs the AWS CLI against one endpoint with dummy credentials and no
// profile, config or credential files of the machine.
type cli struct {
	t       *testing.T
	command []string
	url     string
	env     []string
}

func newCLI(t *testing.T, command []string, url string) *cli {
	home := t.TempDir()
	env := []string{"HOME=" + home, "AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"), "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER="}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return &cli{t: t, command: command, url: url, env: env}
}

// run returns the parsed JSON output, the standard error and the exit status.
func (c *cli) run(extraEnv []string, args ...string) (map[string]any, string, int) {
	c.t.Helper()
	argv := append(slices.Clone(c.command[1:]), args...)
	argv = append(argv, "--endpoint-url", c.url, "--output", "json")
	if !slices.Contains(args, "--region") {
		argv = append(argv, "--region", "us-east-1")
	}
	cmd := exec.Command(c.command[0], argv...)
	cmd.Env = append(slices.Clone(c.env), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("aws %v: %v", args, err)
	}
	var out map[string]any
	if code == 0 && strings.TrimSpace(stdout.String()) != "" {
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			c.t.Fatalf("aws %v: output is not JSON: %v\n%s", args, err, stdout.String())
		}
	}
	return out, stderr.String(), code
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) map[string]any {
	c.t.Helper()
	out, stderr, code := c.run(nil, args...)
	if code != 0 {
		c.t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	return out
}

// fails runs a command that must fail with the DRS exception name.
func (c *cli) fails(exception string, args ...string) {
	c.t.Helper()
	_, stderr, code := c.run(nil, args...)
	if code == 0 || !strings.Contains(stderr, "("+exception+")") {
		c.t.Fatalf("aws %s: exit %d, stderr %q; want a %s", strings.Join(args, " "), code, stderr, exception)
	}
}

func cliItems(t *testing.T, out map[string]any) []map[string]any {
	t.Helper()
	raw, ok := out["items"].([]any)
	if !ok {
		t.Fatalf("no items in %v", out)
	}
	items := make([]map[string]any, len(raw))
	for i, x := range raw {
		items[i] = x.(map[string]any)
	}
	return items
}

func cliStrings(items []map[string]any, key string) []string {
	out := make([]string, len(items))
	for i, m := range items {
		out[i], _ = m[key].(string)
	}
	return out
}

var (
	cliJobIDRe      = regexp.MustCompile(`^drsjob-[0-9a-zA-Z]{17}$`)
	cliInstanceIDRe = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	cliISOTimeRe    = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)
)

// waitJob polls describe-jobs until the job completes.
func (c *cli) waitJob(id string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		jobs := cliItems(c.t, c.ok("drs", "describe-jobs", "--filters", `{"jobIDs":["`+id+`"]}`))
		if len(jobs) != 1 {
			c.t.Fatalf("describe-jobs %s: %v", id, jobs)
		}
		if jobs[0]["status"] == "COMPLETED" {
			return jobs[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s still %v", id, jobs[0]["status"])
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestAWSCLIAgainstDRSSim drives `drsorch drs-sim` with the AWS CLI v1: the
// inventory from fixtures, a drill launched, refused while busy, watched to
// completion with its log and recovery instances, the instances terminated,
// pagination, per-account routing, a scripted throttle the CLI retries, and
// the state surviving a restart.
func TestAWSCLIAgainstDRSSim(t *testing.T) {
	command := awsCLI()
	if command == nil {
		t.Skip("the AWS CLI is not installed (neither `aws` on PATH nor the awscli Python module); .ci/awscli.sh installs it")
	}
	bin := buildBinary(t)
	state := filepath.Join(t.TempDir(), "drs-state.json")
	sim := startDRSSimProcess(t, bin, "--fixtures", "testdata/drs-sim-fixtures.json", "--speed", "100", "--seed", "3", "--state", state)
	aws := newCLI(t, command, sim.url)
	web := []string{"s-1111111111111111a", "s-2222222222222222b"}

	t.Run("describe-source-servers", func(t *testing.T) {
		aws.t = t
		servers := cliItems(t, aws.ok("drs", "describe-source-servers"))
		if got := cliStrings(servers, "sourceServerID"); !slices.Equal(got, []string{web[0], web[1], "s-3333333333333333c"}) {
			t.Fatalf("servers %v", got)
		}
		s := servers[0]
		if s["tags"].(map[string]any)["Name"] != "web1" ||
			s["dataReplicationInfo"].(map[string]any)["dataReplicationState"] != "CONTINUOUS" ||
			s["sourceProperties"].(map[string]any)["identificationHints"].(map[string]any)["hostname"] != "web1.example.internal" ||
			s["arn"] != "arn:aws:drs:us-east-1:123456789012:source-server/"+web[0] {
			t.Errorf("server = %v", s)
		}
		before := strings.Count(sim.stderr.String(), "op=DescribeSourceServers")
		paged := cliItems(t, aws.ok("drs", "describe-source-servers", "--page-size", "1"))
		if len(paged) != 3 {
			t.Errorf("--page-size 1 gave %d servers, want all 3", len(paged))
		}
		if n := strings.Count(sim.stderr.String(), "op=DescribeSourceServers") - before; n < 3 {
			t.Errorf("--page-size 1 made %d requests, want one per page", n)
		}
		filtered := cliItems(t, aws.ok("drs", "describe-source-servers", "--filters", `{"sourceServerIDs":["`+web[1]+`"]}`))
		if got := cliStrings(filtered, "sourceServerID"); !slices.Equal(got, web[1:]) {
			t.Errorf("filtered servers %v", got)
		}
		out, stderr, code := aws.run([]string{"AWS_ACCESS_KEY_ID=222233334444"}, "drs", "describe-source-servers", "--region", "us-west-2")
		if code != 0 || len(cliItems(t, out)) != 1 || cliItems(t, out)[0]["sourceServerID"] != "s-4444444444444444d" {
			t.Errorf("account 222233334444 in us-west-2: exit %d %v %s", code, out, stderr)
		}
	})

	var jobID string
	t.Run("start-recovery", func(t *testing.T) {
		aws.t = t
		out := aws.ok("drs", "start-recovery", "--is-drill", "--tags", `{"drsorch:executionId":"exec-cli"}`,
			"--source-servers", `[{"sourceServerID":"`+web[0]+`"},{"sourceServerID":"`+web[1]+`"}]`)
		job := out["job"].(map[string]any)
		jobID, _ = job["jobID"].(string)
		if !cliJobIDRe.MatchString(jobID) || job["type"] != "LAUNCH" || job["status"] != "PENDING" || job["initiatedBy"] != "START_DRILL" {
			t.Fatalf("job = %v", job)
		}
		if c, _ := job["creationDateTime"].(string); !cliISOTimeRe.MatchString(c) || !strings.HasPrefix(c, "2026-01-01T") {
			t.Errorf("creationDateTime %q, want an ISO time just after the fixtures' clock", c)
		}
		if job["tags"].(map[string]any)["drsorch:executionId"] != "exec-cli" {
			t.Errorf("tags = %v", job["tags"])
		}
		aws.fails("ConflictException", "drs", "start-recovery", "--source-servers", `[{"sourceServerID":"`+web[0]+`"}]`)
		aws.fails("ResourceNotFoundException", "drs", "start-recovery", "--source-servers", `[{"sourceServerID":"s-9999999999999999z"}]`)
		aws.fails("ValidationException", "drs", "describe-jobs", "--filters", `{"jobIDs":["drsjob-not-a-valid-id-xy"]}`)
	})
	if jobID == "" {
		t.FailNow()
	}

	var instances []string
	t.Run("the drill completes", func(t *testing.T) {
		aws.t = t
		job := aws.waitJob(jobID)
		if e, _ := job["endDateTime"].(string); !cliISOTimeRe.MatchString(e) {
			t.Errorf("endDateTime %q", e)
		}
		launched := map[string]string{}
		for _, p := range job["participatingServers"].([]any) {
			ps := p.(map[string]any)
			if ps["launchStatus"] != "LAUNCHED" {
				t.Errorf("participating server %v", ps)
			}
			launched[ps["sourceServerID"].(string)], _ = ps["recoveryInstanceID"].(string)
		}

		log := cliItems(t, aws.ok("drs", "describe-job-log-items", "--job-id", jobID))
		events := cliStrings(log, "event")
		if events[0] != "JOB_START" || events[len(events)-1] != "JOB_END" {
			t.Errorf("log events %v", events)
		}
		for _, id := range web {
			found := false
			for _, it := range log {
				d, _ := it["eventData"].(map[string]any)
				found = found || (it["event"] == "LAUNCH_END" && d["sourceServerID"] == id && d["targetInstanceID"] == launched[id])
			}
			if !found {
				t.Errorf("no LAUNCH_END for %s with instance %s in %v", id, launched[id], events)
			}
		}

		inst := cliItems(t, aws.ok("drs", "describe-recovery-instances", "--filters", `{"sourceServerIDs":["`+web[0]+`","`+web[1]+`"]}`))
		if len(inst) != 2 {
			t.Fatalf("recovery instances %v", inst)
		}
		for _, in := range inst {
			id, _ := in["recoveryInstanceID"].(string)
			if !cliInstanceIDRe.MatchString(id) || in["jobID"] != jobID || in["isDrill"] != true || in["ec2InstanceState"] != "RUNNING" || launched[in["sourceServerID"].(string)] != id {
				t.Errorf("instance %v", in)
			}
			instances = append(instances, id)
		}
	})

	t.Run("terminate-recovery-instances", func(t *testing.T) {
		aws.t = t
		if len(instances) != 2 {
			t.Skip("no instances")
		}
		out := aws.ok(append([]string{"drs", "terminate-recovery-instances", "--recovery-instance-ids"}, instances...)...)
		job := out["job"].(map[string]any)
		term, _ := job["jobID"].(string)
		if job["type"] != "TERMINATE" || job["initiatedBy"] != "TERMINATE_RECOVERY_INSTANCES" {
			t.Fatalf("job = %v", job)
		}
		done := aws.waitJob(term)
		for _, p := range done["participatingServers"].([]any) {
			if ps := p.(map[string]any); ps["launchStatus"] != "TERMINATED" {
				t.Errorf("participating server %v", ps)
			}
		}
		ids, _ := json.Marshal(instances)
		if left := cliItems(t, aws.ok("drs", "describe-recovery-instances", "--filters", `{"recoveryInstanceIDs":`+string(ids)+`}`)); len(left) != 0 {
			t.Errorf("instances left after termination: %v", left)
		}
		all := cliItems(t, aws.ok("drs", "describe-jobs"))
		if got := cliStrings(all, "jobID"); len(got) != 3 || got[0] != term || got[1] != jobID || got[2] != "drsjob-11111111111111111" {
			t.Errorf("describe-jobs = %v, want newest first: %s %s and the fixture's", got, term, jobID)
		}
	})

	t.Run("a scripted throttle is retried by the CLI", func(t *testing.T) {
		aws.t = t
		snaps := cliItems(t, aws.ok("drs", "describe-recovery-snapshots", "--source-server-id", web[0], "--order", "ASC"))
		if len(snaps) == 0 || !strings.HasPrefix(snaps[0]["snapshotID"].(string), "pit-") {
			t.Fatalf("snapshots %v", snaps)
		}
		if !strings.Contains(sim.stderr.String(), "op=DescribeRecoverySnapshots status=429") {
			t.Errorf("the fixture's ThrottlingException was not served:\n%s", sim.stderr)
		}
	})

	t.Run("state survives a restart", func(t *testing.T) {
		aws.t = t
		sim.stop(t)
		again := startDRSSimProcess(t, bin, "--state", state, "--speed", "100")
		aws.url = again.url
		jobs := cliStrings(cliItems(t, aws.ok("drs", "describe-jobs")), "jobID")
		if !slices.Contains(jobs, jobID) {
			t.Errorf("jobs after restart %v, want %s among them", jobs, jobID)
		}
	})
}
