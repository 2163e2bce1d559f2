package drssim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/drssim"
)

// isoTime is DRS's ISO8601DatetimeString.
var isoTime = regexp.MustCompile(`^[1-9][0-9]*-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([0-1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?Z$`)

// wire is a Sim served over HTTP on a fake clock.
type wire struct {
	*fixture
	srv *httptest.Server
}

func newWire(t *testing.T, opts drssim.Options, n int) *wire {
	t.Helper()
	f := newFixture(t, opts, n)
	srv := httptest.NewServer(drssim.NewServer(f.sim))
	t.Cleanup(srv.Close)
	return &wire{fixture: f, srv: srv}
}

// authFor is a SigV4 Authorization header whose credential scope names the key and region.
func authFor(key, region string) string {
	return "AWS4-HMAC-SHA256 Credential=" + key + "/20260101/" + region + "/drs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
}

type response struct {
	status int
	header http.Header
	body   map[string]any
}

func (w *wire) do(t *testing.T, method, path, auth string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, w.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out := response{status: res.StatusCode, header: res.Header}
	if err := json.NewDecoder(res.Body).Decode(&out.body); err != nil {
		t.Fatalf("%s %s: response body is not JSON: %v", method, path, err)
	}
	return out
}

func (w *wire) post(t *testing.T, op string, body any) response {
	t.Helper()
	return w.do(t, http.MethodPost, "/"+op, authFor("AKIDEXAMPLE", "us-east-1"), body)
}

func items(t *testing.T, r response) []map[string]any {
	t.Helper()
	raw, ok := r.body["items"].([]any)
	if !ok {
		t.Fatalf("no items in %v", r.body)
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out
}

func ids(list []map[string]any, key string) []string {
	out := make([]string, len(list))
	for i, m := range list {
		out[i], _ = m[key].(string)
	}
	return out
}

func TestServerDescribeSourceServers(t *testing.T) {
	w := newWire(t, drssim.Options{Seed: 1}, 2)
	r := w.post(t, drssim.APIDescribeSourceServers, map[string]any{})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %v", r.status, r.body)
	}
	got := items(t, r)
	if !slices.Equal(ids(got, "sourceServerID"), w.ids) {
		t.Fatalf("servers %v, want %v", ids(got, "sourceServerID"), w.ids)
	}
	s := got[0]
	if want := "arn:aws:drs:us-east-1:123456789012:source-server/" + w.ids[0]; s["arn"] != want {
		t.Errorf("arn = %v, want %s", s["arn"], want)
	}
	if tags, _ := s["tags"].(map[string]any); tags["Name"] != "web-001" {
		t.Errorf("tags = %v", s["tags"])
	}
	if st := s["dataReplicationInfo"].(map[string]any)["dataReplicationState"]; st != "CONTINUOUS" {
		t.Errorf("dataReplicationState = %v", st)
	}
	hints := s["sourceProperties"].(map[string]any)["identificationHints"].(map[string]any)
	if hints["hostname"] != "web-001.example.internal" {
		t.Errorf("identificationHints = %v", hints)
	}
	if _, ok := r.body["nextToken"]; ok {
		t.Errorf("nextToken on the only page: %v", r.body["nextToken"])
	}
}

func TestServerRecoveryLifecycle(t *testing.T) {
	w := newWire(t, drssim.Options{Seed: 2}, 2)
	start := w.post(t, drssim.APIStartRecovery, map[string]any{
		"sourceServers": []map[string]string{{"sourceServerID": w.ids[0]}, {"sourceServerID": w.ids[1]}},
		"isDrill":       true,
		"tags":          map[string]string{"drsorch:executionId": "exec-1"},
	})
	if start.status != http.StatusAccepted {
		t.Fatalf("StartRecovery status %d, want 202: %v", start.status, start.body)
	}
	job := start.body["job"].(map[string]any)
	jobID, _ := job["jobID"].(string)
	checks := map[string]any{"type": "LAUNCH", "status": "PENDING", "initiatedBy": "START_DRILL",
		"arn": "arn:aws:drs:us-east-1:123456789012:job/" + jobID}
	for k, want := range checks {
		if job[k] != want {
			t.Errorf("job.%s = %v, want %v", k, job[k], want)
		}
	}
	if c, _ := job["creationDateTime"].(string); !isoTime.MatchString(c) {
		t.Errorf("creationDateTime %q is not an ISO8601DatetimeString", c)
	}
	if _, ok := job["endDateTime"]; ok {
		t.Errorf("a pending job has endDateTime %v", job["endDateTime"])
	}

	w.clock.Advance(30 * time.Minute)
	jobs := items(t, w.post(t, drssim.APIDescribeJobs, map[string]any{"filters": map[string]any{"jobIDs": []string{jobID}}}))
	if len(jobs) != 1 || jobs[0]["status"] != "COMPLETED" {
		t.Fatalf("jobs = %v", jobs)
	}
	if e, _ := jobs[0]["endDateTime"].(string); !isoTime.MatchString(e) {
		t.Errorf("endDateTime %q is not an ISO8601DatetimeString", e)
	}
	for _, p := range jobs[0]["participatingServers"].([]any) {
		ps := p.(map[string]any)
		if ps["launchStatus"] != "LAUNCHED" || ps["recoveryInstanceID"] == nil {
			t.Errorf("participating server %v", ps)
		}
	}

	log := items(t, w.post(t, drssim.APIDescribeJobLogItems, map[string]any{"jobID": jobID}))
	if len(log) < 2 || log[0]["event"] != "JOB_START" || log[len(log)-1]["event"] != "JOB_END" {
		t.Fatalf("log = %v", log)
	}
	for _, it := range log {
		if d, _ := it["logDateTime"].(string); !isoTime.MatchString(d) {
			t.Errorf("logDateTime %q", d)
		}
		if _, ok := it["eventData"].(map[string]any); !ok {
			t.Errorf("eventData missing in %v", it)
		}
	}

	inst := items(t, w.post(t, drssim.APIDescribeRecoveryInstances, map[string]any{"filters": map[string]any{"sourceServerIDs": w.ids}}))
	if len(inst) != 2 {
		t.Fatalf("instances = %v", inst)
	}
	for _, in := range inst {
		if in["isDrill"] != true || in["jobID"] != jobID || in["ec2InstanceState"] != "RUNNING" {
			t.Errorf("instance %v", in)
		}
		nics := in["recoveryInstanceProperties"].(map[string]any)["networkInterfaces"].([]any)
		if ip := nics[0].(map[string]any)["ips"].([]any)[0].(string); !strings.HasPrefix(ip, "10.") {
			t.Errorf("private ip %q", ip)
		}
	}

	term := w.post(t, drssim.APITerminateRecoveryInstances, map[string]any{"recoveryInstanceIDs": ids(inst, "recoveryInstanceID")})
	if term.status != http.StatusOK || term.body["job"].(map[string]any)["type"] != "TERMINATE" {
		t.Fatalf("TerminateRecoveryInstances: %d %v", term.status, term.body)
	}
	w.clock.Advance(10 * time.Minute)
	if left := items(t, w.post(t, drssim.APIDescribeRecoveryInstances, map[string]any{})); len(left) != 0 {
		t.Errorf("instances after termination: %v", left)
	}
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{drssim.ThrottlingException, 429},
		{drssim.ServiceQuotaExceededException, 402},
		{drssim.ConflictException, 409},
		{drssim.ValidationException, 400},
		{drssim.ResourceNotFoundException, 404},
		{drssim.InternalServerException, 500},
		{drssim.AccessDeniedException, 403},
		{drssim.UninitializedAccountException, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWire(t, drssim.Options{Seed: 3}, 1)
			if err := w.sim.AddFault(drssim.Fault{API: drssim.APIDescribeJobs, Error: tt.name}); err != nil {
				t.Fatal(err)
			}
			r := w.post(t, drssim.APIDescribeJobs, map[string]any{})
			if r.status != tt.status {
				t.Errorf("status = %d, want %d", r.status, tt.status)
			}
			if got := r.header.Get("X-Amzn-ErrorType"); got != tt.name {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, tt.name)
			}
			if m, _ := r.body["message"].(string); m == "" {
				t.Errorf("no message in %v", r.body)
			}
			if r.header.Get("X-Amzn-Requestid") == "" {
				t.Error("no request id")
			}
		})
	}
}

func TestServerRejects(t *testing.T) {
	w := newWire(t, drssim.Options{Seed: 4}, 3)
	tests := []struct {
		name         string
		method, path string
		body         any
		reason       string
	}{
		{"unknown operation", http.MethodPost, "/StartFailbackLaunch", map[string]any{}, "unknownOperation"},
		{"wrong method", http.MethodGet, "/DescribeJobs", nil, "unknownOperation"},
		{"malformed body", http.MethodPost, "/DescribeJobs", `{"filters":`, "cannotParse"},
		{"wrong member type", http.MethodPost, "/DescribeJobs", `{"maxResults":"ten"}`, "cannotParse"},
		{"malformed job id", http.MethodPost, "/DescribeJobs", map[string]any{"filters": map[string]any{"jobIDs": []string{"job-1"}}}, "fieldValidationFailed"},
		{"malformed date", http.MethodPost, "/DescribeJobs", map[string]any{"filters": map[string]any{"fromDate": "2026-01-01"}}, "fieldValidationFailed"},
		{"maxResults 0", http.MethodPost, "/DescribeSourceServers", map[string]any{"maxResults": 0}, "fieldValidationFailed"},
		{"foreign nextToken", http.MethodPost, "/DescribeSourceServers", map[string]any{"nextToken": "bm9wZQ"}, "fieldValidationFailed"},
		{"missing jobID", http.MethodPost, "/DescribeJobLogItems", map[string]any{}, "fieldValidationFailed"},
		{"missing sourceServers", http.MethodPost, "/StartRecovery", map[string]any{"isDrill": true}, "fieldValidationFailed"},
		{"malformed source server id", http.MethodPost, "/StartRecovery", map[string]any{"sourceServers": []map[string]string{{"sourceServerID": "s-1"}}}, "fieldValidationFailed"},
		{"bad snapshot order", http.MethodPost, "/DescribeRecoverySnapshots", map[string]any{"sourceServerID": w.ids[0], "order": "UP"}, "fieldValidationFailed"},
		{"empty sourceServers", http.MethodPost, "/StartRecovery", map[string]any{"sourceServers": []any{}}, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.do(t, tt.method, tt.path, "", tt.body)
			if r.status != http.StatusBadRequest || r.header.Get("X-Amzn-ErrorType") != drssim.ValidationException {
				t.Fatalf("got %d %q %v, want 400 ValidationException", r.status, r.header.Get("X-Amzn-ErrorType"), r.body)
			}
			if r.body["reason"] != tt.reason {
				t.Errorf("reason = %v, want %s (%v)", r.body["reason"], tt.reason, r.body["message"])
			}
		})
	}
	t.Run("a token of another operation", func(t *testing.T) {
		first := w.post(t, drssim.APIDescribeSourceServers, map[string]any{"maxResults": 1})
		r := w.post(t, drssim.APIDescribeRecoveryInstances, map[string]any{"nextToken": first.body["nextToken"]})
		if r.status != http.StatusBadRequest {
			t.Errorf("status %d: %v", r.status, r.body)
		}
	})
}

func TestServerPagination(t *testing.T) {
	w := newWire(t, drssim.Options{Seed: 5}, 5)
	tests := []struct {
		name       string
		maxResults int
		pages      []int
	}{
		{"pages of 2", 2, []int{2, 2, 1}},
		{"one page of 5", 5, []int{5}},
		{"beyond the end", 10, []int{5}},
		{"pages of 1", 1, []int{1, 1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var sizes []int
			req := map[string]any{"maxResults": tt.maxResults}
			for {
				r := w.post(t, drssim.APIDescribeSourceServers, req)
				page := items(t, r)
				sizes = append(sizes, len(page))
				got = append(got, ids(page, "sourceServerID")...)
				tok, ok := r.body["nextToken"].(string)
				if !ok {
					break
				}
				req["nextToken"] = tok
			}
			if !slices.Equal(sizes, tt.pages) || !slices.Equal(got, w.ids) {
				t.Errorf("pages %v with %v, want %v with %v", sizes, got, tt.pages, w.ids)
			}
		})
	}
	t.Run("new jobs between pages", func(t *testing.T) {
		var started []string
		for _, id := range w.ids[:3] {
			r := w.post(t, drssim.APIStartRecovery, map[string]any{"sourceServers": []map[string]string{{"sourceServerID": id}}})
			started = append(started, r.body["job"].(map[string]any)["jobID"].(string))
			w.clock.Advance(time.Second)
		}
		first := w.post(t, drssim.APIDescribeJobs, map[string]any{"maxResults": 2})
		seen := ids(items(t, first), "jobID")
		w.post(t, drssim.APIStartRecovery, map[string]any{"sourceServers": []map[string]string{{"sourceServerID": w.ids[4]}}})
		rest := w.post(t, drssim.APIDescribeJobs, map[string]any{"maxResults": 2, "nextToken": first.body["nextToken"]})
		seen = append(seen, ids(items(t, rest), "jobID")...)
		slices.Reverse(started)
		if !slices.Equal(seen, started) {
			t.Errorf("jobs across pages %v, want %v once each", seen, started)
		}
	})
}

func TestServerPlacesCallsByCredentialScope(t *testing.T) {
	w := newWire(t, drssim.Options{Seed: 6}, 1)
	other := drsorchtest.SourceServers("db", 2)
	for i := range other {
		other[i].AccountID, other[i].Region = "111122223333", "eu-west-1"
	}
	if err := w.sim.AddSourceServers(other...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		auth string
		want int
	}{
		{"default account and region", authFor("AKIDEXAMPLE", "us-east-1"), 1},
		{"unsigned", "", 1},
		{"12-digit key and its region", authFor("111122223333", "eu-west-1"), 2},
		{"12-digit key in another region", authFor("111122223333", "us-east-1"), 0},
		{"other key in that region", authFor("AKIDEXAMPLE", "eu-west-1"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.do(t, http.MethodPost, "/DescribeSourceServers", tt.auth, map[string]any{})
			if got := len(items(t, r)); got != tt.want {
				t.Errorf("%d servers, want %d", got, tt.want)
			}
		})
	}
	r := w.do(t, http.MethodPost, "/DescribeSourceServers", authFor("111122223333", "eu-west-1"), map[string]any{})
	if a := items(t, r)[0]["arn"]; !strings.HasPrefix(a.(string), "arn:aws:drs:eu-west-1:111122223333:source-server/") {
		t.Errorf("arn = %v", a)
	}
}

func TestServerSnapshots(t *testing.T) {
	w := newWire(t, drssim.Options{Seed: 7}, 1)
	from := drsorchtest.Epoch.Add(-time.Hour).Format(time.RFC3339)
	for _, order := range []string{"DESC", "ASC"} {
		t.Run(order, func(t *testing.T) {
			r := w.post(t, drssim.APIDescribeRecoverySnapshots, map[string]any{
				"sourceServerID": w.ids[0], "order": order, "filters": map[string]any{"fromDateTime": from},
			})
			snaps := items(t, r)
			if len(snaps) != 7 {
				t.Fatalf("%d snapshots in the last hour (both ends included), want 7", len(snaps))
			}
			var ts []string
			for _, s := range snaps {
				ts = append(ts, s["timestamp"].(string))
				if !strings.HasPrefix(s["snapshotID"].(string), "pit-") {
					t.Errorf("snapshotID %v", s["snapshotID"])
				}
			}
			sorted := slices.IsSorted(ts)
			if (order == "ASC") != sorted {
				t.Errorf("%s order gave %v", order, ts)
			}
		})
	}
}

// readOnlyBodies hides the WriteTo of the SDK's request bodies, which races
// with net/http against a server this fast (see the drs adapter's bodyReadClient).
type readOnlyBodies struct{ c aws.HTTPClient }

func (h readOnlyBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.c.Do(r)
}

// TestServerSDK pins the wire format against the SDK's own deserializers:
// paginators read every page and each exception decodes into its typed error.
func TestServerSDK(t *testing.T) {
	w := newWire(t, drssim.Options{Seed: 8}, 7)
	client := awsdrs.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(w.srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   readOnlyBodies{awshttp.NewBuildableClient()},
	})

	t.Run("paginator reads every page", func(t *testing.T) {
		p := awsdrs.NewDescribeSourceServersPaginator(client, &awsdrs.DescribeSourceServersInput{}, func(o *awsdrs.DescribeSourceServersPaginatorOptions) { o.Limit = 3 })
		var got []string
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, s := range out.Items {
				got = append(got, aws.ToString(s.SourceServerID))
				if s.SourceProperties == nil || aws.ToString(s.SourceProperties.IdentificationHints.Hostname) == "" {
					t.Errorf("server %s without hostname", aws.ToString(s.SourceServerID))
				}
			}
		}
		if pages != 3 || !slices.Equal(got, w.ids) {
			t.Errorf("%d pages with %v, want 3 with %v", pages, got, w.ids)
		}
	})

	t.Run("StartRecovery", func(t *testing.T) {
		out, err := client.StartRecovery(ctx, &awsdrs.StartRecoveryInput{
			SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(w.ids[0])}},
			IsDrill:       aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.Job == nil || out.Job.Status != types.JobStatusPending || out.Job.Type != types.JobTypeLaunch || out.Job.InitiatedBy != types.InitiatedByStartDrill {
			t.Fatalf("job = %+v", out.Job)
		}
		if len(out.Job.ParticipatingServers) != 1 || out.Job.ParticipatingServers[0].LaunchStatus != types.LaunchStatusPending {
			t.Errorf("participating servers = %+v", out.Job.ParticipatingServers)
		}
	})

	typed := []struct {
		name  string
		fault string
		check func(error) bool
	}{
		{"ConflictException", drssim.ConflictException, func(err error) bool { var e *types.ConflictException; return errors.As(err, &e) }},
		{"ServiceQuotaExceededException", drssim.ServiceQuotaExceededException, func(err error) bool {
			var e *types.ServiceQuotaExceededException
			return errors.As(err, &e)
		}},
		{"ThrottlingException", drssim.ThrottlingException, func(err error) bool { var e *types.ThrottlingException; return errors.As(err, &e) }},
		{"InternalServerException", drssim.InternalServerException, func(err error) bool {
			var e *types.InternalServerException
			return errors.As(err, &e)
		}},
		{"UninitializedAccountException", drssim.UninitializedAccountException, func(err error) bool {
			var e *types.UninitializedAccountException
			return errors.As(err, &e)
		}},
	}
	for _, tt := range typed {
		t.Run(tt.name, func(t *testing.T) {
			if err := w.sim.AddFault(drssim.Fault{API: drssim.APIStartRecovery, Error: tt.fault}); err != nil {
				t.Fatal(err)
			}
			_, err := client.StartRecovery(ctx, &awsdrs.StartRecoveryInput{
				SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(w.ids[1])}},
			})
			if !tt.check(err) {
				t.Fatalf("error %v (%T) is not a %s", err, err, tt.name)
			}
		})
	}

	t.Run("quota exceeded for real", func(t *testing.T) {
		var servers []types.StartRecoveryRequestSourceServer
		for _, s := range drsorchtest.SourceServers("big", drsorch.MaxServersPerJob+1) {
			s.SourceServerID = "s-b" + s.SourceServerID[3:]
			if err := w.sim.AddSourceServers(s); err != nil {
				t.Fatal(err)
			}
			servers = append(servers, types.StartRecoveryRequestSourceServer{SourceServerID: aws.String(s.SourceServerID)})
		}
		_, err := client.StartRecovery(ctx, &awsdrs.StartRecoveryInput{SourceServers: servers})
		var e *types.ServiceQuotaExceededException
		if !errors.As(err, &e) || !strings.Contains(e.ErrorMessage(), "100") {
			t.Fatalf("error %v, want a ServiceQuotaExceededException about 100 servers", err)
		}
	})
}
