package app_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/drsorch/drsorch/internal/app"
)

func TestDataDirIsLocked(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock here")
	}
	dir := t.TempDir()
	a := open(t, app.Config{DataDir: dir, Demo: app.DemoOff})
	_, err := app.New(context.Background(), app.Config{DataDir: dir, Demo: app.DemoOff})
	if !errors.Is(err, app.ErrDataDirLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) ||
		!strings.Contains(err.Error(), filepath.Join(dir, app.LockFile)) {
		t.Fatalf("second open of a data directory: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := open(t, app.Config{DataDir: dir, Demo: app.DemoOff}) // the lock went with the first app
	b.Close()
	if err := b.Close(); err != nil { // closing twice is harmless
		t.Fatal(err)
	}
}

func TestTestHooksRefuseBadValues(t *testing.T) {
	tests := []struct {
		name, env, value string
		ok               bool
	}{
		{"not a number", app.EnvKillAfterStartRecovery, "yes", false},
		{"zero", app.EnvKillAfterStartRecovery, "0", false},
		{"negative", app.EnvKillAfterTerminate, "-1", false},
		{"armed", app.EnvKillAfterStartRecovery, "3", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == tc.env {
					return tc.value
				}
				return ""
			}
			a, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), Demo: app.DemoOff, Getenv: getenv})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				a.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.env) {
				t.Fatalf("%s=%q: %v", tc.env, tc.value, err)
			}
		})
	}
}
