package ui

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/steps"
)

// Every step call runs in one of these commands and comes back as one typed
// message. Messages carry the id of the screen that asked, so a result that
// arrives after the operator left that screen is dropped. A session is
// touched by one command at a time and never by the update loop: the
// messages carry a copy of its step reports for the views.

var lastID atomic.Int64

// nextID returns a fresh screen id.
func nextID() int64 { return lastID.Add(1) }

// Navigation messages, handled by the root.
type (
	// homeMsg returns to the menu.
	homeMsg struct{}
	// openMsg opens a screen.
	openMsg struct{ s screen }
	// quitMsg leaves the wizard; err is what Run returns.
	quitMsg struct{ err error }
	// flowEndedMsg says a flow ended: the header reads the node again.
	flowEndedMsg struct{}
)

func msgCmd(m tea.Msg) tea.Cmd { return func() tea.Msg { return m } }

// builtMsg carries a flow built from a spec and the form's values.
type builtMsg struct {
	id   int64
	flow *steps.Flow
	err  error
}

// buildCmd builds spec's flow for the node, dry when the wizard is in
// dry-run mode (read-only datastore handles).
func buildCmd(c *Common, id int64, spec steps.FlowSpec, values map[string]string) tea.Cmd {
	ctx, env := c.Ctx, c.Env
	env.DryRun = c.DryRun
	vals := make(map[string]string, len(values))
	for k, v := range values {
		vals[k] = v
	}
	return func() tea.Msg {
		f, err := spec.Build(ctx, env, vals)
		return builtMsg{id: id, flow: f, err: err}
	}
}

// fieldCheckedMsg carries the check of one form field, made when it was left.
type fieldCheckedMsg struct {
	id         int64
	key, value string
	err        error
}

// checkFieldCmd checks a field's value through the steps package (it
// reads the file or dir named) off the update loop.
func checkFieldCmd(c *Common, id int64, spec steps.FlowSpec, key string, values map[string]string) tea.Cmd {
	env := c.Env
	vals := make(map[string]string, len(values))
	for k, v := range values {
		vals[k] = v
	}
	return func() tea.Msg {
		return fieldCheckedMsg{id: id, key: key, value: vals[key], err: steps.CheckField(env, spec, key, vals)}
	}
}

// completedMsg carries the completions of a path field's prefix.
type completedMsg struct {
	id     int64
	field  int
	prefix string
	cands  []string
	err    error
}

func completeCmd(c *Common, id int64, field int, prefix string, dirsOnly bool) tea.Cmd {
	complete := c.complete
	return func() tea.Msg {
		cands, err := complete(prefix, dirsOnly)
		return completedMsg{id: id, field: field, prefix: prefix, cands: cands, err: err}
	}
}

// sessionMsg is the state of a session after a command: the step reports
// and whether it ended or rolled back.
type sessionMsg struct {
	id     int64
	cur    int
	steps  []steps.StepReport
	ended  bool
	undone []string         // the steps whose undo ran, newest first
	node   *steps.NodeState // the service state at the end
	left   []steps.Leftover // what an unfinished flow left on disk
	warns  []string         // the preflight's warnings about the k3s version
}

func snapshot(id int64, s *steps.Session) sessionMsg {
	return sessionMsg{id: id, cur: s.Current(), steps: slices.Clone(s.Steps()), ended: s.Ended(),
		undone: slices.Clone(s.UndoneSteps()), node: s.Node(), left: slices.Clone(s.Leftovers()), warns: s.Warnings()}
}

// removedMsg says which leftovers were removed, and what failed.
type removedMsg struct {
	id      int64
	removed []string
	err     error
}

// removeCmd removes what an unfinished flow left behind.
func removeCmd(id int64, left []steps.Leftover) tea.Cmd {
	return func() tea.Msg {
		m := removedMsg{id: id}
		var errs []error
		for _, l := range left {
			if err := steps.RemoveLeftover(l); err != nil {
				errs = append(errs, err)
				continue
			}
			m.removed = append(m.removed, l.Path)
		}
		m.err = errors.Join(errs...)
		return m
	}
}

type (
	// preparedMsg carries the prepared step (nil at the end).
	preparedMsg struct {
		sessionMsg
		p   *steps.Prepared
		err error
	}
	// executedMsg carries what a step did.
	executedMsg struct {
		sessionMsg
		out *steps.Outcome
		err error
	}
	// declinedMsg says the session ended on a No.
	declinedMsg struct{ sessionMsg }
	// progressMsg is the latest progress line of the running step.
	progressMsg struct {
		id   int64
		text string
	}
)

// sessionCalls are the calls into the open flow's session (prepare,
// execute, decline, abort), each run by a command in its own goroutine,
// and the flow they belong to. When the program stops without the flow's
// say (the terminal gone with a dropped SSH session), Run stops new calls,
// waits for the running one and ends the flow as ctrl+c does (endOpen).
type sessionCalls struct {
	mu      sync.Mutex
	stopped bool
	running sync.WaitGroup
	// open is the flow screen last opened; its session may still be
	// going.
	open *flowScreen
}

// opened makes f the open flow.
func (c *sessionCalls) opened(f *flowScreen) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open = f
}

// call returns a command running f as a call into the session: none
// starts once the calls are stopped (the command then has no message).
func (c *sessionCalls) call(f func() tea.Msg) tea.Cmd {
	return func() tea.Msg {
		c.mu.Lock()
		if c.stopped {
			c.mu.Unlock()
			return nil
		}
		c.running.Add(1)
		c.mu.Unlock()
		defer c.running.Done()
		return f()
	}
}

// endOpen stops new calls, waits for the running one, then aborts the
// open flow's session if it is still going (its steps' undo run, k3s
// started again) and returns the lines Run prints after it, nil when
// there was nothing to end; err is a failed undo.
func (c *sessionCalls) endOpen(ctx context.Context) (closing []string, err error) {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.running.Wait()
	c.mu.Lock()
	f := c.open
	c.mu.Unlock()
	if f == nil || f.sess.Ended() {
		return nil, nil
	}
	err = f.sess.Abort(context.WithoutCancel(ctx))
	f.took(snapshot(f.id, f.sess))
	return f.closing(), err
}

func prepareCmd(c *sessionCalls, ctx context.Context, id int64, s *steps.Session) tea.Cmd {
	return c.call(func() tea.Msg {
		p, err := s.Prepare(ctx)
		return preparedMsg{sessionMsg: snapshot(id, s), p: p, err: err}
	})
}

// executeCmd runs the current step with ctx without its cancellation:
// neither ctrl+c nor a signal stops a writing step half way, it always
// runs to its end.
func executeCmd(c *sessionCalls, ctx context.Context, id int64, s *steps.Session, p *progress) tea.Cmd {
	return c.call(func() tea.Msg {
		out, err := s.Execute(context.WithoutCancel(ctx), p.report)
		p.close()
		return executedMsg{sessionMsg: snapshot(id, s), out: out, err: err}
	})
}

func declineCmd(c *sessionCalls, id int64, s *steps.Session) tea.Cmd {
	return c.call(func() tea.Msg {
		// The rollback (k3s started again) runs to its end; a failure of
		// it is kept on the declined step, which the screen shows.
		_ = s.Decline(context.Background())
		return declinedMsg{snapshot(id, s)}
	})
}

// abortedMsg says ctrl+c ended the session; err is a failed undo.
type abortedMsg struct {
	sessionMsg
	err error
}

// abortCmd ends the session before its current step and rolls back what
// can be; the screen then quits, saying what was undone.
func abortCmd(c *sessionCalls, ctx context.Context, id int64, s *steps.Session) tea.Cmd {
	return c.call(func() tea.Msg {
		err := s.Abort(context.WithoutCancel(ctx))
		return abortedMsg{sessionMsg: snapshot(id, s), err: err}
	})
}

// progress hands the latest progress line of a running step to the update
// loop: the step reports as often as it likes, the loop reads the last one.
type progress struct {
	mu   sync.Mutex
	last string
	note chan struct{}
	done chan struct{}
	once sync.Once
}

func newProgress() *progress {
	return &progress{note: make(chan struct{}, 1), done: make(chan struct{})}
}

func (p *progress) report(msg string) {
	p.mu.Lock()
	p.last = msg
	p.mu.Unlock()
	select {
	case p.note <- struct{}{}:
	default:
	}
}

func (p *progress) close() { p.once.Do(func() { close(p.done) }) }

// listen waits for the next progress line; nil once the step returned.
func (p *progress) listen(id int64) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-p.note:
			p.mu.Lock()
			defer p.mu.Unlock()
			return progressMsg{id: id, text: p.last}
		case <-p.done:
			return nil
		}
	}
}
