package testkit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv marks a child process started by StartChild: its value is the
// helper test the child runs.
const childEnv = "K3SCA_TESTKIT_CHILD"

// readyLine is what a child prints on its stdout when it is ready.
const readyLine = "k3sca-testkit-child-ready"

// ChildOnly skips the calling helper test unless this process is a child
// that StartChild (or ChildCommand) started for it: a helper test does
// nothing in a normal test run.
func ChildOnly(t *testing.T) {
	t.Helper()
	if os.Getenv(childEnv) != t.Name() {
		t.Skip("child process only (testkit.StartChild)")
	}
}

// Ready tells the parent that the child is ready: the parent's StartChild
// returns once this line is read.
func Ready() { fmt.Println(readyLine) }

// KillSelf SIGKILLs the child process: a crash at that point, no deferred
// function or cleanup runs.
func KillSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}

// ChildCommand is the command line and environment that run only the
// helper test of the test binary: for a child another program starts
// (a script), which ChildOnly lets through.
func ChildCommand(t testing.TB, helper string) (argv []string, env string) {
	t.Helper()
	self, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	return []string{self, "-test.run=^" + helper + "$", "-test.count=1"}, childEnv + "=" + helper
}

// Child is the test binary re-executed to run one helper test, a process
// the parent can kill.
type Child struct {
	t      testing.TB
	cmd    *exec.Cmd
	out    *bufio.Reader
	stderr bytes.Buffer
	ready  time.Time
	timer  *time.Timer
	done   bool
}

// Line is a line the child printed after Ready, with when, after Ready,
// the parent read it.
type Line struct {
	Text string
	At   time.Duration
}

// ChildResult is how a child ended: whether it was SIGKILLed, the lines
// it printed after Ready and when, after Ready, it exited.
type ChildResult struct {
	Killed bool
	Lines  []Line
	Exit   time.Duration
}

// Texts are the lines without their times.
func (r ChildResult) Texts() []string {
	out := make([]string, len(r.Lines))
	for i, l := range r.Lines {
		out[i] = l.Text
	}
	return out
}

// StartChild re-executes the test binary to run only the helper test,
// with env added to this process's environment, and returns once the
// child called Ready. A child still running when the test ends is
// killed.
func StartChild(t testing.TB, helper string, env ...string) *Child {
	t.Helper()
	argv, mark := ChildCommand(t, helper)
	c := &Child{t: t, cmd: exec.Command(argv[0], argv[1:]...)}
	c.cmd.Env = append(append(os.Environ(), mark), env...)
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Kill)
	c.out = bufio.NewReader(out)
	if line, err := c.out.ReadString('\n'); err != nil || line != readyLine+"\n" {
		c.Kill()
		t.Fatalf("child %s did not report ready: %q %v; stderr %s", helper, line, err, c.stderr.String())
	}
	c.ready = time.Now()
	return c
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// KillAfter SIGKILLs the child d after it reported ready, unless it
// exited before.
func (c *Child) KillAfter(d time.Duration) {
	c.timer = time.AfterFunc(time.Until(c.ready.Add(d)), func() { _ = c.cmd.Process.Signal(syscall.SIGKILL) })
}

// Kill SIGKILLs the child, if it still runs, and reaps it.
func (c *Child) Kill() {
	if c.done {
		return
	}
	c.done = true
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// Wait reads the child's output to its end and waits for it. A child that
// exits with an error other than SIGKILL fails the test, with its output.
func (c *Child) Wait() ChildResult {
	c.t.Helper()
	var r ChildResult
	var all strings.Builder
	for sc := bufio.NewScanner(c.out); sc.Scan(); {
		r.Lines = append(r.Lines, Line{Text: sc.Text(), At: time.Since(c.ready)})
		all.WriteString(sc.Text() + "\n")
	}
	err := c.cmd.Wait()
	c.done = true
	r.Exit = time.Since(c.ready)
	if c.timer != nil {
		c.timer.Stop()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			r.Killed = true
			return r
		}
	}
	if err != nil {
		c.t.Fatalf("child failed: %v\nstdout %s\nstderr %s", err, all.String(), c.stderr.String())
	}
	return r
}
