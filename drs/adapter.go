// Package drs is the drsorch.DRS port on AWS Elastic Disaster Recovery,
// through aws-sdk-go-v2.
//
// An Adapter keeps one set of SDK clients per account context and region,
// created on first use. A Target with a RoleARN is reached by STS AssumeRole
// with the target's external id; the assumed credentials are cached and
// refreshed before they expire. Every Describe reads all pages with the SDK's
// paginators. Calls are retried on throttling with capped exponential backoff
// and full jitter; StartRecovery and TerminateRecoveryInstances, which are not
// idempotent, are retried on throttling only. Failures are *drsorch.Error with
// a DRS_* code and the AWS exception name in Details["awsError"].
//
// Recovery instances are enriched with EC2's view (instance type, private IP,
// state, launch time) in the same account context, unless Options.DisableEC2
// is set; an EC2 failure is logged and the DRS data is returned as is.
package drs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/drsorch/drsorch"
)

// DRSAPI is the part of the DRS client the adapter uses.
type DRSAPI interface {
	StartRecovery(ctx context.Context, in *awsdrs.StartRecoveryInput, optFns ...func(*awsdrs.Options)) (*awsdrs.StartRecoveryOutput, error)
	DescribeJobs(ctx context.Context, in *awsdrs.DescribeJobsInput, optFns ...func(*awsdrs.Options)) (*awsdrs.DescribeJobsOutput, error)
	DescribeJobLogItems(ctx context.Context, in *awsdrs.DescribeJobLogItemsInput, optFns ...func(*awsdrs.Options)) (*awsdrs.DescribeJobLogItemsOutput, error)
	DescribeRecoveryInstances(ctx context.Context, in *awsdrs.DescribeRecoveryInstancesInput, optFns ...func(*awsdrs.Options)) (*awsdrs.DescribeRecoveryInstancesOutput, error)
	DescribeSourceServers(ctx context.Context, in *awsdrs.DescribeSourceServersInput, optFns ...func(*awsdrs.Options)) (*awsdrs.DescribeSourceServersOutput, error)
	DescribeRecoverySnapshots(ctx context.Context, in *awsdrs.DescribeRecoverySnapshotsInput, optFns ...func(*awsdrs.Options)) (*awsdrs.DescribeRecoverySnapshotsOutput, error)
	TerminateRecoveryInstances(ctx context.Context, in *awsdrs.TerminateRecoveryInstancesInput, optFns ...func(*awsdrs.Options)) (*awsdrs.TerminateRecoveryInstancesOutput, error)
}

// EC2API is the part of the EC2 client the adapter uses.
type EC2API interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// STSAPI is the part of the STS client the adapter uses.
type STSAPI = stscreds.AssumeRoleAPIClient

// Defaults of Options.
const (
	DefaultMaxAttempts = 10
	DefaultMaxBackoff  = 20 * time.Second
	// DefaultSessionPrefix starts the session name of assumed roles: drsorch-<unix seconds>.
	DefaultSessionPrefix = "drsorch-"
)

// ec2BatchSize is how many instance ids one DescribeInstances call asks for.
const ec2BatchSize = 100

// maxStartRecoveryServers is the API's bound on StartRecovery's sourceServers.
const maxStartRecoveryServers = 200

// Options configures an Adapter. The zero value is the production setting.
type Options struct {
	// Logger receives warnings such as EC2 enrichment failures; nil discards them.
	Logger *slog.Logger
	// DisableEC2 turns off the EC2 enrichment of recovery instances, e.g. when
	// DRS is a local endpoint (drsorch drs-sim) and EC2 is not served (see EC2FromEnv).
	DisableEC2 bool
	// MaxAttempts bounds the attempts of one call, retries included (DefaultMaxAttempts when 0).
	MaxAttempts int
	// MaxBackoff caps the delay between attempts (DefaultMaxBackoff when 0).
	MaxBackoff time.Duration
	// PageSize is the maxResults of Describe calls; 0 lets DRS choose.
	PageSize int32
	// RoleDuration is how long assumed-role credentials last; 0 means the SDK's default (15 minutes).
	RoleDuration time.Duration
	// Now gives the time for session names; nil means time.Now.
	Now func() time.Time
	// NewDRS, NewEC2 and NewSTS build the SDK clients from a config whose
	// region and credentials are the account context's. Nil builds the real
	// clients; tests inject fakes or point a real client at a test endpoint.
	NewDRS func(aws.Config) DRSAPI
	NewEC2 func(aws.Config) EC2API
	NewSTS func(aws.Config) STSAPI
}

// Adapter implements drsorch.DRS on AWS. It is safe for concurrent use.
type Adapter struct {
	cfg  aws.Config
	opts Options
	log  *slog.Logger

	mutating func(*awsdrs.Options) // retry policy of the calls that are not idempotent

	mu      sync.Mutex
	clients map[clientKey]*clientSet
	roles   map[roleKey]aws.CredentialsProvider
	sts     map[string]STSAPI
}

var _ drsorch.DRS = (*Adapter)(nil)

type clientKey struct{ account, role, externalID, region string }

type roleKey struct{ role, externalID string }

// clientSet is the clients of one account context and region.
type clientSet struct {
	drs     DRSAPI
	ec2     EC2API // nil when enrichment is off
	region  string
	account string // the target's account, "" when the caller did not say
}

// New returns an Adapter on cfg: its credentials are the default account
// context, its region the default region, and its retryer is replaced by one
// tuned for DRS throttling.
func New(cfg aws.Config, opts Options) *Adapter {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewDRS == nil {
		opts.NewDRS = func(c aws.Config) DRSAPI { return awsdrs.NewFromConfig(c) }
	}
	if opts.NewEC2 == nil {
		opts.NewEC2 = func(c aws.Config) EC2API { return ec2.NewFromConfig(c) }
	}
	if opts.NewSTS == nil {
		opts.NewSTS = func(c aws.Config) STSAPI { return sts.NewFromConfig(c) }
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &Adapter{
		cfg:     cfg.Copy(),
		opts:    opts,
		log:     log,
		clients: map[clientKey]*clientSet{},
		roles:   map[roleKey]aws.CredentialsProvider{},
		sts:     map[string]STSAPI{},
	}
	a.cfg.HTTPClient = withBodyReadClient(a.cfg.HTTPClient)
	maxAttempts, maxBackoff := opts.MaxAttempts, opts.MaxBackoff
	a.cfg.Retryer = func() aws.Retryer { return NewRetryer(maxAttempts, maxBackoff, false) }
	throttleOnly := NewRetryer(maxAttempts, maxBackoff, true)
	a.mutating = func(o *awsdrs.Options) { o.Retryer = throttleOnly }
	return a
}

// NewRetryer returns the SDK's standard retryer tuned for DRS: maxAttempts
// attempts, exponential backoff with full jitter capped at maxBackoff
// (throttling backs off from 1s, other errors from 50ms), and no client-side
// retry quota, so a burst of throttling does not turn into failures.
// ThrottlingException is retryable. With throttleOnly, throttling is the only
// error retried: for calls that must not be repeated once DRS has received them.
func NewRetryer(maxAttempts int, maxBackoff time.Duration, throttleOnly bool) aws.Retryer {
	throttles := map[string]struct{}{"ThrottlingException": {}}
	for k := range retry.DefaultThrottleErrorCodes {
		throttles[k] = struct{}{}
	}
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = maxBackoff
		o.RateLimiter = ratelimit.None
		if throttleOnly {
			o.Retryables = []retry.IsErrorRetryable{retry.NoRetryCanceledError{}}
		}
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: throttles})
	})
}

// EC2FromEnv reports whether recovery instances should be enriched from EC2,
// given the environment: not when AWS_ENDPOINT_URL_DRS is set and
// AWS_ENDPOINT_URL_EC2 is not (DRS is then a local endpoint such as
// drsorch drs-sim, which does not serve EC2), unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true makes the SDK ignore both.
func EC2FromEnv(lookup func(string) (string, bool)) bool {
	set := func(k string) bool { v, ok := lookup(k); return ok && v != "" }
	if v, _ := lookup("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"); strings.EqualFold(v, "true") {
		return true
	}
	return !set("AWS_ENDPOINT_URL_DRS") || set("AWS_ENDPOINT_URL_EC2")
}

// clientsFor returns the clients of a target's account context and region, creating them.
func (a *Adapter) clientsFor(op string, t drsorch.Target) (*clientSet, error) {
	region := t.Region
	if region == "" {
		region = a.cfg.Region
	}
	if region == "" {
		return nil, drsorch.Errorf(drsorch.CodeDRSValidation, "DRS %s in account %s: no region: the target names none and the AWS configuration has none", op, accountName(t.AccountID))
	}
	if t.RoleARN != "" {
		roleAccount, ok := arnAccount(t.RoleARN)
		switch {
		case !ok:
			return nil, drsorch.Errorf(drsorch.CodeDRSAccess, "DRS %s in account %s region %s: %q is not a role ARN", op, accountName(t.AccountID), region, t.RoleARN)
		case t.AccountID != "" && roleAccount != t.AccountID:
			return nil, drsorch.Errorf(drsorch.CodeDRSAccess, "DRS %s in account %s region %s: role %s belongs to account %s", op, t.AccountID, region, t.RoleARN, roleAccount)
		}
	}
	key := clientKey{t.AccountID, t.RoleARN, t.ExternalID, region}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[key]; c != nil {
		return c, nil
	}
	cfg := a.cfg.Copy()
	cfg.Region = region
	if t.RoleARN != "" {
		cfg.Credentials = a.assumedLocked(t.RoleARN, t.ExternalID, region)
	}
	c := &clientSet{drs: a.opts.NewDRS(cfg), region: region, account: t.AccountID}
	if !a.opts.DisableEC2 {
		c.ec2 = a.opts.NewEC2(cfg)
	}
	a.clients[key] = c
	return c, nil
}

// assumedLocked returns the cached credentials of a role, assumed with the external id.
func (a *Adapter) assumedLocked(role, externalID, region string) aws.CredentialsProvider {
	key := roleKey{role, externalID}
	if p := a.roles[key]; p != nil {
		return p
	}
	stsRegion := a.cfg.Region
	if stsRegion == "" {
		stsRegion = region
	}
	client := a.sts[stsRegion]
	if client == nil {
		cfg := a.cfg.Copy()
		cfg.Region = stsRegion
		client = a.opts.NewSTS(cfg)
		a.sts[stsRegion] = client
	}
	session := fmt.Sprintf("%s%d", DefaultSessionPrefix, a.opts.Now().Unix())
	assume := stscreds.NewAssumeRoleProvider(client, role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = session
		o.Duration = a.opts.RoleDuration
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
	})
	p := aws.NewCredentialsCache(&roleProvider{role: role, p: assume}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = time.Minute
		o.ExpiryWindowJitterFrac = 0.5
	})
	a.roles[key] = p
	return p
}

// roleProvider marks the failures of assuming a role, so they classify as access denied.
type roleProvider struct {
	role string
	p    aws.CredentialsProvider
}

// Retrieve assumes the role.
func (p *roleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.p.Retrieve(ctx)
	if err != nil {
		return c, &assumeRoleError{role: p.role, err: err}
	}
	return c, nil
}

// assumeRoleError is a failure to assume a role.
type assumeRoleError struct {
	role string
	err  error
}

func (e *assumeRoleError) Error() string { return "assume role " + e.role + ": " + e.err.Error() }
func (e *assumeRoleError) Unwrap() error { return e.err }

// arnAccount returns the account field of an ARN.
func arnAccount(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !drsorch.ValidAccountID(parts[4]) {
		return "", false
	}
	return parts[4], true
}

func accountName(id string) string {
	if id == "" {
		return "(default)"
	}
	return id
}

// where names the account context and region of a call, for messages.
func (c *clientSet) where() string {
	return "account " + accountName(c.account) + " region " + c.region
}

// accountOf returns the account of a resource: the target's, else the one in its ARN.
func (c *clientSet) accountOf(arn *string) string {
	if c.account != "" || arn == nil {
		return c.account
	}
	acct, _ := arnAccount(*arn)
	return acct
}
