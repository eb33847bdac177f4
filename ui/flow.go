package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/steps"
)

// flowPhase is where a flow screen stands.
type flowPhase int

const (
	phPreparing flowPhase = iota // Prepare runs: skips, preview
	phAsk                        // a writing step waits for the answer
	phRunning                    // Execute runs
	phClosing                    // Decline runs (the flow's cleanup)
	phEnd                        // the session ended
)

// flowScreen drives one session of a flow, the way the headless Runner
// does: prepare the current step, ask when it writes (default No), execute
// it, and on to the next, until the flow ends, fails or is declined. The
// step list shows where each step stands; the panel under it shows the
// current step: a spinner and the latest progress line while it works, its
// preview and the question before it writes, and at the end what every
// step did (and, in a dry run, the full plan).
type flowScreen struct {
	com   *Common
	id    int64
	sess  *steps.Session
	title string
	dry   bool

	phase    flowPhase
	reps     []steps.StepReport // the session's step reports, as last copied
	cur      int                // the session's current step, as last copied
	prep     *steps.Prepared    // the current step, once prepared
	lastAsk  int                // index of the last step asked about
	progress string             // the running step's latest progress line
	prog     *progress
	cancel   context.CancelFunc // cancels a running Prepare (read-only)

	yes  bool             // a yes/no question got "y"
	word confirmInput     // a typed-word question
	err  error            // the failure that ended the flow
	done bool             // the session reported its end
	undo []string         // the steps whose undo ran, newest first
	node *steps.NodeState // the service state at the end
	left []steps.Leftover // what the unfinished flow left on disk
	// removed are the leftovers the operator removed; removeErr a failure.
	removed   []string
	removeErr error

	quitting bool // ctrl+c: quit once the running call returns
	reveal   bool // token lines shown
	// warns are the preflight's warnings about the k3s version, shown at
	// every question.
	warns []string
	// back opens the flow's form again, filled (nil: the flow has none):
	// where esc goes after a failure or a No.
	back func() screen
	// flowID is the flow's id (its help on ?).
	flowID string
	// copied is the last OSC 52 clipboard write.
	copied *copiedMsg

	spin spinner.Model
	vp   viewport.Model
}

// newFlowScreen starts a session of f, dry when the wizard is in dry-run
// mode. The session is touched only by commands from here on; the screen
// reads the copies their messages carry.
func newFlowScreen(c *Common, f *steps.Flow) *flowScreen {
	s := steps.NewSession(f, c.DryRun)
	fs := &flowScreen{
		com: c, id: nextID(), sess: s, title: f.Title, dry: s.DryRun, reps: slices.Clone(s.Steps()), lastAsk: -1,
		spin: spinner.New(), vp: newViewport(),
	}
	c.calls.opened(fs)
	return fs
}

// Title implements screen.
func (f *flowScreen) Title() string {
	if f.dry {
		return f.title + " (dry run)"
	}
	return f.title
}

// Typing implements screen: a typed-word question takes every key.
func (f *flowScreen) Typing() bool { return f.phase == phAsk && f.prep != nil && f.prep.Word != "" }

// Init implements screen: it prepares the first step.
func (f *flowScreen) Init() tea.Cmd { return tea.Batch(f.spin.Tick, f.prepare()) }

// SetSize implements screen.
func (f *flowScreen) SetSize(w, h int) {
	f.word.SetWidth(w)
	f.refresh()
}

// prepare readies the current step; ctrl+c cancels it (it only reads).
func (f *flowScreen) prepare() tea.Cmd {
	ctx, cancel := context.WithCancel(f.com.Ctx)
	f.phase, f.cancel, f.yes = phPreparing, cancel, false
	f.refresh()
	return prepareCmd(&f.com.calls, ctx, f.id, f.sess)
}

// execute runs the prepared step with the wizard's own context, never
// cancelled by ctrl+c or a signal.
func (f *flowScreen) execute() tea.Cmd {
	f.phase, f.progress, f.prog = phRunning, "", newProgress()
	f.refresh()
	return tea.Batch(f.spin.Tick, executeCmd(&f.com.calls, f.com.Ctx, f.id, f.sess, f.prog), f.prog.listen(f.id))
}

// ask shows the prepared step's preview and its question.
func (f *flowScreen) ask() tea.Cmd {
	f.phase, f.yes = phAsk, false
	if f.prep.Word != "" {
		f.word = newConfirm(f.prep.Word, "run "+f.runs(), f.noAnswer())
		f.word.SetWidth(f.com.Width)
	}
	f.refresh()
	f.vp.GotoTop()
	return nil
}

// keepsDry says a No at the current question keeps the step a dry run
// (Task.DryByDefault) instead of ending the flow.
func (f *flowScreen) keepsDry() bool {
	return f.prep != nil && f.prep.Task != nil && f.prep.Task.DryByDefault && f.prep.Task.DryRun != nil
}

// noAnswer says what a No does at the current question.
func (f *flowScreen) noAnswer() string {
	if f.keepsDry() {
		return "keeps it a dry run"
	}
	return "answers No"
}

// decline answers No: the session ends before the current step (or, at a
// step that is a dry run by default, that step stays a dry run and the
// flow goes on).
func (f *flowScreen) decline() tea.Cmd {
	f.phase = phClosing
	f.refresh()
	return tea.Batch(f.spin.Tick, declineCmd(&f.com.calls, f.id, f.sess))
}

// end shows how the flow ended and has the header read the node again.
func (f *flowScreen) end() tea.Cmd {
	f.phase = phEnd
	f.refresh()
	f.vp.GotoTop()
	f.recordKeep()
	return msgCmd(flowEndedMsg{})
}

// took copies the session's state from a message.
func (f *flowScreen) took(m sessionMsg) {
	f.reps, f.cur, f.done, f.undo, f.node, f.left, f.warns = m.steps, m.cur, m.ended, m.undone, m.node, m.left, m.warns
	if f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
}

// Update implements screen.
func (f *flowScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return f, f.key(msg)
	case spinner.TickMsg:
		if f.phase == phAsk || f.phase == phEnd {
			return f, nil
		}
		var cmd tea.Cmd
		f.spin, cmd = f.spin.Update(msg)
		return f, cmd
	case preparedMsg:
		if msg.id == f.id {
			return f, f.prepared(msg)
		}
	case executedMsg:
		if msg.id == f.id {
			return f, f.executed(msg)
		}
	case copiedMsg:
		if msg.id == f.id {
			f.copied = &msg
			f.refresh()
		}
	case removedMsg:
		if msg.id == f.id {
			f.removed, f.removeErr = append(f.removed, msg.removed...), msg.err
			f.left = slices.DeleteFunc(f.left, func(l steps.Leftover) bool { return slices.Contains(msg.removed, l.Path) })
			f.refresh()
		}
	case abortedMsg:
		if msg.id == f.id {
			f.took(msg.sessionMsg)
			f.com.Closing = f.closing()
			return f, msgCmd(quitMsg{err: msg.err})
		}
	case declinedMsg:
		if msg.id == f.id {
			f.took(msg.sessionMsg)
			if f.quitting {
				return f, msgCmd(quitMsg{})
			}
			if !f.done {
				// The step stayed a dry run: on to the next one.
				return f, f.prepare()
			}
			return f, f.end()
		}
	case progressMsg:
		if msg.id == f.id && f.phase == phRunning {
			f.progress = msg.text
			return f, f.prog.listen(f.id)
		}
	}
	return f, nil
}

func (f *flowScreen) prepared(msg preparedMsg) tea.Cmd {
	f.took(msg.sessionMsg)
	switch {
	case f.quitting:
		return f.stop()
	case msg.err != nil:
		f.err = msg.err
		return f.end()
	case msg.p == nil:
		return f.end()
	}
	f.prep = msg.p
	if msg.p.Ask {
		return f.ask()
	}
	return f.execute()
}

func (f *flowScreen) executed(msg executedMsg) tea.Cmd {
	f.took(msg.sessionMsg)
	if f.prog != nil {
		f.prog.close()
	}
	switch {
	case f.quitting:
		return f.stop()
	case msg.err != nil:
		f.err = msg.err
		return f.end()
	case msg.ended:
		return f.end()
	}
	return f.prepare()
}

// stop ends a session ctrl+c interrupted, once no call runs: the session
// is aborted (what can be undone is) and the wizard quits.
func (f *flowScreen) stop() tea.Cmd {
	if f.done {
		return msgCmd(quitMsg{})
	}
	f.phase = phClosing
	return abortCmd(&f.com.calls, f.com.Ctx, f.id, f.sess)
}

// runs names what a Yes at the current question runs: "this step", or
// "steps 4-6" at a disruptive step that confirms the writes after it.
func (f *flowScreen) runs() string {
	if f.prep == nil || len(f.prep.Ahead) == 0 {
		return "this step"
	}
	return fmt.Sprintf("steps %d-%d", f.prep.Index+1, f.prep.Ahead[len(f.prep.Ahead)-1].N)
}

// closing is what Run prints after ctrl+c ended the flow.
func (f *flowScreen) closing() []string {
	var lines []string
	if r := f.stoppedAt(); r != nil {
		lines = append(lines, fmt.Sprintf("%s: interrupted before step %d (%s); nothing from that step on was done.", f.title, r.N, r.Title))
	}
	if len(f.undo) > 0 {
		lines = append(lines, "rolled back: undid "+strings.Join(f.undo, ", "))
	}
	if f.node != nil {
		lines = append(lines, f.node.Line())
	}
	return lines
}

// stoppedAt is the first step that did not run, nil when all did.
func (f *flowScreen) stoppedAt() *steps.StepReport {
	for i := range f.reps {
		switch f.reps[i].Status {
		case steps.StatusPending, steps.StatusDeclined, steps.StatusRunning:
			return &f.reps[i]
		}
	}
	return nil
}

// Interrupt implements screen: at a question the session is aborted at
// once; while a step prepares it is cancelled, while one executes it runs
// to its end; the wizard quits after.
func (f *flowScreen) Interrupt() tea.Cmd {
	if f.quitting {
		return nil
	}
	switch f.phase {
	case phEnd:
		return msgCmd(quitMsg{})
	case phAsk:
		f.quitting = true
		return f.stop()
	case phPreparing:
		if f.cancel != nil {
			f.cancel()
		}
	}
	f.quitting = true
	f.refresh()
	return nil
}

// failure is the error that ended the flow, nil when it was declined.
func (f *flowScreen) failure() error {
	if f.err == nil || errors.Is(f.err, steps.ErrDeclined) {
		return nil
	}
	return f.err
}

// declined reports whether the operator answered No.
func (f *flowScreen) declined() bool {
	for _, r := range f.reps {
		if r.Status == steps.StatusDeclined {
			return true
		}
	}
	return false
}
