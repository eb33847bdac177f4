package ui

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/k3sca/k3sca/steps"
)

func TestAnswerDefaultsToNo(t *testing.T) {
	tests := []struct {
		name   string
		answer func(s *session)
	}{
		{"enter alone", func(s *session) { s.key(tea.KeyEnter, 1) }},
		{"n", func(s *session) { s.typ("n") }},
		{"esc", func(s *session) { s.key(tea.KeyEsc, 1) }},
		{"y taken back", func(s *session) {
			s.typ("y")
			s.key(tea.KeyBackspace, 1)
			s.key(tea.KeyEnter, 1)
		}},
		{"other letters", func(s *session) {
			s.typ("x")
			s.key(tea.KeyEnter, 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &probe{}
			s := start(t, testConfig(p), 80, 24)
			toYesNo(s)
			tt.answer(s)
			s.waitFor("not confirmed")
			s.finalView()
			if p.staged.Load() {
				t.Error("the step ran without y")
			}
			if n := p.cleaned.Load(); n != 1 {
				t.Errorf("flow cleaned up %d times, want 1", n)
			}
		})
	}
}

func TestWordMustBeTypedExactly(t *testing.T) {
	p := &probe{}
	s := start(t, testConfig(p), 80, 24)
	toWord(s)
	s.typ("lod")
	s.key(tea.KeyEnter, 1)
	s.waitFor(`nothing happens until you type exactly "load"`)
	s.typ("y")
	s.key(tea.KeyEnter, 1)
	view := s.finalView()
	if p.loaded.Load() {
		t.Fatal("the load ran without the word")
	}
	if !strings.Contains(view, "waiting for your answer") {
		t.Errorf("the question is gone:\n%s", view)
	}
}

func TestCtrlCAtQuestionAbortsAndRollsBack(t *testing.T) {
	p := &probe{}
	s := start(t, testConfig(p), 80, 24)
	toWord(s)
	s.key(tea.KeyCtrlC, 1)
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if p.loaded.Load() {
		t.Error("the load ran after ctrl+c")
	}
	if !p.undone.Load() {
		t.Error("the staged step was not rolled back")
	}
	if n := p.cleaned.Load(); n != 1 {
		t.Errorf("flow cleaned up %d times, want 1", n)
	}
	// Run prints these once the screen is restored: what ctrl+c stopped
	// before, and what was undone.
	fm, ok := s.tm.FinalModel(t).(*model)
	if !ok {
		t.Fatal("no final model")
	}
	closing := strings.Join(fm.com.Closing, "\n")
	for _, want := range []string{"interrupted before step", "rolled back: undid step 2 ("} {
		if !strings.Contains(closing, want) {
			t.Errorf("the closing lines lack %q:\n%s", want, closing)
		}
	}
}

func TestCtrlCWhileAStepRunsWaitsForIt(t *testing.T) {
	p := &probe{}
	started, release := make(chan struct{}), make(chan struct{})
	cfg := testConfig(p)
	cfg.Specs = []steps.FlowSpec{slowSpec(p, started, release)}
	s := start(t, cfg, 80, 24)
	openItem(s, 0)
	s.waitFor("Run it? [y/N]")
	s.typ("y")
	s.key(tea.KeyEnter, 1)
	<-started
	s.waitFor("writing, slowly")
	s.key(tea.KeyCtrlC, 1)
	s.waitFor("finishing the current step")
	time.Sleep(50 * time.Millisecond)
	if p.loaded.Load() || p.undone.Load() {
		t.Fatal("the step ended before it was released")
	}
	close(release)
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if !p.loaded.Load() {
		t.Error("the running step did not finish, or saw its context cancelled")
	}
	if !p.undone.Load() {
		t.Error("the interrupted flow was not rolled back after the step")
	}
}

func TestFormErrorsKeepTheValues(t *testing.T) {
	s := start(t, testConfig(&probe{}), 80, 24)
	openItem(s, menuRotate)
	s.waitFor("▸ Staging dir")
	s.key(tea.KeyDown, 1)
	s.key(tea.KeyRight, 1)
	s.key(tea.KeyCtrlS, 1)
	s.waitFor("Root certificate (--root-cert) is required")
	s.key(tea.KeyLeft, 1)
	s.key(tea.KeyUp, 1)
	s.key(tea.KeyCtrlU, 1)
	s.typ("data/server/tls/x")
	s.key(tea.KeyCtrlS, 1)
	s.waitFor("Next:")
	view := s.finalView()
	for _, want := range []string{"Staging dir       data/server/tls/x", "outside <data-dir>/server", "[generate]"} {
		if !strings.Contains(view, want) {
			t.Errorf("%q missing after the error:\n%s", want, view)
		}
	}
}

func TestCompletion(t *testing.T) {
	s := start(t, testConfig(&probe{}), 80, 24)
	openItem(s, menuRotate)
	s.waitFor("▸ Staging dir")
	s.key(tea.KeyCtrlU, 1)
	s.key(tea.KeyTab, 1)
	s.waitFor("3 matches:")
	s.key(tea.KeyCtrlU, 1)
	s.typ("st")
	s.key(tea.KeyTab, 1)
	s.waitFor("stage/")
	s.key(tea.KeyDown, 1)
	s.key(tea.KeyRight, 1)
	s.key(tea.KeyDown, 1)
	s.typ("root-ca.c")
	s.key(tea.KeyTab, 1)
	s.waitFor("root-ca.crt")
	s.typ("x")
	s.key(tea.KeyTab, 1)
	s.waitFor(`no match for "root-ca.crtx"`)
	view := s.finalView()
	for _, want := range []string{"Staging dir       stage/", "Root certificate  root-ca.crtx"} {
		if !strings.Contains(view, want) {
			t.Errorf("%q missing:\n%s", want, view)
		}
	}
}

func TestStaleCompletionIsDropped(t *testing.T) {
	c := &Common{Env: testEnv(), Width: 80, Height: 20, Styles: DefaultStyles(nil)}
	f := newForm(c, rotateSpec(&probe{}))
	f.inputs[0].SetValue("st")
	f.completed(completedMsg{id: f.id, field: 0, prefix: "s", cands: []string{"stage/"}})
	if got := f.inputs[0].Value(); got != "st" {
		t.Errorf("a completion of an older prefix replaced the value: %q", got)
	}
	f.completed(completedMsg{id: f.id, field: 0, prefix: "st", cands: []string{"stage/"}})
	if got := f.values["stage"]; got != "stage/" {
		t.Errorf("value %q after completion, want stage/", got)
	}
}

func TestHeaderIsReadAgainAfterAFlow(t *testing.T) {
	var calls atomic.Int32
	d := testDeps()
	d.detect = func(context.Context, steps.Env) facts {
		f := testFacts
		if calls.Add(1) > 1 {
			f.Service = "running"
		}
		return f
	}
	s := startWith(t, newModel(context.Background(), testConfig(&probe{}), d), 80, 24)
	openItem(s, menuInventory)
	s.waitFor("k3s running")
	if !strings.Contains(s.drawn.String(), "k3s stopped") {
		t.Error("the first header did not show the first facts")
	}
	s.key(tea.KeyEsc, 1)
	s.waitFor("What do you want to do?")
	s.finalView()
	if n := calls.Load(); n != 3 {
		t.Errorf("the node was read %d times, want 3 (start, after the step, end of the flow)", n)
	}
}

// TestHeaderFactsAfterEveryStep: a step that changes the node (here the
// stage step, after which the fake node says k3s stopped) shows in the
// header at the next question, not only at the end of the flow.
func TestHeaderFactsAfterEveryStep(t *testing.T) {
	var calls atomic.Int32
	d := testDeps()
	d.detect = func(context.Context, steps.Env) facts {
		f := testFacts
		f.Service, f.Revision = "running", 1
		if calls.Add(1) > 1 {
			f.Service, f.Revision = "stopped", 2
		}
		return f
	}
	s := startWith(t, newModel(context.Background(), testConfig(&probe{}), d), 120, 40)
	toWord(s)
	view := s.finalView()
	if !strings.Contains(view, "k3s stopped") || strings.Contains(view, "k3s running") {
		t.Errorf("the header at the load question still has the start-up facts:\n%s", view)
	}
}

func TestQuestionMarkTypesInAField(t *testing.T) {
	s := start(t, testConfig(&probe{}), 80, 24)
	openItem(s, menuRotate)
	s.waitFor("▸ Staging dir")
	s.typ("?q")
	s.waitFor("1795780800?q")
	view := s.finalView()
	if strings.Contains(view, "previous field") && !strings.Contains(view, "1795780800?q") {
		t.Errorf("? opened the help instead of typing:\n%s", view)
	}
}

func TestCompletionFromTheFileSystem(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, d := range []string{"stage-a", "stage-b", "other"} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile("stage.pem", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d := testDeps()
	d.complete = nil
	s := startWith(t, newModel(context.Background(), testConfig(&probe{}), d), 80, 24)
	openItem(s, menuRotate)
	s.waitFor("▸ Staging dir")
	s.key(tea.KeyCtrlU, 1)
	s.typ("sta")
	s.key(tea.KeyTab, 1)
	s.waitFor("2 matches:")
	s.typ("b")
	s.key(tea.KeyTab, 1)
	s.waitFor("stage-b/")
	view := s.finalView()
	if !strings.Contains(view, "Staging dir       stage-b/") || strings.Contains(view, "stage.pem") {
		t.Errorf("dir completion went wrong:\n%s", view)
	}
}

// TestLiveViewUnderTheNews: a step's progress with lines after its first
// (the rollout's nodes with their marks) shows them all under the news,
// each on its own line, while the step runs.
func TestLiveViewUnderTheNews(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	spec := steps.FlowSpec{
		ID: "live", Title: "A rollout", Summary: "Nodes one after the other (test flow).",
		Build: func(context.Context, steps.Env, map[string]string) (*steps.Flow, error) {
			return &steps.Flow{ID: "live", Title: "A rollout", Tasks: []*steps.Task{
				{Title: "Roll out", Writes: true, Run: func(ctx context.Context, progress func(string)) (*steps.Outcome, error) {
					close(started)
					progress("s2: restart\n✓ s1 (server) done\n▸ s2 (server) restart\n· a1 (agent) not reached")
					<-release
					return &steps.Outcome{Summary: "3 nodes: 3 done"}, nil
				}},
			}}, nil
		},
	}
	cfg := testConfig(&probe{})
	cfg.Specs = []steps.FlowSpec{spec}
	s := start(t, cfg, 80, 24)
	openItem(s, 0)
	s.waitFor("Run it? [y/N]")
	s.typ("y")
	s.key(tea.KeyEnter, 1)
	<-started
	lines := []string{"… s2: restart", "    ✓ s1 (server) done", "    ▸ s2 (server) restart", "    · a1 (agent) not reached"}
	s.waitUntil(func(b []byte) bool {
		for _, l := range lines {
			if !bytes.Contains(b, []byte(l)) {
				return false
			}
		}
		return true
	})
	close(release)
	s.waitFor("3 nodes: 3 done")
}

// TestCtrlCWhileKeysAreGeneratedCancelsThem: a step that generates keys
// does it in its preview (steps' generate task: Prepare builds the set),
// with the context ctrl+c cancels. While it runs the spinner moves; ctrl+c
// ends the generation at once and the wizard quits without running the
// step (a cancelled generation writes nothing: steps'
// TestGenerateCancelledWritesNothing).
func TestCtrlCWhileKeysAreGeneratedCancelsThem(t *testing.T) {
	var ran, cancelled atomic.Bool
	started := make(chan struct{})
	spec := steps.FlowSpec{ID: "keys", Title: "Generate keys", Summary: "Keys that take their time (test flow).",
		Build: func(context.Context, steps.Env, map[string]string) (*steps.Flow, error) {
			return &steps.Flow{ID: "keys", Title: "Generate keys", Tasks: []*steps.Task{{
				Title: "Generate the keys", Writes: true,
				Preview: func(ctx context.Context) (*steps.Plan, error) {
					close(started)
					<-ctx.Done()
					cancelled.Store(true)
					return nil, ctx.Err()
				},
				Run: func(context.Context, func(string)) (*steps.Outcome, error) {
					ran.Store(true)
					return &steps.Outcome{Summary: "written"}, nil
				},
			}}}, nil
		}}
	cfg := testConfig(&probe{})
	cfg.Specs = []steps.FlowSpec{spec}
	s := start(t, cfg, 80, 24)
	openItem(s, 0)
	<-started
	frames := map[string]bool{}
	spin := regexp.MustCompile(`(\S) preparing step 1/1`)
	s.waitUntil(func(b []byte) bool {
		for _, m := range spin.FindAllSubmatch([]byte(ansi.Strip(string(b))), -1) {
			frames[string(m[1])] = true
		}
		return len(frames) >= 3
	})
	s.key(tea.KeyCtrlC, 1)
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if !cancelled.Load() || ran.Load() {
		t.Errorf("after ctrl+c: generation cancelled %v, step run %v; want cancelled and never run", cancelled.Load(), ran.Load())
	}
}
