package drs_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drs"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/drssim"
)

// stsServer is an STS endpoint answering AssumeRole over the real query/XML
// protocol. The access key it hands out is the role's account id, which the
// simulator's server takes as the account of the calls signed with it.
type stsServer struct {
	*httptest.Server
	ttl time.Duration

	mu    sync.Mutex
	calls []url.Values
	deny  bool
}

func newSTSServer(t *testing.T, ttl time.Duration) *stsServer {
	s := &stsServer{ttl: ttl}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *stsServer) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRole" {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, r.PostForm)
	n, deny := len(s.calls), s.deny
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if deny {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>`+
			`<Message>User is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`)
		return
	}
	role := r.Form.Get("RoleArn")
	account := strings.Split(role, ":")[4]
	var b strings.Builder
	xml.EscapeText(&b, []byte(role+"/"+r.Form.Get("RoleSessionName")))
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
		`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token-%d</SessionToken>`+
		`<Expiration>%s</Expiration></Credentials>`+
		`<AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROAEXAMPLE:%d</AssumedRoleId></AssumedRoleUser>`+
		`</AssumeRoleResult><ResponseMetadata><RequestId>r-%d</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		account, n, time.Now().Add(s.ttl).UTC().Format(time.RFC3339), b.String(), n, n)
}

func (s *stsServer) recorded() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// client is the real STS client pointed at the server.
func (s *stsServer) client(cfg aws.Config) drs.STSAPI {
	return sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

// simAWS is the adapter, through the real SDK, on a simulator served over HTTP.
type simAWS struct {
	sim     *drssim.Sim
	clock   *drsorchtest.Clock
	adapter *drs.Adapter
	sts     *stsServer
}

func newSimAWS(t *testing.T, opts drs.Options) *simAWS {
	t.Helper()
	clock := drsorchtest.NewClock(time.Time{})
	sim := drssim.New(drssim.Options{Clock: clock, Seed: 7})
	srv := httptest.NewServer(drssim.NewServer(sim))
	t.Cleanup(srv.Close)
	stsSrv := newSTSServer(t, time.Hour)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	opts.DisableEC2 = true
	opts.MaxBackoff = time.Millisecond
	opts.NewSTS = stsSrv.client
	return &simAWS{sim: sim, clock: clock, adapter: drs.New(cfg, opts), sts: stsSrv}
}

// TestContract runs the DRS contract suite on the adapter through the real
// SDK against drssim's HTTP server, with small pages so every Describe pages.
func TestContract(t *testing.T) {
	tests := []struct {
		name   string
		target drsorch.Target
	}{
		{"current account", drsorch.Target{AccountID: drssim.DefaultAccount, Region: "us-east-1"}},
		{"configured region", drsorch.Target{}},
		{"other region", drsorch.Target{AccountID: drssim.DefaultAccount, Region: "eu-west-1"}},
		{"assumed role", drsorch.Target{AccountID: "222233334444", Region: "us-west-2",
			RoleARN: "arn:aws:iam::222233334444:role/DRSOrchestrationCrossAccountRole", ExternalID: "ext-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drsorchtest.TestDRS(t, func(t *testing.T, seed drsorchtest.DRSSeed) drsorchtest.DRSHarness {
				env := newSimAWS(t, drs.Options{PageSize: 3})
				servers := slices.Clone(seed.SourceServers)
				for i := range servers {
					servers[i].AccountID, servers[i].Region = tt.target.AccountID, tt.target.Region
				}
				if err := env.sim.AddSourceServers(servers...); err != nil {
					t.Fatal(err)
				}
				return drsorchtest.DRSHarness{DRS: env.adapter, Target: tt.target, Advance: env.clock.Advance, FailLaunch: env.sim.FailLaunch}
			})
		})
	}
}

// TestCrossAccountThroughSTS shows a target with a role reached through the
// real STS client: AssumeRole with the external id and a drsorch- session
// name, once for many calls, and the calls land in the role's account.
func TestCrossAccountThroughSTS(t *testing.T) {
	role := "arn:aws:iam::222233334444:role/DRSOrchestrationCrossAccountRole"
	cross := drsorch.Target{AccountID: "222233334444", Region: "us-west-2", RoleARN: role, ExternalID: "ext-secret"}
	env := newSimAWS(t, drs.Options{})
	servers := drsorchtest.SourceServers("far", 2)
	for i := range servers {
		servers[i].AccountID, servers[i].Region = cross.AccountID, cross.Region
	}
	home := drsorchtest.SourceServers("near", 1)
	if err := env.sim.AddSourceServers(append(servers, home...)...); err != nil {
		t.Fatal(err)
	}

	for range 3 {
		got, err := env.adapter.DescribeSourceServers(ctx, cross, drsorch.SourceServerFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].AccountID != cross.AccountID || got[0].Tags["Name"] != "far-001" {
			t.Fatalf("servers in the role's account = %+v", got)
		}
	}
	job, err := env.adapter.StartRecovery(ctx, cross, drsorch.StartRecoveryInput{SourceServers: []drsorch.StartRecoveryServer{{SourceServerID: servers[0].SourceServerID}}, IsDrill: true})
	if err != nil {
		t.Fatal(err)
	}
	if jobs := env.sim.Jobs(drsorch.Target{AccountID: cross.AccountID, Region: cross.Region}); len(jobs) != 1 || jobs[0].JobID != job.JobID {
		t.Errorf("the job did not land in the role's account: %v", jobs)
	}
	local, err := env.adapter.DescribeSourceServers(ctx, drsorch.Target{AccountID: drssim.DefaultAccount, Region: "us-east-1"}, drsorch.SourceServerFilter{})
	if err != nil || len(local) != 1 || local[0].Tags["Name"] != "near-001" {
		t.Errorf("home account servers = %+v, %v", local, err)
	}

	calls := env.sts.recorded()
	if len(calls) != 1 {
		t.Fatalf("AssumeRole called %d times, want once", len(calls))
	}
	c := calls[0]
	if c.Get("RoleArn") != role || c.Get("ExternalId") != "ext-secret" || !strings.HasPrefix(c.Get("RoleSessionName"), "drsorch-") {
		t.Errorf("AssumeRole(RoleArn=%s ExternalId=%s RoleSessionName=%s)", c.Get("RoleArn"), c.Get("ExternalId"), c.Get("RoleSessionName"))
	}

	t.Run("denied", func(t *testing.T) {
		env := newSimAWS(t, drs.Options{})
		env.sts.mu.Lock()
		env.sts.deny = true
		env.sts.mu.Unlock()
		_, err := env.adapter.DescribeJobs(ctx, cross, drsorch.JobFilter{})
		e := drsorch.AsError(err)
		if e.Code != drsorch.CodeDRSAccess || e.Details["awsError"] != "AccessDenied" {
			t.Fatalf("error = %v (%v), want DRS_ACCESS_DENIED with awsError AccessDenied", err, e.Details)
		}
		if n := len(env.sim.Calls()); n != 0 {
			t.Errorf("%d DRS calls were made without credentials", n)
		}
	})
}

// TestRetriesThrottling shows the SDK retrying DRS throttling and giving up
// with DRS_THROTTLED after MaxAttempts.
func TestRetriesThrottling(t *testing.T) {
	tests := []struct {
		name     string
		faults   int
		wantCode string
		calls    int
	}{
		{"recovers", 2, "", 3},
		{"gives up", 5, drsorch.CodeDRSThrottled, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newSimAWS(t, drs.Options{MaxAttempts: 4})
			if err := env.sim.AddSourceServers(drsorchtest.SourceServers("web", 1)...); err != nil {
				t.Fatal(err)
			}
			if err := env.sim.AddFault(drssim.Fault{API: drssim.APIStartRecovery, Error: drssim.ThrottlingException, Times: tt.faults}); err != nil {
				t.Fatal(err)
			}
			_, err := env.adapter.StartRecovery(ctx, drsorch.Target{}, drsorch.StartRecoveryInput{SourceServers: []drsorch.StartRecoveryServer{{SourceServerID: drsorchtest.SourceServerID(1)}}})
			if got := drsorch.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error = %v, want code %q", err, tt.wantCode)
			}
			if n := env.sim.CallCounts()[drssim.APIStartRecovery]; n != tt.calls {
				t.Errorf("%d StartRecovery attempts, want %d", n, tt.calls)
			}
		})
	}
	t.Run("a 500 on a call that is not idempotent is not retried", func(t *testing.T) {
		env := newSimAWS(t, drs.Options{})
		if err := env.sim.AddFault(drssim.Fault{API: drssim.APITerminateRecoveryInstances, Error: drssim.InternalServerException}); err != nil {
			t.Fatal(err)
		}
		_, err := env.adapter.TerminateRecoveryInstances(ctx, drsorch.Target{}, []string{"i-0123456789abcdef0"})
		if drsorch.ErrorCode(err) != drsorch.CodeDRSInternal {
			t.Fatalf("error = %v, want DRS_INTERNAL_SERVER_ERROR", err)
		}
		if n := env.sim.CallCounts()[drssim.APITerminateRecoveryInstances]; n != 1 {
			t.Errorf("TerminateRecoveryInstances attempted %d times after a 500, want once", n)
		}
	})
}

// TestLargeRequestsOnAFastEndpoint guards against the transport race where a
// local endpoint answers before net/http has finished with the request body
// (see bodyReadClient): StartRecovery of 100 servers, five times over, must
// neither fail nor be sent twice.
func TestLargeRequestsOnAFastEndpoint(t *testing.T) {
	for round := range 20 {
		env := newSimAWS(t, drs.Options{})
		servers := drsorchtest.SourceServers("app", drsorch.MaxServersInActiveJobs)
		if err := env.sim.AddSourceServers(servers...); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(servers); i += drsorch.MaxServersPerJob {
			in := drsorch.StartRecoveryInput{IsDrill: true}
			for _, s := range servers[i : i+drsorch.MaxServersPerJob] {
				in.SourceServers = append(in.SourceServers, drsorch.StartRecoveryServer{SourceServerID: s.SourceServerID})
			}
			if _, err := env.adapter.StartRecovery(ctx, drsorch.Target{}, in); err != nil {
				t.Fatalf("round %d, job %d: %v", round, i/drsorch.MaxServersPerJob, err)
			}
		}
		if n := env.sim.CallCounts()[drssim.APIStartRecovery]; n != 5 {
			t.Fatalf("round %d: %d StartRecovery requests, want 5", round, n)
		}
	}
}

// TestEndpointFromEnvironment shows what the composition root relies on: the
// default AWS configuration sends DRS calls to AWS_ENDPOINT_URL_DRS (drs-sim
// here), and EC2FromEnv then turns the EC2 enrichment off.
func TestEndpointFromEnvironment(t *testing.T) {
	sim := drssim.New(drssim.Options{Clock: drsorchtest.NewClock(time.Time{}), Seed: 9})
	if err := sim.AddSourceServers(drsorchtest.SourceServers("env", 2)...); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(drssim.NewServer(sim))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DRS": srv.URL, "AWS_ENDPOINT_URL_EC2": "", "AWS_ENDPOINT_URL": "",
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ec2 := drs.EC2FromEnv(os.LookupEnv)
	if ec2 {
		t.Error("EC2FromEnv = true with only AWS_ENDPOINT_URL_DRS set")
	}
	a := drs.New(cfg, drs.Options{DisableEC2: !ec2})
	got, err := a.DescribeSourceServers(ctx, drsorch.Target{AccountID: drssim.DefaultAccount, Region: "us-east-1"}, drsorch.SourceServerFilter{})
	if err != nil || len(got) != 2 {
		t.Fatalf("DescribeSourceServers through AWS_ENDPOINT_URL_DRS = %+v, %v", got, err)
	}
	if n := sim.CallCounts()[drssim.APIDescribeSourceServers]; n != 1 {
		t.Errorf("the simulator served %d calls, want 1", n)
	}
}
