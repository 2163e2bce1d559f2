package app_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drsorch/drsorch/drs"
	"github.com/drsorch/drsorch/internal/app"
	"github.com/drsorch/drsorch/lambdafn"
)

// envOf returns a getenv on a map.
func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// testKey is a DRSORCH_CALLBACK_KEY: 32 bytes in hex.
var testKey = strings.Repeat("5a", 32)

// TestLambdaReadsOnlyListedVariables checks that every variable the Lambda's
// composition reads is in app.LambdaEnvironment, the list the deployment
// stack is checked against (deploy/stack_test.go).
func TestLambdaReadsOnlyListedVariables(t *testing.T) {
	listed := map[string]app.EnvVar{}
	for _, v := range app.LambdaEnvironment() {
		if _, dup := listed[v.Name]; dup {
			t.Errorf("%s is listed twice", v.Name)
		}
		if v.SetBy != app.SetByStack && v.SetBy != app.SetByLambda && v.SetBy != app.SetByLocal {
			t.Errorf("%s: unknown SetBy %q", v.Name, v.SetBy)
		}
		if v.Doc == "" {
			t.Errorf("%s has no description", v.Name)
		}
		listed[v.Name] = v
	}
	var mu sync.Mutex
	read := map[string]bool{}
	record := func(k string) string {
		mu.Lock()
		read[k] = true
		mu.Unlock()
		return map[string]string{"DRSORCH_STORE": "memory", "DRSORCH_DRS": "sim", "DRSORCH_WORKER": "inline"}[k]
	}
	router, err := app.NewLambda(record, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The first event builds the backends, which may read more.
	if _, err := router.Handle(context.Background(), []byte(`{"operation":"list_executions"}`)); err != nil {
		t.Fatal(err)
	}
	drs.EC2FromEnv(func(k string) (string, bool) { record(k); return "", false })
	for k := range read {
		if _, ok := listed[k]; !ok {
			t.Errorf("the Lambda reads %s, which app.LambdaEnvironment does not list", k)
		}
	}
	for _, v := range app.LambdaEnvironment() {
		if v.SetBy == app.SetByStack && !read[v.Name] {
			t.Errorf("%s is listed for the stack to set, but the Lambda does not read it", v.Name)
		}
	}
}

func TestLambdaNotificationSettings(t *testing.T) {
	base := map[string]string{"DRSORCH_STORE": "memory", "DRSORCH_DRS": "sim", "DRSORCH_WORKER": "inline"}
	tests := []struct {
		name string
		env  map[string]string
		want string // "" means the function starts
	}{
		{"nothing", nil, ""},
		{"topic only", map[string]string{"EXECUTION_NOTIFICATIONS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:drsorch-execution-notifications-dev"}, ""},
		{"url and key", map[string]string{"API_GATEWAY_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/dev", "DRSORCH_CALLBACK_KEY": testKey}, ""},
		{"key only", map[string]string{"DRSORCH_CALLBACK_KEY": testKey}, ""},
		{"url without key", map[string]string{"API_GATEWAY_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/dev"},
			"API_GATEWAY_URL is set but DRSORCH_CALLBACK_KEY is not"},
		{"short key", map[string]string{"DRSORCH_CALLBACK_KEY": "abcdef0123"}, "DRSORCH_CALLBACK_KEY must be a hex key of at least 32 bytes"},
		{"key not hex", map[string]string{"DRSORCH_CALLBACK_KEY": strings.Repeat("zz", 32)}, "DRSORCH_CALLBACK_KEY must be a hex key of at least 32 bytes"},
		{"url not a url", map[string]string{"API_GATEWAY_URL": "abc123.execute-api", "DRSORCH_CALLBACK_KEY": testKey}, `API_GATEWAY_URL="abc123.execute-api" is not the API's base URL`},
		{"topic not an arn", map[string]string{"EXECUTION_NOTIFICATIONS_TOPIC_ARN": "drsorch-notifications"}, "is not an SNS topic ARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := app.NewLambda(envOf(env), nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), env["DRSORCH_CALLBACK_KEY"]) && env["DRSORCH_CALLBACK_KEY"] != "":
				t.Fatalf("the error shows the key: %v", err)
			}
		})
	}
}

// fakeSNS answers Publish (SNS's query protocol) and keeps the messages.
type fakeSNS struct {
	mu       sync.Mutex
	messages []url.Values
}

func (f *fakeSNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	f.mu.Lock()
	f.messages = append(f.messages, form)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`)
}

// published returns the text of the messages of an eventType.
func (f *fakeSNS) published(eventType string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.messages {
		for i := 1; m.Get("MessageAttributes.entry."+itoa(i)+".Name") != ""; i++ {
			if m.Get("MessageAttributes.entry."+itoa(i)+".Name") == "eventType" &&
				m.Get("MessageAttributes.entry."+itoa(i)+".Value.StringValue") == eventType {
				var msg map[string]string
				json.Unmarshal([]byte(m.Get("Message")), &msg)
				out = append(out, msg["default"])
			}
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// isolateAWS points the AWS SDK at nothing of the machine's: static dummy
// credentials, no shared files, no instance metadata.
func isolateAWS(t *testing.T) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_REGION": "us-east-1"} {
		t.Setenv(k, v)
	}
}

// TestLambdaPauseLinksWorkOnAnyInstance runs a drill to its pause through one
// instance of the function, with notifications on SNS, and follows the
// notification's resume link through another instance: instances share the
// store and DRSORCH_CALLBACK_KEY, so a link signed by one is honoured by the
// other, and a deployment with another key refuses it.
func TestLambdaPauseLinksWorkOnAnyInstance(t *testing.T) {
	isolateAWS(t)
	sns := &fakeSNS{}
	srv := httptest.NewServer(sns)
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SNS", srv.URL)

	fixtures, _ := filepath.Abs(filepath.Join("testdata", "lambda-pause-fixtures.json"))
	const apiURL = "https://abc123.execute-api.us-east-1.amazonaws.com/dev"
	env := map[string]string{
		"DRSORCH_STORE":                     "sqlite",
		"DRSORCH_DRS":                       "sim",
		"DRSORCH_WORKER":                    "inline",
		"DRSORCH_DATA":                      t.TempDir(),
		"DRSORCH_SIM_FIXTURES":              fixtures,
		"AWS_REGION":                        "us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME":          "drsorch-execution-handler-dev",
		"EXECUTION_NOTIFICATIONS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:drsorch-execution-notifications-dev",
		"API_GATEWAY_URL":                   apiURL,
		"DRSORCH_CALLBACK_KEY":              testKey,
	}
	ctx := context.Background()
	call := func(t *testing.T, r *lambdafn.Router, event string) map[string]any {
		t.Helper()
		out, err := r.Handle(ctx, []byte(event))
		if err != nil {
			t.Fatalf("%s: %v", event, err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s: %v: %s", event, err, out)
		}
		return m
	}
	first, err := app.NewLambda(envOf(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	started := call(t, first, `{"operation":"start_execution","parameters":{"planId":"plan-pause","executionType":"DRILL","initiatedBy":"tester"}}`)
	id, _ := started["executionId"].(string)
	if id == "" {
		t.Fatalf("start: %v", started)
	}
	status := ""
	for deadline := time.Now().Add(20 * time.Second); status != "PAUSED"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not paused: %s", status)
		}
		call(t, first, `{"operation":"find"}`)
		status, _ = call(t, first, `{"operation":"get_execution","parameters":{"executionId":"`+id+`"}}`)["status"].(string)
	}
	if n := len(sns.published("start")); n != 1 {
		t.Errorf("%d start notifications", n)
	}
	paused := sns.published("pause")
	if len(paused) != 1 {
		t.Fatalf("%d pause notifications", len(paused))
	}
	links := regexp.MustCompile(`https://\S+/execution-callback\?action=(resume|cancel)&taskToken=\S+`).FindAllString(paused[0], -1)
	if len(links) != 2 || !strings.HasPrefix(links[0], apiURL+"/execution-callback?action=resume&taskToken=") {
		t.Fatalf("links of the pause notification: %q\n%s", links, paused[0])
	}
	u, _ := url.Parse(links[0])
	q, _ := json.Marshal(map[string]string{"action": "resume", "taskToken": u.Query().Get("taskToken")})
	callback := `{"httpMethod":"GET","path":"/execution-callback","queryStringParameters":` + string(q) +
		`,"headers":{},"requestContext":{"stage":"dev","httpMethod":"GET"}}`

	t.Run("another deployment's key", func(t *testing.T) {
		other := maps(env, "DRSORCH_CALLBACK_KEY", hex.EncodeToString([]byte(strings.Repeat("k", 32))))
		r, err := app.NewLambda(envOf(other), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res := call(t, r, callback); res["statusCode"] != float64(400) {
			t.Fatalf("a link signed with another key: %v", res)
		}
	})
	t.Run("another instance", func(t *testing.T) {
		second, err := app.NewLambda(envOf(env), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res := call(t, second, callback); res["statusCode"] != float64(200) {
			t.Fatalf("the resume link on another instance: %v", res)
		}
		got := call(t, second, `{"operation":"get_execution","parameters":{"executionId":"`+id+`"}}`)
		if got["status"] != "RUNNING" && got["status"] != "COMPLETED" {
			t.Fatalf("after the resume link: %v", got["status"])
		}
		if n := len(sns.published("resume")); n != 1 {
			t.Errorf("%d resume notifications", n)
		}
	})
}

// maps returns a copy of m with k set to v.
func maps(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		if key != k {
			out[key] = val
		}
	}
	return out
}
