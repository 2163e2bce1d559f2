package drs_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/drsorch/drsorch/drs"
)

// fakeDRS is a DRSAPI whose answers are func fields; unset ones answer empty.
// Like the SDK's signer it resolves the config's credentials on every call.
type fakeDRS struct {
	cfg aws.Config

	mu    sync.Mutex
	calls []fakeCall

	startRecovery              func(*awsdrs.StartRecoveryInput) (*awsdrs.StartRecoveryOutput, error)
	describeJobs               func(*awsdrs.DescribeJobsInput) (*awsdrs.DescribeJobsOutput, error)
	describeJobLogItems        func(*awsdrs.DescribeJobLogItemsInput) (*awsdrs.DescribeJobLogItemsOutput, error)
	describeRecoveryInstances  func(*awsdrs.DescribeRecoveryInstancesInput) (*awsdrs.DescribeRecoveryInstancesOutput, error)
	describeSourceServers      func(*awsdrs.DescribeSourceServersInput) (*awsdrs.DescribeSourceServersOutput, error)
	describeRecoverySnapshots  func(*awsdrs.DescribeRecoverySnapshotsInput) (*awsdrs.DescribeRecoverySnapshotsOutput, error)
	terminateRecoveryInstances func(*awsdrs.TerminateRecoveryInstancesInput) (*awsdrs.TerminateRecoveryInstancesOutput, error)
}

type fakeCall struct {
	op    string
	in    any
	creds aws.Credentials
	opts  awsdrs.Options // the per-call options applied to a zero Options
}

// call records a call and resolves the credentials the way signing does.
func (f *fakeDRS) call(ctx context.Context, op string, in any, optFns []func(*awsdrs.Options)) error {
	c := fakeCall{op: op, in: in}
	for _, fn := range optFns {
		fn(&c.opts)
	}
	if f.cfg.Credentials != nil {
		creds, err := f.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return &smithy.OperationError{ServiceID: "drs", OperationName: op, Err: fmt.Errorf("get identity: %w", err)}
		}
		c.creds = creds
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	return nil
}

func (f *fakeDRS) recorded() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func answer[I, O any](ctx context.Context, f *fakeDRS, op string, in *I, optFns []func(*awsdrs.Options), fn func(*I) (*O, error)) (*O, error) {
	if err := f.call(ctx, op, in, optFns); err != nil {
		return nil, err
	}
	if fn == nil {
		return new(O), nil
	}
	out, err := fn(in)
	if err != nil {
		return nil, &smithy.OperationError{ServiceID: "drs", OperationName: op, Err: err}
	}
	return out, nil
}

func (f *fakeDRS) StartRecovery(ctx context.Context, in *awsdrs.StartRecoveryInput, o ...func(*awsdrs.Options)) (*awsdrs.StartRecoveryOutput, error) {
	return answer(ctx, f, "StartRecovery", in, o, f.startRecovery)
}

func (f *fakeDRS) DescribeJobs(ctx context.Context, in *awsdrs.DescribeJobsInput, o ...func(*awsdrs.Options)) (*awsdrs.DescribeJobsOutput, error) {
	return answer(ctx, f, "DescribeJobs", in, o, f.describeJobs)
}

func (f *fakeDRS) DescribeJobLogItems(ctx context.Context, in *awsdrs.DescribeJobLogItemsInput, o ...func(*awsdrs.Options)) (*awsdrs.DescribeJobLogItemsOutput, error) {
	return answer(ctx, f, "DescribeJobLogItems", in, o, f.describeJobLogItems)
}

func (f *fakeDRS) DescribeRecoveryInstances(ctx context.Context, in *awsdrs.DescribeRecoveryInstancesInput, o ...func(*awsdrs.Options)) (*awsdrs.DescribeRecoveryInstancesOutput, error) {
	return answer(ctx, f, "DescribeRecoveryInstances", in, o, f.describeRecoveryInstances)
}

func (f *fakeDRS) DescribeSourceServers(ctx context.Context, in *awsdrs.DescribeSourceServersInput, o ...func(*awsdrs.Options)) (*awsdrs.DescribeSourceServersOutput, error) {
	return answer(ctx, f, "DescribeSourceServers", in, o, f.describeSourceServers)
}

func (f *fakeDRS) DescribeRecoverySnapshots(ctx context.Context, in *awsdrs.DescribeRecoverySnapshotsInput, o ...func(*awsdrs.Options)) (*awsdrs.DescribeRecoverySnapshotsOutput, error) {
	return answer(ctx, f, "DescribeRecoverySnapshots", in, o, f.describeRecoverySnapshots)
}

func (f *fakeDRS) TerminateRecoveryInstances(ctx context.Context, in *awsdrs.TerminateRecoveryInstancesInput, o ...func(*awsdrs.Options)) (*awsdrs.TerminateRecoveryInstancesOutput, error) {
	return answer(ctx, f, "TerminateRecoveryInstances", in, o, f.terminateRecoveryInstances)
}

// fakeEC2 answers DescribeInstances from a map of instances.
type fakeEC2 struct {
	mu       sync.Mutex
	batches  [][]string
	describe func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error)
}

func (f *fakeEC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	f.batches = append(f.batches, append([]string(nil), in.InstanceIds...))
	f.mu.Unlock()
	if f.describe == nil {
		return &ec2.DescribeInstancesOutput{}, nil
	}
	return f.describe(in)
}

// fakeSTS answers AssumeRole with credentials lasting ttl, or fails with err.
type fakeSTS struct {
	mu    sync.Mutex
	calls []*sts.AssumeRoleInput
	ttl   time.Duration
	err   error
}

func (f *fakeSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	n := len(f.calls)
	f.mu.Unlock()
	if f.err != nil {
		return nil, &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole", Err: f.err}
	}
	ttl := f.ttl
	if ttl == 0 {
		ttl = time.Hour
	}
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId:     aws.String(fmt.Sprintf("ASIA%012d", n)),
		SecretAccessKey: aws.String("secret"),
		SessionToken:    aws.String(fmt.Sprintf("token-%d", n)),
		Expiration:      aws.Time(time.Now().Add(ttl)),
	}}, nil
}

func (f *fakeSTS) recorded() []*sts.AssumeRoleInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*sts.AssumeRoleInput(nil), f.calls...)
}

// fakes builds an Adapter whose clients are fakes, recording each DRS client made.
type fakes struct {
	mu      sync.Mutex
	drs     []*fakeDRS
	ec2     []*fakeEC2
	sts     *fakeSTS
	setup   func(*fakeDRS)
	ec2Call func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error)
}

func (fk *fakes) options(o drs.Options) drs.Options {
	if fk.sts == nil {
		fk.sts = &fakeSTS{}
	}
	o.NewDRS = func(cfg aws.Config) drs.DRSAPI {
		f := &fakeDRS{cfg: cfg}
		if fk.setup != nil {
			fk.setup(f)
		}
		fk.mu.Lock()
		fk.drs = append(fk.drs, f)
		fk.mu.Unlock()
		return f
	}
	o.NewEC2 = func(aws.Config) drs.EC2API {
		f := &fakeEC2{describe: fk.ec2Call}
		fk.mu.Lock()
		fk.ec2 = append(fk.ec2, f)
		fk.mu.Unlock()
		return f
	}
	o.NewSTS = func(aws.Config) drs.STSAPI { return fk.sts }
	if o.Now == nil {
		o.Now = func() time.Time { return time.Unix(1767225600, 0) }
	}
	return o
}

func (fk *fakes) lastDRS() *fakeDRS {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	return fk.drs[len(fk.drs)-1]
}
