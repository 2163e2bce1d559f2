//go:build integration && linux

package main

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
	"syscall"
	"testing"
	"time"

	"github.com/drsorch/drsorch/internal/testenv"
)

// rieBinary finds the Lambda Runtime Interface Emulator: DRSORCH_LAMBDA_RIE
// (set by .ci/run), else a build left by .ci/lambda-rie/install.sh.
func rieBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DRSORCH_LAMBDA_RIE"); p != "" {
		return p
	}
	p, _ := filepath.Abs("../../.ci/.cache/lambda-rie/bin/aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	msg := "the Lambda Runtime Interface Emulator is not installed: DRSORCH_LAMBDA_RIE=\"$(bash .ci/lambda-rie/install.sh)\""
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestLambdaUnderRIE runs the bootstrap binary under the Runtime Interface
// Emulator, as Lambda runs it on provided.al2023, and invokes it with an API
// Gateway event, a direct invocation and an EventBridge event, one at a time.
func TestLambdaUnderRIE(t *testing.T) {
	rie := rieBinary(t)
	boot := bootstrap(t)
	addr, api := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, boot)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir, "LOG_LEVEL=warn"}
	for k, v := range localEnv(t) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the emulator and the function it starts
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", logs.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator does not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	invoke := func(t *testing.T, event string) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		resp, err := http.Post("http://"+addr+"/2015-03-31/functions/function/invocations", "application/json", strings.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		return string(b), time.Since(start)
	}

	// The first event starts the function: the emulator's cold start.
	out, cold := invoke(t, `{}`)
	if !strings.Contains(out, `"INVALID_INVOCATION"`) {
		t.Fatalf("{} answered %s", out)
	}
	t.Logf("cold start under the emulator (process start, init, first event answered): %s", cold.Round(time.Millisecond))

	t.Run("API Gateway", func(t *testing.T) {
		out, _ := invoke(t, readEvent(t, "http-v1-get-execution"))
		var env struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
			Body       string            `json:"body"`
		}
		if err := json.Unmarshal([]byte(out), &env); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if env.StatusCode != 200 || env.Headers["X-Frame-Options"] != "DENY" || !strings.Contains(env.Body, `"planName":"blog"`) {
			t.Errorf("envelope %s", out)
		}
	})
	t.Run("direct invocation", func(t *testing.T) {
		out, _ := invoke(t, `{"operation":"get_execution","parameters":{"executionId":"6a1f0c2e-0000-4000-8000-000000000003"}}`)
		if !strings.Contains(out, `"status":"PAUSED"`) || strings.Contains(out, "taskToken") || strings.Contains(out, "ext-7f3a91c2") {
			t.Errorf("answer %s", out)
		}
	})
	t.Run("EventBridge", func(t *testing.T) {
		out, _ := invoke(t, readEvent(t, "eventbridge-scheduled-event"))
		if !strings.Contains(out, `"statusCode":200`) || !strings.Contains(out, `"executionsFound":3`) {
			t.Errorf("answer %s", out)
		}
	})
	t.Run("a Lambda error", func(t *testing.T) {
		out, _ := invoke(t, `{"action":"advance"}`)
		if !strings.Contains(out, `"errorType":"drsorch.InvalidInput"`) {
			t.Errorf("answer %s", out)
		}
	})
}
