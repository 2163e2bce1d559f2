//go:build integration && linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/drsorch/drsorch/dynamodb"
	"github.com/drsorch/drsorch/internal/testenv"
)

// startDRSSimCommand runs `drsorch drs-sim` (the bootstrap binary as the
// command-line tool) and returns its URL and its log.
func startDRSSimCommand(t *testing.T, bin string, args ...string) (string, *testenv.LockedBuffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"drs-sim", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.LockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urls <- url
			}
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("drs-sim log:\n%s", logs)
		}
	})
	select {
	case url := <-urls:
		return url, logs
	case <-exited:
		t.Fatalf("drs-sim exited:\n%s", logs)
	case <-time.After(15 * time.Second):
		t.Fatalf("drs-sim printed no URL:\n%s", logs)
	}
	return "", nil
}

// adminEvent is an API Gateway REST event whose caller Cognito verified as an administrator.
func adminEvent(t *testing.T, method, path string, body any) string {
	t.Helper()
	ev := map[string]any{
		"resource": path, "path": path, "httpMethod": method,
		"headers": map[string]string{"Content-Type": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com"},
		"requestContext": map[string]any{
			"httpMethod": method, "stage": "test", "requestId": "rie-drill", "identity": map[string]string{"sourceIp": "203.0.113.7"},
			"authorizer": map[string]any{"claims": map[string]any{"sub": "0b8e4a5c-7d1f-4c1e-9a61-5f3d2e1c0b9a",
				"email": "ops@example.com", "cognito:username": "ops", "cognito:groups": "DRSOrchestrationAdmin"}},
		},
		"isBase64Encoded": false,
	}
	if body != nil {
		b, _ := json.Marshal(body)
		ev["body"] = string(b)
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

// TestLambdaDrillUnderRIE runs a two-wave drill through the bootstrap binary
// under the Lambda Runtime Interface Emulator, with its production backends:
// the DynamoDB store on DynamoDB Local and DRS through the AWS SDK against
// `drsorch drs-sim`, both reached through AWS_ENDPOINT_URL_DYNAMODB and
// AWS_ENDPOINT_URL_DRS. The plan is made through API Gateway events; the drill
// is driven by direct invocations, one at a time (start_execution, then find
// and get_execution until COMPLETED, get_recovery_instances,
// terminate_instances, get_termination_status).
func TestLambdaDrillUnderRIE(t *testing.T) {
	rie := rieBinary(t)
	db := testenv.NeedDynamoDBLocal(t)
	began := time.Now()
	boot := bootstrap(t)

	tables := dynamodb.Tables{ExecutionHistory: "drsorch-execution-history-rie", RecoveryPlans: "drsorch-recovery-plans-rie",
		ProtectionGroups: "drsorch-protection-groups-rie", TargetAccounts: "drsorch-target-accounts-rie"}
	if err := dynamodb.New(db.Client(), tables).CreateTables(context.Background()); err != nil {
		t.Fatal(err)
	}
	fixtures, _ := filepath.Abs(filepath.Join("testdata", "rie-drill-drs.json"))
	simURL, simLog := startDRSSimCommand(t, boot, "--fixtures", fixtures, "--speed", "600", "--seed", "7")

	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	addr, api := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, boot)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LOG_LEVEL=warn",
		"DRSORCH_WORKER=inline", // the emulator runs one invocation at a time: no self-invocation
		"EXECUTION_HISTORY_TABLE=" + tables.ExecutionHistory, "RECOVERY_PLANS_TABLE=" + tables.RecoveryPlans,
		"PROTECTION_GROUPS_TABLE=" + tables.ProtectionGroups, "TARGET_ACCOUNTS_TABLE=" + tables.TargetAccounts,
		"AWS_ENDPOINT_URL_DYNAMODB=" + db.Endpoint, "AWS_ENDPOINT_URL_DRS=" + simURL,
		"AWS_REGION=us-east-1", "AWS_ACCOUNT_ID=123456789012",
		"AWS_ACCESS_KEY_ID=AKIDRIEDRILL", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=" + empty, "AWS_SHARED_CREDENTIALS_FILE=" + empty, "AWS_EC2_METADATA_DISABLED=true"}
	logs := &testenv.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the emulator and the function it starts
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", logs)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator does not listen on %s", addr)
		}
	}
	var took []time.Duration
	invoke := func(t *testing.T, event string) map[string]any {
		t.Helper()
		at := time.Now()
		defer func() { took = append(took, time.Since(at)) }()
		resp, err := http.Post("http://"+addr+"/2015-03-31/functions/function/invocations", "application/json", strings.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
			t.Fatalf("%s\n→ %d %s", event, resp.StatusCode, b)
		}
		if _, failed := out["errorType"]; failed {
			t.Fatalf("%s\n→ %s", event, b)
		}
		return out
	}
	apiCall := func(t *testing.T, method, path string, body any, want int) map[string]any {
		t.Helper()
		env := invoke(t, adminEvent(t, method, path, body))
		var out map[string]any
		json.Unmarshal([]byte(fmt.Sprint(env["body"])), &out)
		if env["statusCode"] != float64(want) {
			t.Fatalf("%s %s → %v %v", method, path, env["statusCode"], env["body"])
		}
		return out
	}
	step := func(name string, since time.Time) { t.Logf("%-52s %6.2fs", name, time.Since(since).Seconds()) }
	setup := time.Since(began)

	// The plan, through API Gateway: two groups, two waves.
	start := time.Now()
	apiCall(t, "POST", "/protection-groups", map[string]any{"groupName": "rie-db", "region": "us-east-1",
		"sourceServerIds": []string{"s-0db0000000000001a", "s-0db0000000000002a"}}, http.StatusCreated)
	apiCall(t, "POST", "/protection-groups", map[string]any{"groupName": "rie-app", "region": "us-east-1",
		"serverSelectionTags": map[string]string{"Tier": "app"}}, http.StatusCreated)
	groups := apiCall(t, "GET", "/protection-groups", nil, http.StatusOK)
	ids := map[string]string{}
	for _, g := range groups["groups"].([]any) {
		m := g.(map[string]any)
		ids[m["groupName"].(string)] = m["groupId"].(string)
	}
	plan := apiCall(t, "POST", "/recovery-plans", map[string]any{"planName": "rie-drill", "waves": []any{
		map[string]any{"waveNumber": 0, "waveName": "db", "protectionGroupId": ids["rie-db"]},
		map[string]any{"waveNumber": 1, "waveName": "app", "protectionGroupId": ids["rie-app"]},
	}}, http.StatusCreated)
	planID, _ := plan["planId"].(string)
	if planID == "" || ids["rie-db"] == "" || ids["rie-app"] == "" {
		t.Fatalf("plan %v, groups %v", plan, groups)
	}
	step("plan made through API Gateway events (4 invocations)", start)

	// The drill, through direct invocations.
	start = time.Now()
	started := invoke(t, `{"operation":"start_execution","parameters":{"planId":"`+planID+`","executionType":"DRILL","initiatedBy":"rie-drill"}}`)
	id, _ := started["executionId"].(string)
	if id == "" {
		t.Fatalf("start_execution: %v", started)
	}
	get := `{"operation":"get_execution","parameters":{"executionId":"` + id + `"}}`
	var x map[string]any
	polls := 0
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		found := invoke(t, `{"operation":"find"}`)
		if found["statusCode"] != float64(200) {
			t.Fatalf("find: %v", found)
		}
		polls++
		x = invoke(t, get)
		if x["status"] == "COMPLETED" {
			break
		}
		if s, _ := x["status"].(string); s != "RUNNING" && s != "PENDING" || time.Now().After(deadline) {
			t.Fatalf("after %d polls: %s %v", polls, x["status"], x["errorMessage"])
		}
	}
	step(fmt.Sprintf("drill COMPLETED (%d find polls)", polls), start)
	waves := x["waves"].([]any)
	if len(waves) != 2 {
		t.Fatalf("waves %v", waves)
	}
	for _, w := range waves {
		wm := w.(map[string]any)
		if wm["status"] != "COMPLETED" || len(wm["serverStatuses"].([]any)) != 2 || !strings.HasPrefix(fmt.Sprint(wm["jobId"]), "drsjob-") {
			t.Errorf("wave %v %v: %d servers, job %v", wm["waveNumber"], wm["status"], len(wm["serverStatuses"].([]any)), wm["jobId"])
		}
	}

	start = time.Now()
	inst := invoke(t, `{"operation":"get_recovery_instances","parameters":{"executionId":"`+id+`"}}`)
	if inst["totalInstances"] != float64(4) {
		t.Fatalf("get_recovery_instances: %v", inst)
	}
	term := invoke(t, `{"operation":"terminate_instances","parameters":{"executionId":"`+id+`"}}`)
	if term["totalTerminated"] != float64(4) || len(term["jobs"].([]any)) == 0 {
		t.Fatalf("terminate_instances: %v", term)
	}
	var ts map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ts = invoke(t, `{"operation":"get_termination_status","parameters":{"executionId":"`+id+`"}}`)
		if ts["allCompleted"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("get_termination_status: %v", ts)
		}
	}
	if ts["completedServers"] != float64(4) || ts["anyFailed"] == true {
		t.Errorf("termination %v", ts)
	}
	step("instances listed, terminated, termination completed", start)

	// The record is in DynamoDB Local; every DRS call went over the wire to drs-sim.
	out, err := db.Client().Query(context.Background(), &ddb.QueryInput{TableName: aws.String(tables.ExecutionHistory),
		KeyConditionExpression: aws.String("executionId = :id"), ExpressionAttributeValues: map[string]types.AttributeValue{
			":id": &types.AttributeValueMemberS{Value: id}}})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("the execution in DynamoDB Local: %v %v", out, err)
	}
	if st := out.Items[0]["status"].(*types.AttributeValueMemberS).Value; st != "COMPLETED" {
		t.Errorf("stored status %s", st)
	}
	calls := simLog.String()
	for op, want := range map[string]int{"StartRecovery": 2, "TerminateRecoveryInstances": 1} {
		if n := strings.Count(calls, "op="+op+" "); n != want {
			t.Errorf("drs-sim served %d %s calls, want %d", n, op, want)
		}
	}
	slices.Sort(took)
	t.Logf("setup (DynamoDB Local, bootstrap build, drs-sim, tables) %.2fs; drill %.2fs; %d invocations, median %v, max %v",
		setup.Seconds(), time.Since(began).Seconds()-setup.Seconds(), len(took),
		took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
}
