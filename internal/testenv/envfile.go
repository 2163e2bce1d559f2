package testenv

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
)

// LoadEnvFile adds the KEY=VALUE lines of the file at path to env (blank
// lines and # comments skipped). A missing file adds nothing; a line that is
// not KEY=VALUE fails the test.
func LoadEnvFile(t testing.TB, env map[string]string, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", path, line)
		}
		env[k] = v
	}
}
