package ui

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

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

// testNow is the pinned clock of every test.
var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// stopped is a service manager whose k3s is never running.
type stopped struct{}

func (stopped) IsActive(context.Context, string) (bool, error) { return false, nil }
func (stopped) Stop(context.Context, string) error             { return nil }
func (stopped) Start(context.Context, string) error            { return nil }
func (stopped) Name() string                                   { return "fake" }

// sandbox creates a sandbox in a fresh temp dir, makes that dir the working
// dir (so every path on screen is short and the same from run to run) and
// returns the sandbox and a wizard config for it.
func sandbox(t *testing.T) (*steps.Sandbox, Config) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	sb, err := steps.CreateSandbox(context.Background(), steps.SandboxInput{
		DataDir: "data", Product: product.K3s, Now: testNow, Rand: rand.NewChaCha8([32]byte{1}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb, Config{
		DataDir: "data", Product: product.K3s, Now: func() time.Time { return testNow },
		StageRoot: ".", Sandbox: true, Services: stopped{},
	}
}

// session is a running wizard and everything it has drawn so far.
type session struct {
	t     *testing.T
	tm    *teatest.TestModel
	drawn bytes.Buffer
}

func start(t *testing.T, cfg Config) *session {
	t.Helper()
	tm := teatest.NewTestModel(t, New(context.Background(), cfg), teatest.WithInitialTermSize(80, 24))
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
	}, teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
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
	return ansi.Strip(s.tm.FinalModel(s.t, teatest.WithFinalTimeout(30*time.Second)).View())
}

var (
	hexRun   = regexp.MustCompile(`[0-9a-f]{64,}`)
	shortSHA = regexp.MustCompile(`\b[0-9a-f]{12}\b`)
	sizes    = regexp.MustCompile(`\b\d{3,5}( bytes| →)`)
	spaces   = regexp.MustCompile(` +\n`)
)

// stable masks what differs between runs of freshly generated keys: CA
// hashes (64 hex digits), short content hashes and PEM sizes (an ECDSA
// signature varies by a byte or two); it also drops trailing spaces.
func stable(view string) string {
	view = hexRun.ReplaceAllStringFunc(view, func(s string) string { return strings.Repeat("x", len(s)) })
	view = shortSHA.ReplaceAllString(view, "xxxxxxxxxxxx")
	view = sizes.ReplaceAllStringFunc(view, func(s string) string {
		n, unit, _ := strings.Cut(s, " ")
		return strings.Repeat("n", len(n)) + " " + unit
	})
	return spaces.ReplaceAllString(view, "\n")
}

// requireGolden compares a stabilized view with testdata/<test name>.golden.
func requireGolden(t *testing.T, view string) {
	t.Helper()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(pkgDir); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chdir(cwd) }()
	golden.RequireEqual(t, []byte(stable(view)))
}
