//go:build integration

package deploy_test

import (
	"archive/zip"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMakePackage runs `make package` as docs/deploy.md does and checks the
// zip the stack's Code points at: one executable `bootstrap`, a static Linux
// binary for the architecture asked for. It builds for this machine's
// architecture, so the build cache of the other tests serves it.
func TestMakePackage(t *testing.T) {
	archs := map[string]struct {
		lambda  string
		machine elf.Machine
	}{"amd64": {"x86_64", elf.EM_X86_64}, "arm64": {"arm64", elf.EM_AARCH64}}
	arch, ok := archs[runtime.GOARCH]
	if !ok {
		t.Skipf("no Lambda architecture for %s", runtime.GOARCH)
	}
	for _, tool := range []string{"make", "zip"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("make package needs %s", tool)
			}
			t.Skipf("make package needs %s", tool)
		}
	}
	dist := t.TempDir()
	start := time.Now()
	cmd := exec.Command("make", "-C", "..", "package", "LAMBDA_ARCH="+arch.lambda, "DIST="+dist)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	t.Logf("make package LAMBDA_ARCH=%s: %v\n%s", arch.lambda, time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(out)))

	zr, err := zip.OpenReader(filepath.Join(dist, "drsorch-lambda.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("the zip holds %v, want only bootstrap", names)
	}
	f := zr.File[0]
	if f.Mode()&0o111 == 0 {
		t.Errorf("bootstrap has mode %v: Lambda cannot execute it", f.Mode())
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	w, err := os.Create(bin)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(w, rc)
	rc.Close()
	w.Close()
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	defer ef.Close()
	if ef.Machine != arch.machine {
		t.Errorf("bootstrap is for %v, want %v", ef.Machine, arch.machine)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("bootstrap is dynamically linked; provided.al2023 wants a static binary (CGO_ENABLED=0)")
		}
	}
	if ef.Section(".symtab") != nil {
		t.Error("bootstrap is not stripped (-ldflags '-s -w')")
	}
}
