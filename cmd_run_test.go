package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
	"github.com/k3sca/k3sca/steps"
)

// TestRunFlowHeadless drives `k3sca run` on a sandbox: the dry run writes
// nothing, a run without --confirm stops at the load, the full run loads,
// restarts the sandbox's k3s and reports every step in JSON.
func TestRunFlowHeadless(t *testing.T) {
	sb := sandboxtest.New(t)
	top := filepath.Dir(sb.DataDir)
	stage := filepath.Join(top, "stage")
	before := testkit.Fingerprint(t, top)

	dry := runAt(t, "run", "rotate-ca", "-d", sb.DataDir, "--path", stage, "--dry-run")
	if dry.code != exitOK || !strings.Contains(dry.stdout, "dry run, nothing written") || !strings.Contains(dry.stderr, "step 5/7 Load") {
		t.Fatalf("dry run: %d\n%s\n%s", dry.code, dry.stdout, dry.stderr)
	}
	if testkit.Fingerprint(t, top) != before {
		t.Fatal("the dry run changed the sandbox")
	}

	// A missing word is a usage error before the first step: nothing ran,
	// k3s was never stopped.
	before = testkit.Fingerprint(t, top)
	stop := runAt(t, "run", "rotate-ca", "-d", sb.DataDir, "--path", stage, "--yes")
	if stop.code != exitUsage || !strings.Contains(stop.stderr, "confirm them all with --yes --confirm load (missing: --confirm load)") ||
		strings.Contains(stop.stderr, "step 1/7") {
		t.Fatalf("without --confirm load: %d\n%s\n%s", stop.code, stop.stdout, stop.stderr)
	}
	if testkit.Fingerprint(t, top) != before {
		t.Fatal("a run refused for a missing --confirm changed the sandbox")
	}

	logFile := filepath.Join(t.TempDir(), "k3sca.log")
	full := runAt(t, "run", "rotate-ca", "-d", sb.DataDir, "--stage-dir", stage+"2", "--yes", "--confirm", "load", "-o", "json", "--log", logFile)
	if full.code != exitOK {
		t.Fatalf("run: %d\n%s", full.code, full.stderr)
	}
	var rep steps.Report
	if err := json.Unmarshal([]byte(full.stdout), &rep); err != nil {
		t.Fatalf("stdout is not only JSON: %v\n%s", err, full.stdout)
	}
	if !rep.OK || rep.Flow != "rotate-ca" || len(rep.Steps) != 7 || rep.Steps[5].Status != steps.StatusDone {
		t.Fatalf("report: %+v", rep)
	}
	// The structured result an automation reads, whatever the wording.
	res := rep.Result
	if res == nil || res.StagedDir != stage+"2" || !res.Wrote || res.Key == "" || res.NewRevision <= res.Revision ||
		res.OldHash == "" || res.NewHash == res.OldHash || !strings.HasSuffix(res.Token, ":********") || !strings.HasPrefix(res.Token, "K10"+res.NewHash) {
		t.Fatalf("result: %+v", res)
	}
	if _, err := os.Stat(res.Backup); err != nil {
		t.Fatalf("result backup %q: %v", res.Backup, err)
	}
	if strings.Contains(full.stdout+full.stderr, sb.Token.Password) {
		t.Fatal("the token's password was printed without --show-token")
	}
	logged, err := os.ReadFile(logFile)
	if err != nil || strings.Count(string(logged), "msg=step") != 7 || strings.Contains(string(logged), sb.Token.Password) {
		t.Fatalf("--log should hold one record per step and no secret (%v):\n%s", err, logged)
	}
	tok, err := os.ReadFile(filepath.Join(sb.ServerDir, "token"))
	if err != nil || !strings.Contains(string(tok), rep.Steps[2].Outcome.Data.(map[string]any)["newHash"].(string)) {
		t.Fatalf("the sandbox restart did not give server/token the new hash: %s %v", tok, err)
	}
}

func TestRunFlowUsageErrors(t *testing.T) {
	sb := sandboxtest.New(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown service", []string{"run", "rotate-certs", "-d", sb.DataDir, "--services", "nope"}, "unknown \"nope\""},
		{"bad choice", []string{"run", "rotate-custom-ca", "-d", sb.DataDir, "--root", "maybe", "--root-cert", "x"}, "not one of same, new"},
		{"missing root cert", []string{"run", "rotate-custom-ca", "-d", sb.DataDir}, "root cert (--root-cert) is required"},
		{"unknown flow", []string{"run", "rotate-everything"}, "unknown flow \"rotate-everything\"; the flows are: check, "},
		{"unknown step", []string{"run", "rotate-ca", "-d", sb.DataDir, "--only", "stage"}, "its steps are: generate, validate, token, stop, load, restart, plan"},
		{"stop without restart", []string{"run", "rotate-ca", "-d", sb.DataDir, "--skip", "restart", "--yes", "--confirm", "load"}, "it runs only together with step \"restart\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runAt(t, tt.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", r.code, exitUsage, tt.want, r.stderr)
			}
		})
	}
}

func TestRunShowToken(t *testing.T) {
	sb := sandboxtest.New(t)
	r := runAt(t, "run", "rotate-ca", "-d", sb.DataDir, "--dry-run", "--show-token")
	if r.code != exitOK || !strings.Contains(r.stderr, "::server:"+sb.Token.Password) {
		t.Fatalf("--show-token should print the full token: %d\n%s", r.code, r.stderr)
	}
}

func TestWizardRefusesWithoutTerminal(t *testing.T) {
	sb := sandboxtest.New(t)
	r := runAt(t, "wizard", "-d", sb.DataDir)
	if r.code != exitUsage || !strings.Contains(r.stderr, "needs a terminal") || !strings.Contains(r.stderr, "k3sca run") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
}

// TestRestartTimeoutMustBePositive: the restart's bound comes from the
// flag or the setting, and no bound at all is refused before anything runs.
func TestRestartTimeoutMustBePositive(t *testing.T) {
	sb := sandboxtest.New(t)
	for _, tt := range []struct {
		name, env string
		args      []string
	}{
		{name: "flag", args: []string{"--restart-timeout", "0s"}},
		{name: "setting", env: "-1s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("K3SCA_RESTART_TIMEOUT", tt.env)
			}
			r := runAt(t, append([]string{"run", "rotate-ca", "-d", sb.DataDir}, tt.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, "--restart-timeout must be positive") {
				t.Fatalf("exit %d, want %d with the bound refused:\n%s", r.code, exitUsage, r.stderr)
			}
		})
	}
}
