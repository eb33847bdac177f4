package ui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/steps"
)

// TestNothingReliesOnColour draws the same screens with a true-colour and
// an ASCII renderer: the ASCII one has no escape sequence at all and says
// exactly what the coloured one says once its colours are stripped.
func TestNothingReliesOnColour(t *testing.T) {
	views := map[termenv.Profile]string{}
	for _, prof := range []termenv.Profile{termenv.TrueColor, termenv.Ascii} {
		r := lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(prof)
		st := DefaultStyles(r)
		d := testDeps()
		d.styles = &st
		s := startWith(t, newModel(context.Background(), testConfig(&probe{}), d), 120, 40)
		toYesNo(s)
		s.typ("y")
		s.key(tea.KeyEnter, 1)
		s.waitFor(`Type "load"`)
		s.key(tea.KeyEsc, 1)
		s.waitFor("not confirmed")
		if err := s.tm.Quit(); err != nil {
			t.Fatal(err)
		}
		views[prof] = s.finalModel().View()
	}
	colour, plain := views[termenv.TrueColor], views[termenv.Ascii]
	if !strings.Contains(colour, "\x1b[") {
		t.Fatal("the true-colour view has no colour: the styles ignore their renderer")
	}
	if strings.Contains(plain, "\x1b") {
		t.Errorf("the ASCII view has escape sequences:\n%q", plain)
	}
	if got := ansi.Strip(colour); got != plain {
		t.Errorf("the views differ beyond colour:\n%s\n---\n%s", got, plain)
	}
	for _, want := range []string{"✓ 1.", "– 4.", "✗ 5.", "declined", "skipped", "! ClientCA", "✗ not confirmed"} {
		if !strings.Contains(plain, want) {
			t.Errorf("%q missing from the ASCII view:\n%s", want, plain)
		}
	}
}

func TestNoColorEnvGivesASCII(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	t.Setenv("TERM", "xterm-256color")
	r := lipgloss.NewRenderer(&bytes.Buffer{}, termenv.WithTTY(true))
	if p := r.ColorProfile(); p != termenv.Ascii {
		t.Fatalf("profile %v with NO_COLOR, want Ascii", p)
	}
	if out := DefaultStyles(r).Bad.Render("✗ failed"); out != "✗ failed" {
		t.Errorf("styled with NO_COLOR: %q", out)
	}
}

func TestRunEndsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	defer pw.Close()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, testConfig(&probe{}), pr, &out) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end after the context did")
	}
}

// TestRunEndsTheFlowWhenTheTerminalIsGone: an SSH session that drops
// while a writing step runs takes the terminal with it (reads fail with
// EIO) and, most of the time, sends SIGHUP (the context ends). Either
// way the running step runs to its end and the flow is then rolled back,
// as after ctrl+c, before Run returns: k3sca never exits with k3s left
// stopped behind a screen nobody sees.
func TestRunEndsTheFlowWhenTheTerminalIsGone(t *testing.T) {
	for _, tt := range []struct {
		name   string
		signal bool
	}{{"hangup and EIO", true}, {"EIO alone", false}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := &probe{}
			started, release := make(chan struct{}), make(chan struct{})
			cfg := testConfig(p)
			cfg.Specs = []steps.FlowSpec{slowSpec(p, started, release)}
			pr, pw := io.Pipe()
			var out testkit.LockedBuffer
			done := make(chan error, 1)
			m := newModel(ctx, cfg, testDeps())
			// A pipe has no size; a terminal tells the program its own.
			go func() {
				done <- runModel(ctx, m, pr, &out, func(p *tea.Program) { p.Send(tea.WindowSizeMsg{Width: 80, Height: 24}) })
			}()
			waitOut := func(want string) {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); !strings.Contains(ansi.Strip(out.String()), want); {
					if time.Now().After(deadline) {
						t.Fatalf("%q never drawn:\n%s", want, ansi.Strip(out.String()))
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			waitOut("What do you want to do?")
			_, _ = pw.Write([]byte("\r"))
			waitOut("Run it? [y/N]")
			_, _ = pw.Write([]byte("y\r"))
			<-started
			if tt.signal {
				cancel()
			}
			pw.CloseWithError(syscall.EIO)
			time.Sleep(50 * time.Millisecond)
			if p.undone.Load() {
				t.Fatal("rolled back before the running step ended")
			}
			close(release)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not end after the terminal went")
			}
			if !p.loaded.Load() || !p.undone.Load() {
				t.Errorf("after the terminal went: step finished %v, rolled back %v; want both", p.loaded.Load(), p.undone.Load())
			}
			if got := ansi.Strip(out.String()); !strings.Contains(got, "rolled back: undid step 1 (Write slowly)") {
				t.Errorf("the closing lines do not say what was undone:\n%s", got[max(0, len(got)-600):])
			}
		})
	}
}
