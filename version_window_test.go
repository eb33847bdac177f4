package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
	"github.com/k3sca/k3sca/steps"
)

// TestCheckTakesTheVersionsWindow: with leaf certificates 105 days from
// expiry, check needs attention on a k3s that renews within 120 days, not
// on one from before the 2025-05 releases (90 days), unless --renew-days
// (or K3SCA_RENEW_DAYS) says otherwise.
func TestCheckTakesTheVersionsWindow(t *testing.T) {
	sb, err := sandbox.Create(context.Background(), sandbox.Input{
		DataDir: filepath.Join(t.TempDir(), "data"), Product: product.K3s, Now: testkit.Now.Add(-260 * 24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := runAt(t, "check", "-d", sb.DataDir); r.code != 1 || !strings.Contains(r.stderr, "within 120 days") {
		t.Errorf("k3s v1.36.3: exit %d, stderr %q; want 1 within 120 days", r.code, r.stderr)
	}
	if err := sandbox.SetVersion(sb.DataDir, product.K3s, "v1.32.4+k3s1", testkit.Now); err != nil {
		t.Fatal(err)
	}
	r := runAt(t, "check", "-d", sb.DataDir)
	if r.code != 0 || !strings.Contains(r.stderr, "v1.32.4+k3s1 renews leaf certificates within 90 days (k3s-io/k3s#12232); --renew-days overrides") {
		t.Errorf("k3s v1.32.4: exit %d, stderr %q; want 0 and the 90-day window named", r.code, r.stderr)
	}
	if r := runAt(t, "check", "-d", sb.DataDir, "--renew-days", "120"); r.code != 1 || strings.Contains(r.stderr, "90 days") {
		t.Errorf("--renew-days 120 on v1.32.4: exit %d, stderr %q; want 1", r.code, r.stderr)
	}
	t.Setenv("K3SCA_RENEW_DAYS", "120")
	if r := runAt(t, "run", "check", "-d", sb.DataDir); r.code != 1 {
		t.Errorf("K3SCA_RENEW_DAYS=120 on v1.32.4 (run check): exit %d, stderr %q; want 1", r.code, r.stderr)
	}
}

// TestRunRefusedForTheVersion: a flow the version table refuses exits 3
// with the reason before any step, and the JSON report names the version.
func TestRunRefusedForTheVersion(t *testing.T) {
	sb := sandboxtest.New(t)
	if err := sandbox.SetVersion(sb.DataDir, product.K3s, "v1.25.6+k3s1", testkit.Now); err != nil {
		t.Fatal(err)
	}
	r := runAt(t, "run", "rotate-ca", "-d", sb.DataDir, "--stage-root", t.TempDir(), "--yes", "--confirm", "load", "-o", "json")
	if r.code != exitRefused || !strings.Contains(r.stderr, "refused: rotate-ca is refused before its first step on v1.25.6+k3s1") ||
		strings.Contains(r.stderr, "step 1/") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var rep steps.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.K3sVersion == nil || rep.K3sVersion.Version != "v1.25.6+k3s1" || len(rep.Preflight) == 0 || rep.Preflight[0].Action != "refuse" {
		t.Errorf("JSON report:\n%s", r.stdout)
	}
	if rep.Result != nil && rep.Result.StagedDir != "" {
		t.Errorf("the report names a staged dir though nothing was staged: %s", rep.Result.StagedDir)
	}
}
