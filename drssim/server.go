package drssim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/drsorch/drsorch"
)

// DefaultPageSize is how many items a Describe response holds when the request sets no maxResults.
const DefaultPageSize = 100

// Bounds of the wire protocol.
const (
	maxPageSize    = 1000    // larger maxResults values are served as this
	maxTokenLength = 2048    // PaginationToken
	maxRequestBody = 1 << 20 // bytes
)

// NewServer returns a handler that serves s over DRS's own wire protocol
// (REST-JSON, API version 2020-02-26), so the AWS SDKs and the AWS CLI work
// against it with their endpoint set to the server's URL. It serves
// StartRecovery, DescribeJobs, DescribeJobLogItems, DescribeRecoveryInstances,
// DescribeSourceServers, DescribeRecoverySnapshots and
// TerminateRecoveryInstances as POST /<Operation> with the API's member
// names, ISO 8601 times, maxResults/nextToken pagination (DefaultPageSize
// items per page unless maxResults says otherwise; tokens are opaque), and
// DRS's errors: the exception name in the X-Amzn-ErrorType header, a JSON
// body with "message", and the exception's HTTP status. Anything else is a
// ValidationException with reason "unknownOperation".
//
// Requests are not authenticated, but their SigV4 Authorization header, when
// present, places them: the credential scope's region is the call's region,
// and an access key id of 12 digits is taken as the account (so a test's
// STS can hand out per-account keys); any other key addresses the Sim's
// default account.
//
// EC2 is not served: the DRS adapter reads instance details from EC2 only
// when an EC2 endpoint is configured.
func NewServer(s *Sim) http.Handler {
	return &server{sim: s}
}

type server struct {
	sim *Sim
	seq atomic.Uint64
}

// operation serves one DRS operation: it decodes body and returns the
// success status and the response document.
type operation func(srv *server, ctx context.Context, t drsorch.Target, body []byte) (int, any, error)

var operations = map[string]operation{
	"/" + APIStartRecovery:              (*server).startRecovery,
	"/" + APIDescribeJobs:               (*server).describeJobs,
	"/" + APIDescribeJobLogItems:        (*server).describeJobLogItems,
	"/" + APIDescribeRecoveryInstances:  (*server).describeRecoveryInstances,
	"/" + APIDescribeSourceServers:      (*server).describeSourceServers,
	"/" + APIDescribeRecoverySnapshots:  (*server).describeRecoverySnapshots,
	"/" + APITerminateRecoveryInstances: (*server).terminateRecoveryInstances,
}

// errorStatus is the HTTP status of each DRS exception, from the API model.
var errorStatus = map[string]int{
	ThrottlingException:           http.StatusTooManyRequests,
	ServiceQuotaExceededException: http.StatusPaymentRequired,
	ConflictException:             http.StatusConflict,
	ValidationException:           http.StatusBadRequest,
	ResourceNotFoundException:     http.StatusNotFound,
	InternalServerException:       http.StatusInternalServerError,
	AccessDeniedException:         http.StatusForbidden,
	UninitializedAccountException: http.StatusBadRequest,
}

// Reasons of a ValidationException, from the API model.
const (
	reasonUnknownOperation = "unknownOperation"
	reasonCannotParse      = "cannotParse"
	reasonFieldValidation  = "fieldValidationFailed"
	reasonOther            = "other"
)

// ServeHTTP serves one DRS call.
func (srv *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("drssim-%012d", srv.seq.Add(1)))
	op, ok := operations[r.URL.Path]
	if !ok || r.Method != http.MethodPost {
		writeError(w, invalid(reasonUnknownOperation, "", "Unknown operation %s %s", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		writeError(w, invalid(reasonCannotParse, "", "Could not read the request body: %v", err))
		return
	}
	if len(body) > maxRequestBody {
		writeError(w, invalid(reasonCannotParse, "", "The request body is larger than %d bytes", maxRequestBody))
		return
	}
	status, out, err := op(srv, r.Context(), requestTarget(r), body)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// requestTarget places a request from its SigV4 credential scope:
// AKID/date/region/service/aws4_request.
func requestTarget(r *http.Request) drsorch.Target {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if _, rest, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		cred, _, _ = strings.Cut(rest, ",")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) < 5 {
		return drsorch.Target{}
	}
	t := drsorch.Target{Region: parts[2]}
	if isDigits(parts[0], 12) {
		t.AccountID = parts[0]
	}
	return t
}

// writeError writes a DRS exception: its name in X-Amzn-ErrorType, its status, and a JSON body.
func writeError(w http.ResponseWriter, err error) {
	name := AWSErrorName(err)
	status, ok := errorStatus[name]
	if !ok {
		status = http.StatusInternalServerError
	}
	body := map[string]any{"message": "Internal server error"}
	var e *drsorch.Error
	if errors.As(err, &e) {
		body["message"] = e.Message
	}
	if name == ValidationException && e != nil {
		reason, _ := e.Details["reason"].(string)
		if reason == "" {
			reason = reasonOther
		}
		body["reason"] = reason
		if f, _ := e.Details["field"].(string); f != "" {
			body["fieldList"] = []map[string]string{{"name": f, "message": e.Message}}
		}
	}
	if name == ThrottlingException {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("X-Amzn-ErrorType", name)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// invalid is a ValidationException raised by the wire layer.
func invalid(reason, field, format string, args ...any) *drsorch.Error {
	e := awsErr(ValidationException, format, args...)
	e.Details["reason"] = reason
	if field != "" {
		e.Details["field"] = field
	}
	return e
}

func decode(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalid(reasonCannotParse, "", "Could not parse the request body: %v", err)
	}
	return nil
}

// shape is an identifier pattern of the API model, checked without a regexp
// (package-level regexps are compiled at every start of the binary).
type shape struct {
	ok      func(string) bool
	pattern string
}

// Identifier shapes of the API model.
var (
	jobIDShape      = shape{drsorch.ValidJobID, `drsjob-[0-9a-zA-Z]{17}`}
	serverIDShape   = shape{drsorch.ValidSourceServerID, `s-[0-9a-zA-Z]{17}`}
	instanceIDShape = shape{drsorch.ValidInstanceID, `i-[0-9a-fA-F]{8,17}`}
	snapshotIDShape = shape{drsorch.ValidSnapshotID, `pit-[0-9a-zA-Z]{17}`}
	accountIDShape  = shape{drsorch.ValidAccountID, `[0-9]{12}`}
)

func checkIDs(field string, ids []string, sh shape) error {
	for i, id := range ids {
		if !sh.ok(id) {
			return invalid(reasonFieldValidation, fmt.Sprintf("%s[%d]", field, i), "%s[%d]: %q does not match %s", field, i, id, sh.pattern)
		}
	}
	return nil
}

func checkID(field string, id *string, sh shape) error {
	switch {
	case id == nil:
		return invalid(reasonFieldValidation, field, "%s: is required", field)
	case !sh.ok(*id):
		return invalid(reasonFieldValidation, field, "%s: %q does not match %s", field, *id, sh.pattern)
	}
	return nil
}

// parseTime reads an ISO8601DatetimeString; nil and "" are the zero time.
func parseTime(field string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	if len(*s) < 19 || len(*s) > 32 || !strings.HasSuffix(*s, "Z") || (*s)[0] == '0' {
		return time.Time{}, invalid(reasonFieldValidation, field, "%s: %q is not an ISO 8601 UTC time like 2026-01-01T00:00:00Z", field, *s)
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, invalid(reasonFieldValidation, field, "%s: %q is not a valid time", field, *s)
	}
	return t, nil
}

// wireTime writes an ISO8601DatetimeString.
func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// page is the pagination part of a Describe request.
type page struct {
	MaxResults *int64  `json:"maxResults"`
	NextToken  *string `json:"nextToken"`
}

// pageToken is the content of a nextToken: where the next page starts.
type pageToken struct {
	Op     string `json:"op"`
	Offset int    `json:"o"`
	After  string `json:"a,omitempty"` // the key of the last item served, to resume after it when items moved
}

// paginate returns the page of items the request asks for and the token of
// the next one (nil on the last page). key identifies an item, "" when items
// have no identity.
func paginate[T any](op string, items []T, key func(T) string, p page) ([]T, *string, error) {
	size := DefaultPageSize
	if p.MaxResults != nil {
		if *p.MaxResults < 1 {
			return nil, nil, invalid(reasonFieldValidation, "maxResults", "maxResults: must be at least 1, got %d", *p.MaxResults)
		}
		size = int(min(*p.MaxResults, maxPageSize))
	}
	start := 0
	if p.NextToken != nil && *p.NextToken != "" {
		tok, err := readToken(op, *p.NextToken)
		if err != nil {
			return nil, nil, err
		}
		start = min(max(tok.Offset, 0), len(items))
		if tok.After != "" && key != nil {
			if i := slices.IndexFunc(items, func(x T) bool { return key(x) == tok.After }); i >= 0 {
				start = i + 1
			}
		}
	}
	end := min(start+size, len(items))
	out := items[start:end]
	if end >= len(items) {
		return out, nil, nil
	}
	tok := pageToken{Op: op, Offset: end}
	if key != nil && end > 0 {
		tok.After = key(items[end-1])
	}
	b, _ := json.Marshal(tok)
	next := base64.RawURLEncoding.EncodeToString(b)
	return out, &next, nil
}

func readToken(op, s string) (pageToken, error) {
	bad := invalid(reasonFieldValidation, "nextToken", "nextToken: invalid pagination token")
	if len(s) > maxTokenLength {
		return pageToken{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageToken{}, bad
	}
	var tok pageToken
	if err := json.Unmarshal(b, &tok); err != nil || tok.Op != op {
		return pageToken{}, bad
	}
	return tok, nil
}

// listOutput is the response of every Describe operation.
type listOutput[T any] struct {
	Items     []T     `json:"items"`
	NextToken *string `json:"nextToken,omitempty"`
}

func list[T any](op string, items []T, key func(T) string, p page, conv func(T) any) (int, any, error) {
	sel, next, err := paginate(op, items, key, p)
	if err != nil {
		return 0, nil, err
	}
	out := listOutput[any]{Items: make([]any, len(sel)), NextToken: next}
	for i, x := range sel {
		out.Items[i] = conv(x)
	}
	return http.StatusOK, out, nil
}

// The operations.

func (srv *server) startRecovery(ctx context.Context, t drsorch.Target, body []byte) (int, any, error) {
	var req struct {
		SourceServers []struct {
			SourceServerID     *string `json:"sourceServerID"`
			RecoverySnapshotID *string `json:"recoverySnapshotID"`
		} `json:"sourceServers"`
		IsDrill *bool             `json:"isDrill"`
		Tags    map[string]string `json:"tags"`
	}
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	if req.SourceServers == nil {
		return 0, nil, invalid(reasonFieldValidation, "sourceServers", "sourceServers: is required")
	}
	in := drsorch.StartRecoveryInput{IsDrill: req.IsDrill != nil && *req.IsDrill, Tags: req.Tags}
	for i, ss := range req.SourceServers {
		if err := checkID(fmt.Sprintf("sourceServers[%d].sourceServerID", i), ss.SourceServerID, serverIDShape); err != nil {
			return 0, nil, err
		}
		s := drsorch.StartRecoveryServer{SourceServerID: *ss.SourceServerID}
		if ss.RecoverySnapshotID != nil {
			if err := checkID(fmt.Sprintf("sourceServers[%d].recoverySnapshotID", i), ss.RecoverySnapshotID, snapshotIDShape); err != nil {
				return 0, nil, err
			}
			s.RecoverySnapshotID = *ss.RecoverySnapshotID
		}
		in.SourceServers = append(in.SourceServers, s)
	}
	for k, v := range req.Tags {
		if len(k) > 256 || len(v) > 256 {
			return 0, nil, invalid(reasonFieldValidation, "tags", "tags: keys and values must be at most 256 characters")
		}
	}
	j, err := srv.sim.StartRecovery(ctx, t, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]any{"job": wireJobOf(j)}, nil
}

func (srv *server) describeJobs(ctx context.Context, t drsorch.Target, body []byte) (int, any, error) {
	var req struct {
		Filters *struct {
			JobIDs   []string `json:"jobIDs"`
			FromDate *string  `json:"fromDate"`
			ToDate   *string  `json:"toDate"`
		} `json:"filters"`
		page
	}
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	var f drsorch.JobFilter
	if req.Filters != nil {
		if err := checkIDs("filters.jobIDs", req.Filters.JobIDs, jobIDShape); err != nil {
			return 0, nil, err
		}
		var err error
		f.JobIDs = req.Filters.JobIDs
		if f.FromDate, err = parseTime("filters.fromDate", req.Filters.FromDate); err != nil {
			return 0, nil, err
		}
		if f.ToDate, err = parseTime("filters.toDate", req.Filters.ToDate); err != nil {
			return 0, nil, err
		}
	}
	jobs, err := srv.sim.DescribeJobs(ctx, t, f)
	if err != nil {
		return 0, nil, err
	}
	return list(APIDescribeJobs, jobs, func(j drsorch.Job) string { return j.JobID }, req.page,
		func(j drsorch.Job) any { return wireJobOf(j) })
}

func (srv *server) describeJobLogItems(ctx context.Context, t drsorch.Target, body []byte) (int, any, error) {
	var req struct {
		JobID *string `json:"jobID"`
		page
	}
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	if err := checkID("jobID", req.JobID, jobIDShape); err != nil {
		return 0, nil, err
	}
	items, err := srv.sim.DescribeJobLogItems(ctx, t, *req.JobID)
	if err != nil {
		return 0, nil, err
	}
	return list(APIDescribeJobLogItems, items, nil, req.page, func(it drsorch.JobLogItem) any { return wireLogItemOf(it) })
}

func (srv *server) describeRecoveryInstances(ctx context.Context, t drsorch.Target, body []byte) (int, any, error) {
	var req struct {
		Filters *struct {
			RecoveryInstanceIDs []string `json:"recoveryInstanceIDs"`
			SourceServerIDs     []string `json:"sourceServerIDs"`
		} `json:"filters"`
		page
	}
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	var f drsorch.RecoveryInstanceFilter
	if req.Filters != nil {
		if err := checkIDs("filters.recoveryInstanceIDs", req.Filters.RecoveryInstanceIDs, instanceIDShape); err != nil {
			return 0, nil, err
		}
		if err := checkIDs("filters.sourceServerIDs", req.Filters.SourceServerIDs, serverIDShape); err != nil {
			return 0, nil, err
		}
		f.RecoveryInstanceIDs, f.SourceServerIDs = req.Filters.RecoveryInstanceIDs, req.Filters.SourceServerIDs
	}
	inst, err := srv.sim.DescribeRecoveryInstances(ctx, t, f)
	if err != nil {
		return 0, nil, err
	}
	return list(APIDescribeRecoveryInstances, inst, func(in drsorch.RecoveryInstance) string { return in.RecoveryInstanceID }, req.page,
		func(in drsorch.RecoveryInstance) any { return wireRecoveryInstanceOf(in) })
}

func (srv *server) describeSourceServers(ctx context.Context, t drsorch.Target, body []byte) (int, any, error) {
	var req struct {
		Filters *struct {
			SourceServerIDs   []string `json:"sourceServerIDs"`
			HardwareID        *string  `json:"hardwareId"`
			StagingAccountIDs []string `json:"stagingAccountIDs"`
		} `json:"filters"`
		page
	}
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	var f drsorch.SourceServerFilter
	if req.Filters != nil {
		if err := checkIDs("filters.sourceServerIDs", req.Filters.SourceServerIDs, serverIDShape); err != nil {
			return 0, nil, err
		}
		if err := checkIDs("filters.stagingAccountIDs", req.Filters.StagingAccountIDs, accountIDShape); err != nil {
			return 0, nil, err
		}
		f.SourceServerIDs = req.Filters.SourceServerIDs
	}
	servers, err := srv.sim.DescribeSourceServers(ctx, t, f)
	if err != nil {
		return 0, nil, err
	}
	if req.Filters != nil {
		// The simulator has no extended source servers, so a staging-account
		// filter selects none; hardwareId matches the source instance id.
		hw := req.Filters.HardwareID
		servers = slices.DeleteFunc(servers, func(s drsorch.SourceServer) bool {
			return len(req.Filters.StagingAccountIDs) > 0 || (hw != nil && *hw != "" && s.SourceInstanceID != *hw)
		})
	}
	return list(APIDescribeSourceServers, servers, func(s drsorch.SourceServer) string { return s.SourceServerID }, req.page,
		func(s drsorch.SourceServer) any { return wireSourceServerOf(s) })
}

func (srv *server) describeRecoverySnapshots(ctx context.Context, t drsorch.Target, body []byte) (int, any, error) {
	var req struct {
		SourceServerID *string `json:"sourceServerID"`
		Filters        *struct {
			FromDateTime *string `json:"fromDateTime"`
			ToDateTime   *string `json:"toDateTime"`
		} `json:"filters"`
		Order *string `json:"order"`
		page
	}
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	if err := checkID("sourceServerID", req.SourceServerID, serverIDShape); err != nil {
		return 0, nil, err
	}
	f := drsorch.SnapshotFilter{SourceServerID: *req.SourceServerID}
	if req.Filters != nil {
		var err error
		if f.FromDateTime, err = parseTime("filters.fromDateTime", req.Filters.FromDateTime); err != nil {
			return 0, nil, err
		}
		if f.ToDateTime, err = parseTime("filters.toDateTime", req.Filters.ToDateTime); err != nil {
			return 0, nil, err
		}
	}
	asc := false
	if req.Order != nil {
		switch *req.Order {
		case "ASC":
			asc = true
		case "DESC":
		default:
			return 0, nil, invalid(reasonFieldValidation, "order", "order: %q is not ASC or DESC", *req.Order)
		}
	}
	snaps, err := srv.sim.DescribeRecoverySnapshots(ctx, t, f)
	if err != nil {
		return 0, nil, err
	}
	if asc {
		slices.Reverse(snaps)
	}
	return list(APIDescribeRecoverySnapshots, snaps, func(s drsorch.RecoverySnapshot) string { return s.SnapshotID }, req.page,
		func(s drsorch.RecoverySnapshot) any { return wireSnapshotOf(s) })
}

func (srv *server) terminateRecoveryInstances(ctx context.Context, t drsorch.Target, body []byte) (int, any, error) {
	var req struct {
		RecoveryInstanceIDs []string `json:"recoveryInstanceIDs"`
	}
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	if req.RecoveryInstanceIDs == nil {
		return 0, nil, invalid(reasonFieldValidation, "recoveryInstanceIDs", "recoveryInstanceIDs: is required")
	}
	j, err := srv.sim.TerminateRecoveryInstances(ctx, t, req.RecoveryInstanceIDs)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"job": wireJobOf(j)}, nil
}

// Response documents, with the API's member names.

type wireJob struct {
	JobID                string            `json:"jobID"`
	Arn                  string            `json:"arn,omitempty"`
	Type                 string            `json:"type,omitempty"`
	InitiatedBy          string            `json:"initiatedBy,omitempty"`
	CreationDateTime     string            `json:"creationDateTime,omitempty"`
	EndDateTime          string            `json:"endDateTime,omitempty"`
	Status               string            `json:"status,omitempty"`
	ParticipatingServers []wireParticipant `json:"participatingServers"`
	Tags                 map[string]string `json:"tags,omitempty"`
}

type wireParticipant struct {
	SourceServerID     string `json:"sourceServerID"`
	RecoveryInstanceID string `json:"recoveryInstanceID,omitempty"`
	LaunchStatus       string `json:"launchStatus,omitempty"`
}

func wireJobOf(j drsorch.Job) wireJob {
	w := wireJob{
		JobID:                j.JobID,
		Arn:                  arn(j.Region, j.AccountID, "job/"+j.JobID),
		Type:                 string(j.Type),
		InitiatedBy:          j.InitiatedBy,
		CreationDateTime:     wireTime(j.CreationDateTime),
		EndDateTime:          wireTime(j.EndDateTime),
		Status:               string(j.Status),
		ParticipatingServers: make([]wireParticipant, len(j.ParticipatingServers)),
		Tags:                 j.Tags,
	}
	for i, ps := range j.ParticipatingServers {
		w.ParticipatingServers[i] = wireParticipant{SourceServerID: ps.SourceServerID, RecoveryInstanceID: ps.RecoveryInstanceID, LaunchStatus: string(ps.LaunchStatus)}
	}
	return w
}

type wireLogItem struct {
	Event       string           `json:"event"`
	EventData   wireLogEventData `json:"eventData"`
	LogDateTime string           `json:"logDateTime,omitempty"`
}

type wireLogEventData struct {
	SourceServerID     string `json:"sourceServerID,omitempty"`
	ConversionServerID string `json:"conversionServerID,omitempty"`
	TargetInstanceID   string `json:"targetInstanceID,omitempty"`
	RawError           string `json:"rawError,omitempty"`
}

func wireLogItemOf(it drsorch.JobLogItem) wireLogItem {
	return wireLogItem{
		Event: it.Event,
		EventData: wireLogEventData{
			SourceServerID:     it.EventData.SourceServerID,
			ConversionServerID: it.EventData.ConversionServerID,
			TargetInstanceID:   it.EventData.TargetInstanceID,
			RawError:           it.EventData.RawError,
		},
		LogDateTime: wireTime(it.LogDateTime),
	}
}

type wireNetworkInterface struct {
	Ips       []string `json:"ips"`
	IsPrimary bool     `json:"isPrimary"`
}

type wireIdentificationHint struct {
	Hostname      string `json:"hostname,omitempty"`
	AwsInstanceID string `json:"awsInstanceID,omitempty"`
}

type wireRecoveryInstance struct {
	RecoveryInstanceID         string            `json:"recoveryInstanceID"`
	Arn                        string            `json:"arn,omitempty"`
	Ec2InstanceID              string            `json:"ec2InstanceID,omitempty"`
	Ec2InstanceState           string            `json:"ec2InstanceState,omitempty"`
	SourceServerID             string            `json:"sourceServerID,omitempty"`
	JobID                      string            `json:"jobID,omitempty"`
	IsDrill                    bool              `json:"isDrill"`
	OriginEnvironment          string            `json:"originEnvironment,omitempty"`
	RecoveryInstanceProperties *wireInstanceProp `json:"recoveryInstanceProperties,omitempty"`
	Tags                       map[string]string `json:"tags"`
}

type wireInstanceProp struct {
	LastUpdatedDateTime string                 `json:"lastUpdatedDateTime,omitempty"`
	NetworkInterfaces   []wireNetworkInterface `json:"networkInterfaces,omitempty"`
}

func wireRecoveryInstanceOf(in drsorch.RecoveryInstance) wireRecoveryInstance {
	w := wireRecoveryInstance{
		RecoveryInstanceID: in.RecoveryInstanceID,
		Arn:                arn(in.Region, in.AccountID, "recovery-instance/"+in.RecoveryInstanceID),
		Ec2InstanceID:      in.EC2InstanceID,
		Ec2InstanceState:   in.EC2InstanceState,
		SourceServerID:     in.SourceServerID,
		JobID:              in.JobID,
		IsDrill:            in.IsDrill,
		OriginEnvironment:  "ON_PREMISES",
		Tags:               map[string]string{},
	}
	if in.PrivateIP != "" || !in.LaunchTime.IsZero() {
		w.RecoveryInstanceProperties = &wireInstanceProp{LastUpdatedDateTime: wireTime(in.LaunchTime)}
		if in.PrivateIP != "" {
			w.RecoveryInstanceProperties.NetworkInterfaces = []wireNetworkInterface{{Ips: []string{in.PrivateIP}, IsPrimary: true}}
		}
	}
	return w
}

type wireSourceServer struct {
	SourceServerID       string                `json:"sourceServerID"`
	Arn                  string                `json:"arn,omitempty"`
	Tags                 map[string]string     `json:"tags"`
	DataReplicationInfo  *wireReplicationInfo  `json:"dataReplicationInfo,omitempty"`
	SourceProperties     *wireSourceProperties `json:"sourceProperties,omitempty"`
	ReplicationDirection string                `json:"replicationDirection"`
}

type wireReplicationInfo struct {
	DataReplicationState string `json:"dataReplicationState"`
}

type wireSourceProperties struct {
	IdentificationHints wireIdentificationHint `json:"identificationHints"`
	NetworkInterfaces   []wireNetworkInterface `json:"networkInterfaces,omitempty"`
}

func wireSourceServerOf(s drsorch.SourceServer) wireSourceServer {
	w := wireSourceServer{
		SourceServerID:       s.SourceServerID,
		Arn:                  arn(s.Region, s.AccountID, "source-server/"+s.SourceServerID),
		Tags:                 s.Tags,
		ReplicationDirection: "FAILOVER",
		SourceProperties: &wireSourceProperties{
			IdentificationHints: wireIdentificationHint{Hostname: s.Hostname, AwsInstanceID: s.SourceInstanceID},
		},
	}
	if w.Tags == nil {
		w.Tags = map[string]string{}
	}
	if s.ReplicationState != "" {
		w.DataReplicationInfo = &wireReplicationInfo{DataReplicationState: s.ReplicationState}
	}
	if s.IPAddress != "" {
		w.SourceProperties.NetworkInterfaces = []wireNetworkInterface{{Ips: []string{s.IPAddress}, IsPrimary: true}}
	}
	return w
}

type wireSnapshot struct {
	SnapshotID        string   `json:"snapshotID"`
	SourceServerID    string   `json:"sourceServerID"`
	Timestamp         string   `json:"timestamp,omitempty"`
	ExpectedTimestamp string   `json:"expectedTimestamp"`
	EbsSnapshots      []string `json:"ebsSnapshots"`
}

func wireSnapshotOf(s drsorch.RecoverySnapshot) wireSnapshot {
	return wireSnapshot{
		SnapshotID:        s.SnapshotID,
		SourceServerID:    s.SourceServerID,
		Timestamp:         wireTime(s.Timestamp),
		ExpectedTimestamp: wireTime(s.ExpectedTimestamp),
		EbsSnapshots:      []string{},
	}
}

// arn builds a DRS resource ARN; "" when the region or account is unknown.
func arn(region, account, resource string) string {
	if region == "" || account == "" {
		return ""
	}
	partition := "aws"
	switch {
	case strings.HasPrefix(region, "cn-"):
		partition = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return "arn:" + partition + ":drs:" + region + ":" + account + ":" + resource
}
