package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestDumbTerminalAsksLineByLine: with TERM=dumb the wizard never draws
// (no escape sequence reaches the terminal), says why, and asks line by
// line from stdin, as --plain does.
func TestDumbTerminalAsksLineByLine(t *testing.T) {
	sb := sandboxtest.New(t)
	t.Setenv("TERM", "dumb")
	t.Setenv("ACCESSIBLE", "")
	var out, errb bytes.Buffer
	a := newApp(&out, &errb)
	a.now = testkit.Clock
	a.home = func() (string, error) { return t.TempDir(), nil }
	root := a.rootCommand()
	root.SetArgs([]string{"wizard", "-d", sb.DataDir})
	root.SetIn(strings.NewReader("q\n"))
	root.SetOut(&out)
	root.SetErr(&errb)
	if code := a.exitCode(root.ExecuteContext(context.Background())); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := errb.String()
	for _, want := range []string{dumbNote, "What do you want to do?", "choice [1-"} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x1b[") {
		t.Errorf("escape sequences on a dumb terminal:\n%q", got)
	}
}
