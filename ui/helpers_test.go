package ui

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// pkgDir is the package dir, where testdata/ lives; tests chdir away from it.
var pkgDir string

func init() {
	lipgloss.SetColorProfile(termenv.Ascii)
	var err error
	if pkgDir, err = os.Getwd(); err != nil {
		panic(err)
	}
}

// sizes are the terminal sizes every golden screen is drawn at.
var sizes = [][2]int{{80, 24}, {120, 40}}

// testFacts are the header facts of the test-only flows.
var testFacts = facts{
	DataDir: "/var/lib/rancher/k3s", Source: "default", Role: "server", Datastore: "sqlite",
	Service: "stopped", Init: "systemd", K3s: "v1.36.3+k3s1", CAHash: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
}

// testEnv is the node of the test-only flows; nothing reads it.
func testEnv() steps.Env {
	return steps.Env{DataDir: "/var/lib/rancher/k3s", Product: product.K3s, Now: testkit.Clock, Services: node.NewFakeServices()}
}

// fakeCompletions completes from a fixed list of paths.
var fakeCompletions = []string{"root-ca.crt", "root-ca.key", "roots/", "stage/", "/etc/ssl/"}

func fakeComplete(prefix string, dirsOnly bool) ([]string, error) {
	var out []string
	for _, c := range fakeCompletions {
		if strings.HasPrefix(c, prefix) && (!dirsOnly || strings.HasSuffix(c, "/")) {
			out = append(out, c)
		}
	}
	return out, nil
}

// testDeps are the fake header and completion of the test-only flows.
func testDeps() deps {
	return deps{detect: func(context.Context, steps.Env) facts { return testFacts }, complete: fakeComplete}
}

// session is a running wizard and everything it has drawn so far.
type session struct {
	t     *testing.T
	tm    *teatest.TestModel
	drawn bytes.Buffer
}

// start runs the wizard on cfg at w x h with the test deps.
func start(t *testing.T, cfg Config, w, h int) *session {
	t.Helper()
	return startWith(t, newModel(context.Background(), cfg, testDeps()), w, h)
}

func startWith(t *testing.T, m tea.Model, w, h int) *session {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() { _ = tm.Quit() })
	return &session{t: t, tm: tm}
}

// waitFor waits until the wizard draws want.
func (s *session) waitFor(want string) {
	s.t.Helper()
	s.waitUntil(func(b []byte) bool { return bytes.Contains(b, []byte(want)) })
}

// waitUntil waits until what the wizard drew since the last wait meets
// cond, and keeps it in drawn.
func (s *session) waitUntil(cond func([]byte) bool) {
	s.t.Helper()
	teatest.WaitFor(s.t, s.tm.Output(), func(b []byte) bool {
		if cond(b) {
			s.drawn.Write(b)
			return true
		}
		return false
	}, teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

func (s *session) key(k tea.KeyType, times int) {
	for range times {
		s.tm.Send(tea.KeyMsg{Type: k})
	}
}

func (s *session) typ(text string) { s.tm.Type(text) }

// finalView quits and returns the last view without ANSI sequences.
func (s *session) finalView() string {
	s.t.Helper()
	if err := s.tm.Quit(); err != nil {
		s.t.Fatal(err)
	}
	return ansi.Strip(s.finalModel().View())
}

func (s *session) finalModel() tea.Model {
	s.t.Helper()
	return s.tm.FinalModel(s.t, teatest.WithFinalTimeout(20*time.Second))
}

var (
	hexRun   = regexp.MustCompile(`[0-9a-f]{64,}`)
	shortSHA = regexp.MustCompile(`\b[0-9a-f]{12}\b`)
	pemSizes = regexp.MustCompile(`\b\d{3,5}( bytes| →)`)
	spaces   = regexp.MustCompile(` +\n`)
)

// stable masks what differs between runs of freshly generated keys: CA
// hashes (64 hex digits), short content hashes and PEM sizes (an ECDSA
// signature varies by a byte or two); it also drops trailing spaces.
func stable(view string) string {
	view = hexRun.ReplaceAllStringFunc(view, func(s string) string { return strings.Repeat("x", len(s)) })
	view = shortSHA.ReplaceAllString(view, "xxxxxxxxxxxx")
	view = pemSizes.ReplaceAllStringFunc(view, func(s string) string {
		n, unit, _ := strings.Cut(s, " ")
		return strings.Repeat("n", len(n)) + " " + unit
	})
	return spaces.ReplaceAllString(view, "\n")
}

// requireGolden compares view with testdata/<test name>.golden; with
// stabilize, run-to-run differences of real keys are masked first.
func requireGolden(t *testing.T, view string, stabilize bool) {
	t.Helper()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(pkgDir); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chdir(cwd) }()
	if stabilize {
		view = stable(view)
	} else {
		view = spaces.ReplaceAllString(view, "\n")
	}
	golden.RequireEqual(t, []byte(view))
}

// uiSandbox creates a sandbox in a fresh temp dir, makes that dir the working
// dir (so every path on screen is short and the same from run to run) and
// returns the sandbox and its env.
func uiSandbox(t *testing.T) (*sandbox.Sandbox, steps.Env) {
	t.Helper()
	sb := sandboxtest.InWorkDir(t, sandbox.Input{Now: testkit.Now})
	return sb, steps.Env{
		DataDir: "data", Product: product.K3s, Now: testkit.Clock,
		StageRoot: ".", Services: node.NewFakeServices(),
	}
}
