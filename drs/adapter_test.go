package drs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drs"
)

var ctx = context.Background()

var home = drsorch.Target{AccountID: "123456789012", Region: "eu-west-1"}

func newFakeAdapter(fk *fakes, o drs.Options) *drs.Adapter {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	return drs.New(cfg, fk.options(o))
}

func TestStartRecoveryMapping(t *testing.T) {
	fk := &fakes{setup: func(f *fakeDRS) {
		f.startRecovery = func(in *awsdrs.StartRecoveryInput) (*awsdrs.StartRecoveryOutput, error) {
			return &awsdrs.StartRecoveryOutput{Job: &types.Job{
				JobID:            aws.String("drsjob-1234567890abcdefg"),
				Arn:              aws.String("arn:aws:drs:eu-west-1:123456789012:job/drsjob-1234567890abcdefg"),
				Type:             types.JobTypeLaunch,
				Status:           types.JobStatusPending,
				InitiatedBy:      types.InitiatedByStartDrill,
				CreationDateTime: aws.String("2026-01-01T10:00:00.123456+00:00"),
				ParticipatingServers: []types.ParticipatingServer{
					{SourceServerID: in.SourceServers[0].SourceServerID, LaunchStatus: types.LaunchStatusPending},
					{SourceServerID: in.SourceServers[1].SourceServerID, LaunchStatus: types.LaunchStatusPending},
				},
				Tags: in.Tags,
			}}, nil
		}
	}}
	a := newFakeAdapter(fk, drs.Options{DisableEC2: true})
	in := drsorch.StartRecoveryInput{
		SourceServers: []drsorch.StartRecoveryServer{
			{SourceServerID: "s-1111111111111111a"},
			{SourceServerID: "s-2222222222222222b", RecoverySnapshotID: "pit-0123456789abcdef0"},
		},
		IsDrill: true,
		Tags:    map[string]string{"drsorch:executionId": "exec-1"},
	}
	job, err := a.StartRecovery(ctx, home, in)
	if err != nil {
		t.Fatal(err)
	}
	want := drsorch.Job{
		JobID:            "drsjob-1234567890abcdefg",
		Type:             drsorch.JobLaunch,
		Status:           drsorch.JobPending,
		InitiatedBy:      "START_DRILL",
		CreationDateTime: time.Date(2026, 1, 1, 10, 0, 0, 123456000, time.UTC),
		ParticipatingServers: []drsorch.ParticipatingServer{
			{SourceServerID: "s-1111111111111111a", LaunchStatus: drsorch.LaunchPending},
			{SourceServerID: "s-2222222222222222b", LaunchStatus: drsorch.LaunchPending},
		},
		Tags:      map[string]string{"drsorch:executionId": "exec-1"},
		Region:    "eu-west-1",
		AccountID: "123456789012",
	}
	if !reflect.DeepEqual(job, want) {
		t.Errorf("job = %+v\nwant  %+v", job, want)
	}

	calls := fk.lastDRS().recorded()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	req := calls[0].in.(*awsdrs.StartRecoveryInput)
	if !aws.ToBool(req.IsDrill) || len(req.SourceServers) != 2 || req.Tags["drsorch:executionId"] != "exec-1" {
		t.Errorf("request = %+v", req)
	}
	if req.SourceServers[0].RecoverySnapshotID != nil || aws.ToString(req.SourceServers[1].RecoverySnapshotID) != "pit-0123456789abcdef0" {
		t.Errorf("snapshot ids = %v, %v", req.SourceServers[0].RecoverySnapshotID, req.SourceServers[1].RecoverySnapshotID)
	}
	if calls[0].opts.Retryer == nil || calls[0].opts.Retryer.IsErrorRetryable(&smithy.GenericAPIError{Code: "InternalServerException"}) {
		t.Error("StartRecovery is not limited to retrying throttling")
	}
	if calls[0].creds.AccessKeyID != "AKIDEXAMPLE" {
		t.Errorf("credentials %q, want the default ones", calls[0].creds.AccessKeyID)
	}
	if got := fk.lastDRS().cfg.Region; got != "eu-west-1" {
		t.Errorf("client region %q, want eu-west-1", got)
	}
}

func TestDescribeMapping(t *testing.T) {
	ts := func(s string) *string { return aws.String(s) }
	fk := &fakes{setup: func(f *fakeDRS) {
		f.describeJobs = func(in *awsdrs.DescribeJobsInput) (*awsdrs.DescribeJobsOutput, error) {
			return &awsdrs.DescribeJobsOutput{Items: []types.Job{{
				JobID: ts("drsjob-aaaaaaaaaaaaaaaaa"), Arn: ts("arn:aws:drs:eu-west-1:444455556666:job/drsjob-aaaaaaaaaaaaaaaaa"),
				Type: types.JobTypeTerminate, Status: types.JobStatusCompleted, InitiatedBy: types.InitiatedByTerminateRecoveryInstances,
				CreationDateTime: ts("2026-01-01T00:00:00Z"), EndDateTime: ts("2026-01-01T00:02:00.5Z"),
				ParticipatingServers: []types.ParticipatingServer{{SourceServerID: ts("s-1111111111111111a"), LaunchStatus: types.LaunchStatusTerminated, RecoveryInstanceID: ts("i-0123456789abcdef0")}},
			}}}, nil
		}
		f.describeJobLogItems = func(*awsdrs.DescribeJobLogItemsInput) (*awsdrs.DescribeJobLogItemsOutput, error) {
			return &awsdrs.DescribeJobLogItemsOutput{Items: []types.JobLog{
				{Event: types.JobLogEventJobStart, LogDateTime: ts("2026-01-01T00:00:20Z")},
				{Event: types.JobLogEventLaunchFailed, LogDateTime: ts("2026-01-01T00:10:00Z"), EventData: &types.JobLogEventData{
					SourceServerID: ts("s-1111111111111111a"), RawError: ts("InsufficientInstanceCapacity"), ConversionServerID: ts("i-0000000000000000c"), TargetInstanceID: ts("i-0123456789abcdef0")}},
			}}, nil
		}
		f.describeSourceServers = func(*awsdrs.DescribeSourceServersInput) (*awsdrs.DescribeSourceServersOutput, error) {
			return &awsdrs.DescribeSourceServersOutput{Items: []types.SourceServer{{
				SourceServerID:      ts("s-1111111111111111a"),
				Tags:                map[string]string{"Name": "db1"},
				DataReplicationInfo: &types.DataReplicationInfo{DataReplicationState: types.DataReplicationStateContinuous},
				SourceProperties: &types.SourceProperties{
					IdentificationHints: &types.IdentificationHints{Hostname: ts("db1.corp"), AwsInstanceID: ts("i-0aaaaaaaaaaaaaaaa")},
					NetworkInterfaces:   []types.NetworkInterface{{Ips: []string{"192.168.0.9"}}, {Ips: []string{"10.0.0.5"}, IsPrimary: aws.Bool(true)}},
				},
			}}}, nil
		}
		f.describeRecoverySnapshots = func(*awsdrs.DescribeRecoverySnapshotsInput) (*awsdrs.DescribeRecoverySnapshotsOutput, error) {
			return &awsdrs.DescribeRecoverySnapshotsOutput{Items: []types.RecoverySnapshot{{
				SnapshotID: ts("pit-0123456789abcdef0"), SourceServerID: ts("s-1111111111111111a"),
				Timestamp: ts("2026-01-01T00:10:00Z"), ExpectedTimestamp: ts("2026-01-01T00:10:00Z"),
			}}}, nil
		}
	}}
	a := newFakeAdapter(fk, drs.Options{DisableEC2: true})
	noAccount := drsorch.Target{Region: "eu-west-1"}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }

	t.Run("DescribeJobs", func(t *testing.T) {
		from, to := at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00.25Z")
		jobs, err := a.DescribeJobs(ctx, noAccount, drsorch.JobFilter{JobIDs: []string{"drsjob-aaaaaaaaaaaaaaaaa"}, FromDate: from, ToDate: to})
		if err != nil {
			t.Fatal(err)
		}
		want := []drsorch.Job{{
			JobID: "drsjob-aaaaaaaaaaaaaaaaa", Type: drsorch.JobTerminate, Status: drsorch.JobCompleted, InitiatedBy: "TERMINATE_RECOVERY_INSTANCES",
			CreationDateTime: at("2026-01-01T00:00:00Z"), EndDateTime: at("2026-01-01T00:02:00.5Z"),
			ParticipatingServers: []drsorch.ParticipatingServer{{SourceServerID: "s-1111111111111111a", LaunchStatus: drsorch.LaunchTerminated, RecoveryInstanceID: "i-0123456789abcdef0"}},
			Region:               "eu-west-1", AccountID: "444455556666",
		}}
		if !reflect.DeepEqual(jobs, want) {
			t.Errorf("jobs = %+v\nwant   %+v", jobs, want)
		}
		req := fk.lastDRS().recorded()[0].in.(*awsdrs.DescribeJobsInput)
		if f := req.Filters; f == nil || aws.ToString(f.FromDate) != "2026-01-01T00:00:00Z" || aws.ToString(f.ToDate) != "2026-01-02T00:00:00.25Z" || len(f.JobIDs) != 1 {
			t.Errorf("filters = %+v", req.Filters)
		}
	})

	t.Run("DescribeJobs without a filter sends none", func(t *testing.T) {
		if _, err := a.DescribeJobs(ctx, noAccount, drsorch.JobFilter{}); err != nil {
			t.Fatal(err)
		}
		calls := fk.lastDRS().recorded()
		if req := calls[len(calls)-1].in.(*awsdrs.DescribeJobsInput); req.Filters != nil {
			t.Errorf("filters = %+v", req.Filters)
		}
	})

	t.Run("DescribeJobLogItems", func(t *testing.T) {
		items, err := a.DescribeJobLogItems(ctx, noAccount, "drsjob-aaaaaaaaaaaaaaaaa")
		if err != nil {
			t.Fatal(err)
		}
		want := []drsorch.JobLogItem{
			{Event: "JOB_START", LogDateTime: at("2026-01-01T00:00:20Z")},
			{Event: "LAUNCH_FAILED", LogDateTime: at("2026-01-01T00:10:00Z"), EventData: drsorch.JobEventData{
				SourceServerID: "s-1111111111111111a", RawError: "InsufficientInstanceCapacity", ConversionServerID: "i-0000000000000000c", TargetInstanceID: "i-0123456789abcdef0"}},
		}
		if !reflect.DeepEqual(items, want) {
			t.Errorf("items = %+v", items)
		}
	})

	t.Run("DescribeSourceServers", func(t *testing.T) {
		got, err := a.DescribeSourceServers(ctx, home, drsorch.SourceServerFilter{SourceServerIDs: []string{"s-1111111111111111a"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []drsorch.SourceServer{{
			SourceServerID: "s-1111111111111111a", Hostname: "db1.corp", Tags: map[string]string{"Name": "db1"},
			ReplicationState: "CONTINUOUS", SourceInstanceID: "i-0aaaaaaaaaaaaaaaa", IPAddress: "10.0.0.5",
			Region: "eu-west-1", AccountID: "123456789012",
		}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("servers = %+v\nwant      %+v", got, want)
		}
	})

	t.Run("DescribeRecoverySnapshots", func(t *testing.T) {
		got, err := a.DescribeRecoverySnapshots(ctx, home, drsorch.SnapshotFilter{SourceServerID: "s-1111111111111111a", FromDateTime: at("2026-01-01T00:00:00Z")})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].SnapshotID != "pit-0123456789abcdef0" || !got[0].Timestamp.Equal(at("2026-01-01T00:10:00Z")) {
			t.Errorf("snapshots = %+v", got)
		}
		calls := fk.lastDRS().recorded()
		req := calls[len(calls)-1].in.(*awsdrs.DescribeRecoverySnapshotsInput)
		if req.Order != types.RecoverySnapshotsOrderDesc || aws.ToString(req.Filters.FromDateTime) != "2026-01-01T00:00:00Z" || req.Filters.ToDateTime != nil {
			t.Errorf("request = %+v %+v", req, req.Filters)
		}
	})
}

func TestDescribeReadsEveryPage(t *testing.T) {
	const total = 7
	fk := &fakes{setup: func(f *fakeDRS) {
		f.describeSourceServers = func(in *awsdrs.DescribeSourceServersInput) (*awsdrs.DescribeSourceServersOutput, error) {
			start := 0
			if in.NextToken != nil {
				fmt.Sscan(*in.NextToken, &start)
			}
			size := int(aws.ToInt32(in.MaxResults))
			out := &awsdrs.DescribeSourceServersOutput{}
			for i := start; i < min(start+size, total); i++ {
				out.Items = append(out.Items, types.SourceServer{SourceServerID: aws.String(fmt.Sprintf("s-%017d", i))})
			}
			if start+size < total {
				out.NextToken = aws.String(fmt.Sprint(start + size))
			}
			return out, nil
		}
	}}
	a := newFakeAdapter(fk, drs.Options{DisableEC2: true, PageSize: 3})
	got, err := a.DescribeSourceServers(ctx, home, drsorch.SourceServerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != total {
		t.Fatalf("%d servers, want %d", len(got), total)
	}
	calls := fk.lastDRS().recorded()
	if len(calls) != 3 {
		t.Errorf("%d pages read, want 3", len(calls))
	}
	for _, c := range calls {
		if req := c.in.(*awsdrs.DescribeSourceServersInput); aws.ToInt32(req.MaxResults) != 3 || req.Filters != nil {
			t.Errorf("request maxResults %v filters %+v", req.MaxResults, req.Filters)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	api := func(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }
	tests := []struct {
		name     string
		err      error
		code     string
		awsError string
	}{
		{"throttled", &types.ThrottlingException{Message: aws.String("Rate exceeded")}, drsorch.CodeDRSThrottled, "ThrottlingException"},
		{"quota", &types.ServiceQuotaExceededException{Message: aws.String("100 servers per job")}, drsorch.CodeDRSQuota, "ServiceQuotaExceededException"},
		{"conflict", &types.ConflictException{Message: aws.String("busy")}, drsorch.CodeDRSConflict, "ConflictException"},
		{"validation", &types.ValidationException{Message: aws.String("bad")}, drsorch.CodeDRSValidation, "ValidationException"},
		{"not found", &types.ResourceNotFoundException{Message: aws.String("gone")}, drsorch.CodeDRSNotFound, "ResourceNotFoundException"},
		{"access denied", &types.AccessDeniedException{Message: aws.String("no")}, drsorch.CodeDRSAccess, "AccessDeniedException"},
		{"uninitialized", &types.UninitializedAccountException{Message: aws.String("init DRS")}, drsorch.CodeDRSAccess, "UninitializedAccountException"},
		{"internal", &types.InternalServerException{Message: aws.String("oops")}, drsorch.CodeDRSInternal, "InternalServerException"},
		{"unmodelled code", api("ResourceNotFoundException", "untyped"), drsorch.CodeDRSNotFound, "ResourceNotFoundException"},
		{"unknown code", api("SomethingNewException", "new"), drsorch.CodeDRS, "SomethingNewException"},
		{"network", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, drsorch.CodeDRS, ""},
		{"cancelled", context.Canceled, drsorch.CodeDRS, ""},
		{"invalid params", func() error {
			var e smithy.InvalidParamsError
			e.Add(smithy.NewErrParamRequired("SourceServers"))
			return e
		}(), drsorch.CodeDRSValidation, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fk := &fakes{setup: func(f *fakeDRS) {
				f.describeJobs = func(*awsdrs.DescribeJobsInput) (*awsdrs.DescribeJobsOutput, error) { return nil, tt.err }
			}}
			a := newFakeAdapter(fk, drs.Options{DisableEC2: true})
			_, err := a.DescribeJobs(ctx, home, drsorch.JobFilter{})
			var e *drsorch.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *drsorch.Error", err, err)
			}
			if e.Code != tt.code {
				t.Errorf("code = %s, want %s", e.Code, tt.code)
			}
			if got, _ := e.Details["awsError"].(string); got != tt.awsError {
				t.Errorf("awsError = %q, want %q", got, tt.awsError)
			}
			for _, part := range []string{"DescribeJobs", "123456789012", "eu-west-1"} {
				if !strings.Contains(e.Message, part) {
					t.Errorf("message %q does not name %s", e.Message, part)
				}
			}
			if errors.Unwrap(err) == nil {
				t.Errorf("the SDK error is not kept as the cause: %v", err)
			}
		})
	}
}

func TestAPILimits(t *testing.T) {
	n := func(k int, f string) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = fmt.Sprintf(f, i)
		}
		return out
	}
	servers := func(k int) []drsorch.StartRecoveryServer {
		out := make([]drsorch.StartRecoveryServer, k)
		for i := range out {
			out[i].SourceServerID = fmt.Sprintf("s-%017d", i)
		}
		return out
	}
	tests := []struct {
		name string
		call func(drsorch.DRS) error
	}{
		{"StartRecovery without servers", func(d drsorch.DRS) error {
			_, err := d.StartRecovery(ctx, home, drsorch.StartRecoveryInput{})
			return err
		}},
		{"StartRecovery with 201 servers", func(d drsorch.DRS) error {
			_, err := d.StartRecovery(ctx, home, drsorch.StartRecoveryInput{SourceServers: servers(201)})
			return err
		}},
		{"DescribeJobs with 1001 ids", func(d drsorch.DRS) error {
			_, err := d.DescribeJobs(ctx, home, drsorch.JobFilter{JobIDs: n(1001, "drsjob-%017d")})
			return err
		}},
		{"DescribeSourceServers with 201 ids", func(d drsorch.DRS) error {
			_, err := d.DescribeSourceServers(ctx, home, drsorch.SourceServerFilter{SourceServerIDs: n(201, "s-%017d")})
			return err
		}},
		{"DescribeRecoveryInstances with 201 instance ids", func(d drsorch.DRS) error {
			_, err := d.DescribeRecoveryInstances(ctx, home, drsorch.RecoveryInstanceFilter{RecoveryInstanceIDs: n(201, "i-%017d")})
			return err
		}},
		{"DescribeRecoveryInstances with 201 server ids", func(d drsorch.DRS) error {
			_, err := d.DescribeRecoveryInstances(ctx, home, drsorch.RecoveryInstanceFilter{SourceServerIDs: n(201, "s-%017d")})
			return err
		}},
		{"TerminateRecoveryInstances without ids", func(d drsorch.DRS) error {
			_, err := d.TerminateRecoveryInstances(ctx, home, nil)
			return err
		}},
		{"TerminateRecoveryInstances with 201 ids", func(d drsorch.DRS) error {
			_, err := d.TerminateRecoveryInstances(ctx, home, n(201, "i-%017d"))
			return err
		}},
		{"DescribeJobLogItems without a job", func(d drsorch.DRS) error {
			_, err := d.DescribeJobLogItems(ctx, home, "")
			return err
		}},
		{"DescribeRecoverySnapshots without a server", func(d drsorch.DRS) error {
			_, err := d.DescribeRecoverySnapshots(ctx, home, drsorch.SnapshotFilter{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fk := &fakes{}
			a := newFakeAdapter(fk, drs.Options{DisableEC2: true})
			err := tt.call(a)
			if drsorch.ErrorCode(err) != drsorch.CodeDRSValidation || drsorch.AsError(err).Details["awsError"] != "ValidationException" {
				t.Fatalf("error = %v, want DRS_VALIDATION with awsError ValidationException", err)
			}
			for _, f := range fk.drs {
				if c := f.recorded(); len(c) > 0 {
					t.Errorf("DRS was called: %v", c[0].op)
				}
			}
		})
	}
}

func TestEC2Enrichment(t *testing.T) {
	launch := time.Date(2026, 1, 1, 0, 18, 0, 0, time.UTC)
	instances := func(n int, state types.EC2InstanceState) []types.RecoveryInstance {
		out := make([]types.RecoveryInstance, n)
		for i := range out {
			id := aws.String(fmt.Sprintf("i-%017x", i))
			out[i] = types.RecoveryInstance{
				RecoveryInstanceID: id, Ec2InstanceID: id, Ec2InstanceState: state, SourceServerID: aws.String(fmt.Sprintf("s-%017d", i)),
				IsDrill: aws.Bool(true), RecoveryInstanceProperties: &types.RecoveryInstanceProperties{
					NetworkInterfaces: []types.NetworkInterface{{Ips: []string{"172.16.0.1"}, IsPrimary: aws.Bool(true)}},
				},
			}
		}
		return out
	}
	ec2Answer := func(in *ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
		var res ec2types.Reservation
		for _, id := range in.InstanceIds {
			res.Instances = append(res.Instances, ec2types.Instance{
				InstanceId: aws.String(id), InstanceType: ec2types.InstanceTypeM5Large, PrivateIpAddress: aws.String("10.1.2.3"),
				State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameShuttingDown}, LaunchTime: aws.Time(launch),
			})
		}
		return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{res}}, nil
	}

	t.Run("enriched in batches", func(t *testing.T) {
		fk := &fakes{ec2Call: ec2Answer, setup: func(f *fakeDRS) {
			f.describeRecoveryInstances = func(*awsdrs.DescribeRecoveryInstancesInput) (*awsdrs.DescribeRecoveryInstancesOutput, error) {
				return &awsdrs.DescribeRecoveryInstancesOutput{Items: instances(250, types.EC2InstanceStateRunning)}, nil
			}
		}}
		a := newFakeAdapter(fk, drs.Options{})
		got, err := a.DescribeRecoveryInstances(ctx, home, drsorch.RecoveryInstanceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 250 {
			t.Fatalf("%d instances", len(got))
		}
		want := drsorch.RecoveryInstance{
			RecoveryInstanceID: "i-00000000000000000", EC2InstanceID: "i-00000000000000000", EC2InstanceState: "SHUTTING-DOWN",
			SourceServerID: "s-00000000000000000", IsDrill: true, InstanceType: "m5.large", PrivateIP: "10.1.2.3", LaunchTime: launch,
			Region: "eu-west-1", AccountID: "123456789012",
		}
		if !reflect.DeepEqual(got[0], want) {
			t.Errorf("instance = %+v\nwant       %+v", got[0], want)
		}
		var sizes []int
		for _, b := range fk.ec2[0].batches {
			sizes = append(sizes, len(b))
		}
		if !reflect.DeepEqual(sizes, []int{100, 100, 50}) {
			t.Errorf("EC2 batches %v, want [100 100 50]", sizes)
		}
	})

	t.Run("instances DRS reports gone are not asked for", func(t *testing.T) {
		fk := &fakes{ec2Call: ec2Answer, setup: func(f *fakeDRS) {
			f.describeRecoveryInstances = func(*awsdrs.DescribeRecoveryInstancesInput) (*awsdrs.DescribeRecoveryInstancesOutput, error) {
				return &awsdrs.DescribeRecoveryInstancesOutput{Items: append(instances(1, types.EC2InstanceStateTerminated), instances(2, types.EC2InstanceStateNotFound)[1])}, nil
			}
		}}
		a := newFakeAdapter(fk, drs.Options{})
		got, err := a.DescribeRecoveryInstances(ctx, home, drsorch.RecoveryInstanceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fk.ec2[0].batches) != 0 || got[0].EC2InstanceState != "TERMINATED" || got[1].EC2InstanceState != "NOT_FOUND" {
			t.Errorf("batches %v, instances %+v", fk.ec2[0].batches, got)
		}
	})

	t.Run("an EC2 failure keeps the DRS data", func(t *testing.T) {
		var logs bytes.Buffer
		fk := &fakes{
			ec2Call: func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
				return nil, &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeInstances", Err: &smithy.GenericAPIError{Code: "UnauthorizedOperation"}}
			},
			setup: func(f *fakeDRS) {
				f.describeRecoveryInstances = func(*awsdrs.DescribeRecoveryInstancesInput) (*awsdrs.DescribeRecoveryInstancesOutput, error) {
					return &awsdrs.DescribeRecoveryInstancesOutput{Items: instances(2, types.EC2InstanceStateRunning)}, nil
				}
			},
		}
		a := newFakeAdapter(fk, drs.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		got, err := a.DescribeRecoveryInstances(ctx, home, drsorch.RecoveryInstanceFilter{})
		if err != nil {
			t.Fatalf("an EC2 failure failed the call: %v", err)
		}
		if len(got) != 2 || got[0].EC2InstanceState != "RUNNING" || got[0].PrivateIP != "172.16.0.1" || got[0].InstanceType != "" {
			t.Errorf("instances = %+v", got)
		}
		if !strings.Contains(logs.String(), "UnauthorizedOperation") || !strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("log = %q", logs.String())
		}
	})

	t.Run("disabled", func(t *testing.T) {
		fk := &fakes{ec2Call: ec2Answer, setup: func(f *fakeDRS) {
			f.describeRecoveryInstances = func(*awsdrs.DescribeRecoveryInstancesInput) (*awsdrs.DescribeRecoveryInstancesOutput, error) {
				return &awsdrs.DescribeRecoveryInstancesOutput{Items: instances(2, types.EC2InstanceStateRunning)}, nil
			}
		}}
		a := newFakeAdapter(fk, drs.Options{DisableEC2: true})
		got, err := a.DescribeRecoveryInstances(ctx, home, drsorch.RecoveryInstanceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fk.ec2) != 0 || got[0].InstanceType != "" || got[0].PrivateIP != "172.16.0.1" {
			t.Errorf("EC2 clients %d, instance %+v", len(fk.ec2), got[0])
		}
	})
}

func TestAccountContexts(t *testing.T) {
	role := "arn:aws:iam::222233334444:role/DRSOrchestrationCrossAccountRole"
	cross := drsorch.Target{AccountID: "222233334444", Region: "us-west-2", RoleARN: role, ExternalID: "ext-secret"}

	t.Run("clients are made once per account context and region", func(t *testing.T) {
		fk := &fakes{}
		a := newFakeAdapter(fk, drs.Options{})
		targets := []drsorch.Target{home, home, {AccountID: "123456789012", Region: "us-east-1"}, cross, cross,
			{AccountID: "222233334444", Region: "eu-west-1", RoleARN: role, ExternalID: "ext-secret"}}
		for _, tg := range targets {
			if _, err := a.DescribeSourceServers(ctx, tg, drsorch.SourceServerFilter{}); err != nil {
				t.Fatal(err)
			}
		}
		var regions []string
		for _, f := range fk.drs {
			regions = append(regions, f.cfg.Region)
		}
		if !reflect.DeepEqual(regions, []string{"eu-west-1", "us-east-1", "us-west-2", "eu-west-1"}) {
			t.Errorf("DRS clients in %v", regions)
		}
		if len(fk.ec2) != len(fk.drs) {
			t.Errorf("%d EC2 clients for %d DRS clients", len(fk.ec2), len(fk.drs))
		}
		calls := fk.sts.recorded()
		if len(calls) != 1 {
			t.Fatalf("AssumeRole called %d times, want once (cached across calls and regions)", len(calls))
		}
		in := calls[0]
		if aws.ToString(in.RoleArn) != role || aws.ToString(in.ExternalId) != "ext-secret" || aws.ToString(in.RoleSessionName) != "drsorch-1767225600" {
			t.Errorf("AssumeRole(%s, %s, %s)", aws.ToString(in.RoleArn), aws.ToString(in.ExternalId), aws.ToString(in.RoleSessionName))
		}
		for _, f := range fk.drs[2:] {
			if c := f.recorded(); c[0].creds.AccessKeyID != "ASIA000000000001" || c[0].creds.SessionToken != "token-1" {
				t.Errorf("cross-account call signed with %+v", c[0].creds)
			}
		}
		if c := fk.drs[0].recorded(); c[0].creds.AccessKeyID != "AKIDEXAMPLE" {
			t.Errorf("home call signed with %q", c[0].creds.AccessKeyID)
		}
	})

	t.Run("credentials are refreshed before they expire", func(t *testing.T) {
		fk := &fakes{sts: &fakeSTS{ttl: 30 * time.Second}}
		a := newFakeAdapter(fk, drs.Options{})
		for range 3 {
			if _, err := a.DescribeJobs(ctx, cross, drsorch.JobFilter{}); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(fk.sts.recorded()); n != 3 {
			t.Errorf("AssumeRole called %d times for credentials inside their expiry window, want 3", n)
		}
	})

	t.Run("no external id", func(t *testing.T) {
		fk := &fakes{}
		a := newFakeAdapter(fk, drs.Options{})
		tg := cross
		tg.ExternalID = ""
		if _, err := a.DescribeJobs(ctx, tg, drsorch.JobFilter{}); err != nil {
			t.Fatal(err)
		}
		if in := fk.sts.recorded()[0]; in.ExternalId != nil {
			t.Errorf("ExternalId = %q, want none", *in.ExternalId)
		}
	})

	t.Run("AssumeRole failure is access denied", func(t *testing.T) {
		fk := &fakes{sts: &fakeSTS{err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}}}
		a := newFakeAdapter(fk, drs.Options{})
		_, err := a.StartRecovery(ctx, cross, drsorch.StartRecoveryInput{SourceServers: []drsorch.StartRecoveryServer{{SourceServerID: "s-1111111111111111a"}}})
		e := drsorch.AsError(err)
		if e.Code != drsorch.CodeDRSAccess || e.Details["awsError"] != "AccessDenied" {
			t.Fatalf("error = %v %v, want DRS_ACCESS_DENIED with awsError AccessDenied", err, e.Details)
		}
		for _, part := range []string{"StartRecovery", "222233334444", "us-west-2", role} {
			if !strings.Contains(e.Message, part) {
				t.Errorf("message %q does not name %s", e.Message, part)
			}
		}
		if strings.Contains(err.Error(), "ext-secret") {
			t.Errorf("the external id leaked: %v", err)
		}
	})

	bad := []struct {
		name string
		t    drsorch.Target
	}{
		{"role of another account", drsorch.Target{AccountID: "999999999999", Region: "us-west-2", RoleARN: role}},
		{"not an ARN", drsorch.Target{AccountID: "222233334444", Region: "us-west-2", RoleARN: "DRSOrchestrationCrossAccountRole"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			fk := &fakes{}
			a := newFakeAdapter(fk, drs.Options{})
			_, err := a.DescribeJobs(ctx, tt.t, drsorch.JobFilter{})
			if drsorch.ErrorCode(err) != drsorch.CodeDRSAccess {
				t.Fatalf("error = %v, want DRS_ACCESS_DENIED", err)
			}
			if len(fk.drs) != 0 || len(fk.sts.recorded()) != 0 {
				t.Error("a client was made or a role assumed")
			}
		})
	}

	t.Run("no region anywhere", func(t *testing.T) {
		fk := &fakes{}
		a := drs.New(aws.Config{}, fk.options(drs.Options{}))
		_, err := a.DescribeJobs(ctx, drsorch.Target{}, drsorch.JobFilter{})
		if drsorch.ErrorCode(err) != drsorch.CodeDRSValidation {
			t.Fatalf("error = %v, want DRS_VALIDATION", err)
		}
	})
}

func TestRetryer(t *testing.T) {
	tests := []struct {
		name                    string
		err                     error
		retried, retriedMutated bool
	}{
		{"ThrottlingException", &types.ThrottlingException{Message: aws.String("Rate exceeded")}, true, true},
		{"untyped throttling", &smithy.GenericAPIError{Code: "ThrottlingException"}, true, true},
		{"HTTP 500", &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusInternalServerError}},
			Err:      &types.InternalServerException{Message: aws.String("oops")},
		}}, true, false},
		{"ConflictException", &types.ConflictException{}, false, false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true, false},
	}
	all, throttleOnly := drs.NewRetryer(10, time.Second, false), drs.NewRetryer(10, time.Second, true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := all.IsErrorRetryable(tt.err); got != tt.retried {
				t.Errorf("retried = %v, want %v", got, tt.retried)
			}
			if got := throttleOnly.IsErrorRetryable(tt.err); got != tt.retriedMutated {
				t.Errorf("throttle-only retried = %v, want %v", got, tt.retriedMutated)
			}
		})
	}
	if all.MaxAttempts() != 10 {
		t.Errorf("MaxAttempts = %d", all.MaxAttempts())
	}
	for attempt := 1; attempt < 10; attempt++ {
		d, err := all.RetryDelay(attempt, &types.ThrottlingException{})
		if err != nil || d < 0 || d > time.Second {
			t.Errorf("attempt %d: delay %v, %v; want within [0, 1s]", attempt, d, err)
		}
	}
}

func TestEC2FromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"real AWS", map[string]string{}, true},
		{"DRS endpoint only", map[string]string{"AWS_ENDPOINT_URL_DRS": "http://127.0.0.1:8081"}, false},
		{"DRS and EC2 endpoints", map[string]string{"AWS_ENDPOINT_URL_DRS": "http://127.0.0.1:8081", "AWS_ENDPOINT_URL_EC2": "http://127.0.0.1:4566"}, true},
		{"global endpoint", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, true},
		{"endpoints ignored", map[string]string{"AWS_ENDPOINT_URL_DRS": "http://127.0.0.1:8081", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, true},
		{"empty DRS endpoint", map[string]string{"AWS_ENDPOINT_URL_DRS": ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := drs.EC2FromEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if got != tt.want {
				t.Errorf("EC2FromEnv = %v, want %v", got, tt.want)
			}
		})
	}
}
