package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
)

// TestCopyTokenOSC52: once the token is shown, c sends it whole to the
// terminal's clipboard as one OSC 52 sequence and the end says so.
func TestCopyTokenOSC52(t *testing.T) {
	if got := osc52("abc"); got != "\x1b]52;c;YWJj\a" {
		t.Fatalf("osc52 = %q", got)
	}
	t.Setenv("TERM", "xterm-256color")
	var out testkit.LockedBuffer
	m := newModel(context.Background(), testConfig(&probe{}), testDeps())
	m.com.out = &out
	s := startWith(t, m, 120, 40)
	toEnd(s)
	s.typ("c") // nothing shown yet: nothing sent
	s.typ("t")
	s.waitFor("c copy token")
	s.typ("c")
	s.waitFor("OSC 52")
	s.finalView()
	if got := out.String(); got != osc52(testToken) {
		t.Errorf("sent %q, want the whole token once", got)
	}
	if strings.Count(out.String(), "\x1b]52") != 1 {
		t.Error("c before t sent the hidden token")
	}
}
