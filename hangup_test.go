package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// TestHangupEndsTheFlowAsCtrlCDoes: the SIGHUP of a dropped SSH session
// ends k3sca the way ctrl+c does, not at once. `k3sca --plain` on a
// sandbox with k3s running: "Rotate the self-signed CAs", its set staged
// (step 1), then SIGHUP at the question that would stop k3s. k3sca exits
// on its own (not killed by the signal), saying that the flow stopped,
// what it left (the staged dir) and that k3s runs; k3s is still active and
// the CAs on disk are the ones it had; the --log file records how the
// flow ended. Without SIGHUP among the signals k3sca handles, the process
// dies of it and says nothing.
func TestHangupEndsTheFlowAsCtrlCDoes(t *testing.T) {
	bin := builtBinary(t)
	root := filepath.Join(t.TempDir(), "sb")
	if out, err := exec.Command(bin, "sandbox", "--no-tui", "--dir", root).CombinedOutput(); err != nil {
		t.Fatalf("sandbox: %v\n%s", err, out)
	}
	dd := filepath.Join(root, "data")
	if out, err := exec.Command(bin, "sandbox", "start", "-d", dd).CombinedOutput(); err != nil {
		t.Fatalf("sandbox start: %v\n%s", err, out)
	}
	caBefore, err := os.ReadFile(pki.ServerCAPath(product.ServerDir(dd)))
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "k3sca.log")
	cmd := exec.Command(bin, "--plain", "-d", dd, "--log", logFile)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out testkit.LockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitFor := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), want); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%q never printed:\n%s", want, out.String())
			}
		}
	}
	answer := func(prompt, line string) {
		t.Helper()
		waitFor(prompt)
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	answer("choice [1-9, d, q]: ", "5")
	answer("staging dir [", "")
	answer(`? [y/N]`, "y")
	waitFor(`step 4: type "load"`)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("k3sca did not end after SIGHUP:\n%s", out.String())
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("k3sca died of %v instead of ending the flow:\n%s", ws.Signal(), out.String())
		}
	}
	got := out.String()
	for _, want := range []string{"stopped: interrupted before step 4", "left behind: ", "rm -rf ", "k3s is running", "error: interrupted: hangup signal received"} {
		if !strings.Contains(got[strings.Index(got, `step 4: type "load"`):], want) {
			t.Errorf("after SIGHUP the output does not say %q:\n%s", want, got)
		}
	}
	// The log is the operator's record of what k3sca did on its own.
	logged, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(logged), `msg=end flow=rotate-ca dryRun=false ok=false stopped="interrupted before step 4 (Stop k3s for the datastore write)" unit=k3s active=true`) {
		t.Errorf("the log does not record how the flow ended (%v):\n%s", err, logged)
	}
	if state, err := os.ReadFile(filepath.Join(dd, ".k3sca-service")); err != nil || strings.TrimSpace(string(state)) != "active" {
		t.Errorf("k3s after SIGHUP: %q %v, want active", state, err)
	}
	if caAfter, err := os.ReadFile(pki.ServerCAPath(product.ServerDir(dd))); err != nil || string(caAfter) != string(caBefore) {
		t.Errorf("the server CA on disk changed after SIGHUP (%v)", err)
	}
}
