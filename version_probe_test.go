package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
)

// TestSingleStepCommandsSkipTheVersion: the single-step commands that
// never use the k3s version (generate, validate, token, rotate) do not
// run the node's `k3s --version`; check, which takes its renewal window
// from the version, does. The sandbox's simulated binary counts its runs.
func TestSingleStepCommandsSkipTheVersion(t *testing.T) {
	sb, err := sandbox.Create(context.Background(), sandbox.Input{
		DataDir: filepath.Join(t.TempDir(), "data"), Product: product.K3s, Now: testkit.Now.Add(-24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	dd := sb.DataDir
	marker := filepath.Join(t.TempDir(), "runs")
	script := fmt.Sprintf("#!/bin/sh\necho run >> '%s'\nprintf '%%s\\n' 'k3s version %s (sandbox)' 'go version go1.26.5'\n", marker, sandbox.Version(product.K3s))
	if err := os.WriteFile(sandbox.Program(dd, product.K3s), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	runs := func() int {
		data, err := os.ReadFile(marker)
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, b := range data {
			if b == '\n' {
				n++
			}
		}
		return n
	}
	staged := filepath.Join(t.TempDir(), "rotation")
	for _, args := range [][]string{
		{"generate", "rotation", "-d", dd, "--out", staged, "--yes"},
		{"validate", "-d", dd, "--path", staged},
		{"token", "-d", dd, "--path", staged},
		{"rotate", "-d", dd, "--dry-run"},
	} {
		if r := runAt(t, args...); r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		if n := runs(); n != 0 {
			t.Fatalf("%v ran k3s --version %d times, want 0", args, n)
		}
	}
	if r := runAt(t, "check", "-d", dd); r.code > 1 {
		t.Fatalf("check: exit %d\n%s", r.code, r.stderr)
	}
	if n := runs(); n != 1 {
		t.Fatalf("check ran k3s --version %d times, want 1", n)
	}
}
