package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/steps"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// builtBinary builds k3sca once per test run, for tests that run the
// commands k3sca prints for the operator and for whole-process benchmarks.
func builtBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "k3sca-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "k3sca")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build k3sca: %v", binErr)
	}
	return binPath
}

// askDropping answers yes to every question, typing the word asked for, and
// removes the listener's regenerate trigger just before the restart: the
// state a real server was left in when k3sca did not write it.
type askDropping struct{ server string }

func (a askDropping) Confirm(_ context.Context, _ int, title, _ string) (bool, error) {
	if title == "Restart k3s on this server" {
		_ = os.Remove(pki.RegenerateTriggerPath(a.server))
	}
	return true, nil
}

// TestRestartFailureWaysOut drives a forced new-root rotation whose
// restart cannot come back (the trigger is gone, as on the real server of
// issue 14), checks that the failure carries k3s's log line, the state and
// the two ways out, then runs each way out as printed, with the built
// binary, on a copy of the failed sandbox: each brings k3s up again.
func TestRestartFailureWaysOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := builtBinary(t)
	root := t.TempDir()
	// The binary reads the wall clock, so the whole test does.
	dd := filepath.Join(root, "sb", "data")
	if out, err := exec.Command(bin, "sandbox", "--no-tui", "--dir", filepath.Dir(dd)).CombinedOutput(); err != nil {
		t.Fatalf("sandbox: %v\n%s", err, out)
	}
	set, err := pki.GenerateCustomCA(context.Background(), pki.GenOptions{Product: product.K3s, Now: time.Now().Add(-time.Hour)}, pki.CustomCAInput{})
	if err != nil {
		t.Fatal(err)
	}
	rootDir := filepath.Join(root, "pki")
	if err := set.Write(context.Background(), rootDir, time.Now()); err != nil {
		t.Fatal(err)
	}
	svc := &sandbox.Services{DataDir: dd, Product: product.K3s, Serve: true}
	t.Cleanup(func() { _ = svc.Close() })
	env := steps.Env{DataDir: dd, Product: product.K3s, Services: svc, ClusterName: "sandbox", RestartTimeout: 2 * time.Second}.WithDefaults()
	spec, _ := steps.FindFlow(steps.Flows(), steps.FlowRotateCustomCA)
	vals := spec.InitialValues(env)
	vals["root"], vals["root-cert"], vals["root-key"] = "new", filepath.Join(rootDir, "ca/root-ca.pem"), filepath.Join(rootDir, "ca/root-ca.key")
	vals["path"] = filepath.Join(root, "stage")
	f, err := spec.Build(context.Background(), env, vals)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep, err := (&steps.Runner{Out: &out, Ask: askDropping{server: product.ServerDir(dd)}}).Run(context.Background(), f)
	var nr *steps.NotReadyError
	if !errors.As(err, &nr) {
		t.Fatalf("the restart must fail as on the real server: %v\n%s", err, out.String())
	}
	// The JSON report carries the same: k3s's log line, the state, both
	// ways out as commands.
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back steps.Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	var details string
	for _, st := range back.Steps {
		if st.ID == "restart" && st.Outcome != nil {
			details = strings.Join(st.Outcome.Details, "\n")
		}
	}
	for _, want := range []string{"level=fatal", "certificate signed by unknown authority", "the datastore holds the new CA set", nr.FixForward, nr.PutBack} {
		if want == "" || !strings.Contains(details, want) {
			t.Errorf("the JSON report's restart step lacks %q:\n%s", want, details)
		}
	}
	for _, want := range []string{"level=fatal", "certificate signed by unknown authority", "the datastore holds the new CA set", "fix forward", "put the backup back"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the failure report lacks %q:\n%s", want, out.String())
		}
	}
	// The log command, as printed, shows k3s's reason.
	if b, err := exec.Command("bash", "-c", nr.LogCommand).CombinedOutput(); err != nil || !strings.Contains(string(b), "certificate signed by unknown authority") {
		t.Errorf("%s: %v\n%s", nr.LogCommand, err, b)
	}
	// The last line says k3s is stopped and how to start it.
	_, start, ok := strings.Cut(out.String(), "k3s is stopped, as it was before this flow: start it with: ")
	if !ok {
		t.Fatalf("the end does not say how to start k3s:\n%s", out.String())
	}
	start, _, _ = strings.Cut(start, "\n")
	ways := map[string]string{"fix forward": nr.FixForward, "put back": nr.PutBack,
		"start as printed, after the trigger": triggerCommandFor(dd) + " && " + start}
	for name, cmd := range ways {
		t.Run(name, func(t *testing.T) {
			// Each way out runs on its own copy of the failed node.
			cp := filepath.Join(t.TempDir(), "sb")
			if out, err := exec.Command("cp", "-a", filepath.Dir(dd), cp).CombinedOutput(); err != nil {
				t.Fatalf("copy: %v %s", err, out)
			}
			cmd = strings.ReplaceAll(cmd, filepath.Dir(dd), cp)
			sh := exec.Command("bash", "-c", cmd)
			sh.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
			if out, err := sh.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
			svc := &sandbox.Services{DataDir: filepath.Join(cp, "data"), Product: product.K3s}
			if active, err := svc.IsActive(context.Background(), "k3s"); err != nil || !active {
				t.Fatalf("after %q the sandbox's k3s is not running (%v)", cmd, err)
			}
			if _, err := sandbox.SimulateRestart(context.Background(), filepath.Join(cp, "data"), product.K3s, time.Now()); err != nil {
				t.Fatalf("after %q the server still does not come up: %v", cmd, err)
			}
		})
	}
}

// triggerCommandFor is the regenerate trigger of dd, as the fix forward
// creates it.
func triggerCommandFor(dd string) string {
	p := pki.RegenerateTriggerPath(product.ServerDir(dd))
	return "touch " + p + " && chmod 600 " + p
}
