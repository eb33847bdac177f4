package ui

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe for the command goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCopyTokenOSC52: once the token is shown, c sends it whole to the
// terminal's clipboard as one OSC 52 sequence and the end says so.
func TestCopyTokenOSC52(t *testing.T) {
	if got := osc52("abc"); got != "\x1b]52;c;YWJj\a" {
		t.Fatalf("osc52 = %q", got)
	}
	t.Setenv("TERM", "xterm-256color")
	var out lockedBuffer
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
