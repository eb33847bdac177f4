package ui

import (
	"context"
	"strings"
	"testing"
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
