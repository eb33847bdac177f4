package ui

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

// plainScripts are answers typed into the plain wizard, one per line.
var plainScripts = []struct {
	name, script string
	check        func(t *testing.T, p *probe, out string)
}{
	{"full-run-token-shown", "2\n\n\n\ny\nload\ny\nq\n", func(t *testing.T, p *probe, out string) {
		if !p.loaded.Load() || !strings.Contains(out, testSecret) {
			t.Error("the flow did not load, or the token was not shown after yes")
		}
	}},
	{"token-stays-hidden", "2\n\n\n\ny\nload\n\nq\n", func(t *testing.T, p *probe, out string) {
		if strings.Contains(out, testSecret) {
			t.Error("the token was printed without yes")
		}
	}},
	{"default-is-no", "2\n\n\n\n\nq\n", func(t *testing.T, p *probe, out string) {
		if p.staged.Load() {
			t.Error("an empty answer confirmed the write")
		}
	}},
	{"wrong-word", "2\n\n\n\ny\nlaod\nq\n", func(t *testing.T, p *probe, out string) {
		if p.loaded.Load() || !p.staged.Load() {
			t.Error("a wrong word confirmed the load, or the yes did not stage")
		}
	}},
	{"dry-run", "d\n2\n\n\n\nq\n", func(t *testing.T, p *probe, out string) {
		if p.staged.Load() || p.loaded.Load() {
			t.Error("a dry run wrote")
		}
	}},
	{"invalid-values-ask-again", "x\n2\n-\nimport\n\n\nstage\n\nroot.pem\n\n\nq\n", nil},
	{"failed-step-with-hint", "3\ny\n", func(t *testing.T, p *probe, out string) {
		if !p.undone.Load() {
			t.Error("the failed flow was not rolled back")
		}
	}},
}

func TestPlain(t *testing.T) {
	for _, sc := range plainScripts {
		t.Run(sc.name, func(t *testing.T) {
			p := &probe{}
			var out strings.Builder
			if err := runPlain(context.Background(), testConfig(p), strings.NewReader(sc.script), &out, testDeps()); err != nil {
				t.Fatal(err)
			}
			if sc.check != nil {
				sc.check(t, p, out.String())
			}
			requireGolden(t, out.String(), false)
		})
	}
}

// TestPlainQuestionEndsWithTheContext: ctrl+c, SIGTERM or the SIGHUP of a
// dropped SSH session ends the context while the plain wizard waits for
// an answer that never comes: the question returns at once, the step
// before it is rolled back, the load never runs, the output says the flow
// was interrupted, and RunPlain returns the context's error.
func TestPlainQuestionEndsWithTheContext(t *testing.T) {
	p := &probe{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	var out testkit.LockedBuffer
	done := make(chan error, 1)
	go func() { done <- runPlain(ctx, testConfig(p), pr, &out, testDeps()) }()
	if _, err := io.WriteString(pw, "2\n\n\n\ny\n"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), `type "load"`); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the load question never came:\n%s", out.String())
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("runPlain = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the question did not end with the context:\n%s", out.String())
	}
	if !p.staged.Load() || !p.undone.Load() || p.loaded.Load() {
		t.Errorf("staged %v, rolled back %v, loaded %v; want staged, rolled back, never loaded", p.staged.Load(), p.undone.Load(), p.loaded.Load())
	}
	for _, want := range []string{"stopped: interrupted before step 5", "rolled back: undid step 2 (Stage the new set)", "✗ interrupted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output does not say %q:\n%s", want, out.String())
		}
	}
}
