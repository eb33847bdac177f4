package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/steps"
)

// tmuxSession drives the real k3sca binary in a detached tmux session.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func (s tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", "wz") }

// waitFor polls the screen until it contains want.
func (s tmuxSession) waitFor(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		scr := s.screen()
		if strings.Contains(scr, want) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %q; last screen:\n%s", want, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s tmuxSession) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		s.tmux("send-keys", "-t", "wz", k)
		time.Sleep(150 * time.Millisecond) // keep ESC-free key sequences apart
	}
}

// TestWizardInTmux runs the built binary's wizard at 80x24 in tmux on a
// sandbox: a cross-signed CA rotation from the menu to the loaded datastore.
func TestWizardInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "k3sca")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sb := newSandbox(t)
	s := tmuxSession{t: t, socket: fmt.Sprintf("k3sca-test-%d", os.Getpid())}
	s.tmux("new-session", "-d", "-s", "wz", "-x", "80", "-y", "24",
		fmt.Sprintf("%s wizard -d %s --stage-root %s; sleep 60", bin, sb.DataDir, dir))
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })

	s.waitFor("What do you want to do?")
	s.keys("Down", "Enter")
	s.waitFor("staging dir>")
	s.keys("Enter")
	s.waitFor("Enter writes it")
	s.keys("Enter")
	s.waitFor("class cross-signed")
	s.keys("Enter")
	s.waitFor(`Type "load"`)
	s.keys("l", "o", "a", "d", "Enter")
	done := s.waitFor("new CA hash")
	for i, line := range strings.Split(done, "\n") {
		if w := len([]rune(line)); w > 80 {
			t.Errorf("line %d is %d columns wide: %q", i, w, line)
		}
	}
	if strings.Contains(done, sb.Token.Password) {
		t.Error("the token secret is on screen before the operator asked")
	}
	s.keys("q")

	rep, err := steps.ShowDatastore(context.Background(), steps.AccessInput{DataDir: sb.DataDir, Via: steps.ViaSQLite}, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Revision < 2 {
		t.Errorf("datastore revision %d after the wizard's load, want a new one", rep.Revision)
	}
}
