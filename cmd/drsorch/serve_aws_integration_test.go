//go:build integration

package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch/internal/testenv"
)

// TestServeDemoDrillOnAWSBackends runs `drsorch serve --drs aws` with
// AWS_ENDPOINT_URL_DRS pointing at `drsorch drs-sim --fixtures
// examples/demo-drs.json`, and the demo drill end to end through the SDK:
// once on the SQLite store, once on DynamoDB Local (`--store dynamodb
// --create-tables`, tables named by the Lambda's variables).
func TestServeDemoDrillOnAWSBackends(t *testing.T) {
	bin := buildBinary(t)
	fixtures, _ := filepath.Abs(filepath.Join("..", "..", "examples", "demo-drs.json"))
	for _, store := range []string{"sqlite", "dynamodb"} {
		t.Run(store, func(t *testing.T) {
			sim := startDRSSimProcess(t, bin, "--fixtures", fixtures, "--speed", "600")
			dir := t.TempDir()
			empty := filepath.Join(dir, "empty")
			os.WriteFile(empty, nil, 0o600)
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
				"AWS_ENDPOINT_URL_DRS=" + sim.url, "AWS_REGION=us-east-1",
				"AWS_ACCESS_KEY_ID=AKIDSERVEAWS", "AWS_SECRET_ACCESS_KEY=secret",
				"AWS_CONFIG_FILE=" + empty, "AWS_SHARED_CREDENTIALS_FILE=" + empty, "AWS_EC2_METADATA_DISABLED=true"}
			args := []string{"serve", "--data", filepath.Join(dir, "data"), "--drs", "aws", "--demo", "--poll-interval", "200ms"}
			if store == "dynamodb" {
				db := testenv.NeedDynamoDBLocal(t)
				env = append(env, "AWS_ENDPOINT_URL_DYNAMODB="+db.Endpoint,
					"EXECUTION_HISTORY_TABLE=demo-execution-history", "RECOVERY_PLANS_TABLE=demo-recovery-plans",
					"PROTECTION_GROUPS_TABLE=demo-protection-groups", "TARGET_ACCOUNTS_TABLE=demo-target-accounts")
				args = append(args, "--store", "dynamodb", "--create-tables")
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			cmd := exec.Command(bin, append(args, "--addr", addr)...)
			cmd.Env = env
			out := &testenv.LockedBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			began := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
				if t.Failed() {
					t.Logf("serve output:\n%s", out)
				}
			})
			base := "http://" + addr
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if resp, err := http.Get(base + "/health"); err == nil {
					resp.Body.Close()
					break
				}
				select {
				case err := <-exited:
					t.Fatalf("serve exited: %v\n%s", err, out)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("serve does not answer:\n%s", out)
				}
			}
			ready := time.Since(began)
			// serve prints its banner just after it starts answering: give it a moment.
			const seeded = "Seeded the demo: 3 protection groups and the plan demo-plan (their 24 servers come from DRS)"
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), seeded); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Errorf("serve did not say it seeded the groups and the plan:\n%s", out)
					break
				}
			}
			tok, err := os.ReadFile(filepath.Join(dir, "data", "admin-token"))
			if err != nil {
				t.Fatal(err)
			}
			call := func(method, path string, body, v any) int {
				t.Helper()
				var rd io.Reader
				if body != nil {
					b, _ := json.Marshal(body)
					rd = bytes.NewReader(b)
				}
				req, _ := http.NewRequest(method, base+path, rd)
				req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if v != nil && json.Unmarshal(b, v) != nil {
					t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
				}
				return resp.StatusCode
			}

			start := time.Now()
			var started struct {
				ExecutionID string `json:"executionId"`
			}
			if code := call("POST", "/executions", map[string]string{"planId": "demo-plan", "executionType": "DRILL", "initiatedBy": "aws-backends"}, &started); code != http.StatusAccepted {
				t.Fatalf("start: %d", code)
			}
			var x struct {
				Status         string `json:"status"`
				OutcomeSummary string `json:"outcomeSummary"`
				ErrorMessage   string `json:"errorMessage"`
			}
			for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				call("GET", "/executions/"+started.ExecutionID, nil, &x)
				if x.Status != "PENDING" && x.Status != "RUNNING" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the drill is still %s", x.Status)
				}
			}
			drill := time.Since(start)
			if x.Status != "COMPLETED" || x.OutcomeSummary != "All 3 wave(s) completed successfully. 24 server(s) launched." {
				t.Fatalf("drill %s: %q %s", x.Status, x.OutcomeSummary, x.ErrorMessage)
			}
			var inst struct {
				TotalInstances int `json:"totalInstances"`
			}
			if call("GET", "/executions/"+started.ExecutionID+"/recovery-instances", nil, &inst); inst.TotalInstances != 24 {
				t.Errorf("%d recovery instances", inst.TotalInstances)
			}
			calls := sim.stderr.String()
			if n := strings.Count(calls, "op=StartRecovery "); n != 3 {
				t.Errorf("drs-sim served %d StartRecovery calls, want one per wave", n)
			}
			t.Logf("serve --drs aws --store %s: ready in %v; demo drill (3 waves, 24 servers, drs-sim at 600x) COMPLETED in %v; %d DRS calls over the wire",
				store, ready.Round(time.Millisecond), drill.Round(time.Millisecond), strings.Count(calls, "drs call"))
		})
	}
}
