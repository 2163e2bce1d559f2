package awslambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/awslambda"
)

// fakeClient records Invoke calls and answers with a scripted output or error.
type fakeClient struct {
	calls []*lambda.InvokeInput
	out   *lambda.InvokeOutput
	err   error
}

func (f *fakeClient) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.calls = append(f.calls, in)
	return f.out, f.err
}

type plans map[string]*drsorch.RecoveryPlan

func (p plans) GetPlan(_ context.Context, id string) (*drsorch.RecoveryPlan, error) {
	if pl, ok := p[id]; ok {
		return pl, nil
	}
	return nil, drsorch.Errorf(drsorch.CodeNotFound, "no plan %s", id)
}

func execution() *drsorch.Execution {
	return &drsorch.Execution{ExecutionID: "e-1", PlanID: "plan-1", ExecutionType: drsorch.Drill, Status: drsorch.ExecutionPending}
}

func TestDispatch(t *testing.T) {
	plan := &drsorch.RecoveryPlan{PlanID: "plan-1", PlanName: "app", Waves: []drsorch.PlanWave{{WaveNumber: 0, WaveName: "db"}}}
	user := drsorch.Caller{Email: "ops@example.com", Subject: "sub-1", Username: "ops"}
	tests := []struct {
		name     string
		caller   drsorch.Caller
		plans    awslambda.Plans
		out      *lambda.InvokeOutput
		err      error
		wantErr  string // code of the error, "" for success
		wantUser awslambda.CognitoUser
		wantPlan bool
	}{
		{name: "accepted", caller: user, plans: plans{"plan-1": plan}, out: &lambda.InvokeOutput{StatusCode: 202},
			wantUser: awslambda.CognitoUser{Email: "ops@example.com", UserID: "sub-1", Username: "ops"}, wantPlan: true},
		{name: "system caller, no plans", caller: drsorch.SystemCaller, out: &lambda.InvokeOutput{StatusCode: 202},
			wantUser: awslambda.CognitoUser{Email: "system", UserID: "system", Username: "system"}},
		{name: "plan unreadable is sent as null", caller: drsorch.Caller{}, plans: plans{}, out: &lambda.InvokeOutput{StatusCode: 202},
			wantUser: awslambda.CognitoUser{Email: "unknown", UserID: "unknown", Username: "unknown"}},
		{name: "not 202", caller: user, out: &lambda.InvokeOutput{StatusCode: 200}, wantErr: drsorch.CodeInternal},
		{name: "throttled", caller: user, err: &smithy.GenericAPIError{Code: "TooManyRequestsException", Message: "Rate exceeded"}, wantErr: drsorch.CodeInternal},
		{name: "no such function", caller: user, err: &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Function not found"}, wantErr: drsorch.CodeInvalidParameter},
		{name: "denied", caller: user, err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}, wantErr: drsorch.CodeForbidden},
		{name: "network", caller: user, err: errors.New("dial tcp: connection refused"), wantErr: drsorch.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeClient{out: tc.out, err: tc.err}
			d := &awslambda.Dispatcher{Client: c, FunctionName: "drsorch-execution-handler", Plans: tc.plans}
			err := d.Dispatch(drsorch.WithCaller(context.Background(), tc.caller), execution())
			if got := drsorch.ErrorCode(err); got != tc.wantErr {
				t.Fatalf("error code %q, want %q (err %v)", got, tc.wantErr, err)
			}
			if len(c.calls) != 1 {
				t.Fatalf("%d Invoke calls, want 1", len(c.calls))
			}
			in := c.calls[0]
			if aws.ToString(in.FunctionName) != "drsorch-execution-handler" || in.InvocationType != types.InvocationTypeEvent {
				t.Errorf("invoked %s with %s, want the function itself with Event", aws.ToString(in.FunctionName), in.InvocationType)
			}
			var ev map[string]any
			if err := json.Unmarshal(in.Payload, &ev); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"worker", "executionId", "planId", "executionType", "isDrill", "plan", "cognitoUser"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("payload lacks %q: %s", k, in.Payload)
				}
			}
			if ev["worker"] != true || ev["executionId"] != "e-1" || ev["planId"] != "plan-1" || ev["executionType"] != "DRILL" || ev["isDrill"] != true {
				t.Errorf("payload %s", in.Payload)
			}
			var typed awslambda.WorkerEvent
			_ = json.Unmarshal(in.Payload, &typed)
			if tc.wantUser != (awslambda.CognitoUser{}) && typed.CognitoUser != tc.wantUser {
				t.Errorf("cognitoUser %+v, want %+v", typed.CognitoUser, tc.wantUser)
			}
			if (typed.Plan != nil) != tc.wantPlan {
				t.Errorf("plan sent: %v, want %v", typed.Plan != nil, tc.wantPlan)
			}
		})
	}
}

func TestDispatchWithoutFunctionName(t *testing.T) {
	c := &fakeClient{out: &lambda.InvokeOutput{StatusCode: 202}}
	err := (&awslambda.Dispatcher{Client: c}).Dispatch(context.Background(), execution())
	if err == nil || len(c.calls) != 0 {
		t.Fatalf("err %v after %d calls; want an error and no call", err, len(c.calls))
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		out     *lambda.InvokeOutput
		err     error
		want    string
		wantErr string
	}{
		{name: "payload returned", out: &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"items":[],"count":0}`)}, want: `{"items":[],"count":0}`},
		{name: "function error", out: &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
			Payload: []byte(`{"errorMessage":"boom","errorType":"KeyError"}`)}, wantErr: "KeyError"},
		{name: "not JSON", out: &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`oops`)}, wantErr: "not JSON"},
		{name: "invoke fails", err: &smithy.GenericAPIError{Code: "ServiceException", Message: "try later"}, wantErr: "ServiceException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeClient{out: tc.out, err: tc.err}
			r := &awslambda.Reads{Client: c, FunctionName: "query-handler"}
			got, err := r.Read(context.Background(), "list_executions", map[string]any{"limit": 5})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tc.wantErr)
				}
			} else if err != nil || string(got) != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
			in := c.calls[0]
			if aws.ToString(in.FunctionName) != "query-handler" || in.InvocationType != types.InvocationTypeRequestResponse {
				t.Errorf("invoked %s with %s", aws.ToString(in.FunctionName), in.InvocationType)
			}
			if string(in.Payload) != `{"operation":"list_executions","parameters":{"limit":5}}` {
				t.Errorf("payload %s", in.Payload)
			}
		})
	}
}

// TestWireFormat pins what the real SDK client sends for both calls: the
// Invoke path, the invocation type header and the payload.
func TestWireFormat(t *testing.T) {
	type request struct {
		path, invocationType string
		body                 map[string]any
	}
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		got = append(got, request{r.URL.Path, r.Header.Get("X-Amz-Invocation-Type"), body})
		if r.Header.Get("X-Amz-Invocation-Type") == "Event" {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items":[],"count":0}`)
	}))
	defer srv.Close()
	client := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})

	d := &awslambda.Dispatcher{Client: client, FunctionName: "drsorch-execution-handler"}
	if err := d.Dispatch(context.Background(), execution()); err != nil {
		t.Fatal(err)
	}
	r := &awslambda.Reads{Client: client, FunctionName: "query-handler"}
	out, err := r.Read(context.Background(), "get_execution", map[string]any{"executionId": "e-1"})
	if err != nil || string(out) != `{"items":[],"count":0}` {
		t.Fatalf("read: %s, %v", out, err)
	}
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	if got[0].path != "/2015-03-31/functions/drsorch-execution-handler/invocations" || got[0].invocationType != "Event" ||
		got[0].body["worker"] != true || got[0].body["executionId"] != "e-1" {
		t.Errorf("dispatch request %+v", got[0])
	}
	if got[1].path != "/2015-03-31/functions/query-handler/invocations" || got[1].invocationType != "RequestResponse" ||
		got[1].body["operation"] != "get_execution" {
		t.Errorf("read request %+v", got[1])
	}
}
