package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/rollout"
)

// Session drives one run of a flow, one task at a time: Prepare the current
// task (skip it, or compute its preview and what to ask), then Execute it or
// Decline it. The headless Runner and the wizard both drive a Session, so
// they skip, ask, dry-run and roll back alike.
type Session struct {
	// Flow is the flow being run.
	Flow *Flow
	// DryRun previews writing tasks instead of running them.
	DryRun bool

	steps  []StepReport
	cur    int
	ended  bool
	undone bool
	// undoneSteps names the steps whose undo ran, newest first.
	undoneSteps []string
	// prepared is the step Prepare readied last.
	prepared *Prepared
	// confirmedBy maps a writing step confirmed ahead to the 1-based
	// disruptive step whose answer confirmed it.
	confirmedBy map[int]int
	// declined is the top-level reason when a step was not confirmed.
	declined string
	// node is the service state read at the end (Flow.State).
	node *NodeState
	// wasActive is the service state before the first step.
	wasActive *bool
	// endLogged says logEnd wrote the session's end.
	endLogged bool
	// leftovers are what the flow left behind when it did not finish.
	leftovers []Leftover
	// release drops the lock Flow.Lock took; nil while none is held.
	release func()
	// preflight is Flow.Preflight's answer, once it ran.
	preflight *Preflight
}

// StepReport is the state and result of one task in a session.
type StepReport struct {
	// N is the 1-based position, ID the task's stable name, Title its
	// title.
	N     int    `json:"n"`
	ID    string `json:"id"`
	Title string `json:"title"`
	// Writes says whether the task changes something.
	Writes bool `json:"writes"`
	// Status is where the task stands.
	Status Status `json:"status"`
	// Reason says why it was skipped.
	Reason string `json:"reason,omitempty"`
	// Plan is the task's preview, when it has one.
	Plan *Plan `json:"plan,omitempty"`
	// Outcome is what the task did.
	Outcome *Outcome `json:"outcome,omitempty"`
	// Error is the failure, as text.
	Error string `json:"error,omitempty"`
}

// Prepared is the current task, ready to execute.
type Prepared struct {
	// Index is the 0-based index of the task.
	Index int
	// Task is the task.
	Task *Task
	// Plan is its preview (nil when it has none).
	Plan *Plan
	// Ask says the operator must confirm before Execute: a writing task
	// outside a dry run.
	Ask bool
	// Word is the word to type, "" for yes/no. At a disruptive step it is
	// every word the steps it confirms ask, space-separated.
	Word string
	// Ahead are the writing steps after a disruptive one, confirmed by the
	// same answer: the operator sees them before the node is taken out of
	// service, and they run without asking again.
	Ahead []AheadStep
	// ConfirmedBy is the 1-based step whose answer confirmed this one
	// ahead; 0 when it was not.
	ConfirmedBy int
}

// AheadStep is a writing step confirmed ahead, at a disruptive step.
type AheadStep struct {
	// N is the 1-based position, Title the step's title.
	N     int    `json:"n"`
	Title string `json:"title"`
	// Word is the word it asks, "" for yes/no.
	Word string `json:"word,omitempty"`
	// Plan is its read-only preview, when it has one now.
	Plan *Plan `json:"plan,omitempty"`
	// PlanError says why the preview could not be computed yet.
	PlanError string `json:"planError,omitempty"`
}

// NewSession starts a run of f; a flow built for a dry run always runs dry.
func NewSession(f *Flow, dryRun bool) *Session {
	s := &Session{Flow: f, DryRun: dryRun || f.DryRun, confirmedBy: map[int]int{}}
	for i, t := range f.Tasks {
		s.steps = append(s.steps, StepReport{N: i + 1, ID: t.ID, Title: t.Title, Writes: t.Writes, Status: StatusPending})
	}
	return s
}

// Steps returns the state of every task, in order.
func (s *Session) Steps() []StepReport { return s.steps }

// Current is the index of the task to prepare next; len(Tasks) at the end.
func (s *Session) Current() int { return s.cur }

// Ended reports whether the session is over: every task done or skipped,
// or one failed or was declined.
func (s *Session) Ended() bool { return s.ended || s.cur >= len(s.Flow.Tasks) }

// OK reports whether every task ran (or was skipped or planned).
func (s *Session) OK() bool {
	for _, st := range s.steps {
		switch st.Status {
		case StatusDone, StatusSkipped, StatusPlanned:
		default:
			return false
		}
	}
	return true
}

// Prepare readies the current task. Tasks whose Skip gives a reason are
// marked skipped and passed over; the result is nil when none is left.
func (s *Session) Prepare(ctx context.Context) (*Prepared, error) {
	if _, err := s.Preflight(ctx); err != nil {
		return nil, err
	}
	s.start(ctx)
	for !s.Ended() {
		t := s.Flow.Tasks[s.cur]
		if t.off {
			s.steps[s.cur].Status, s.steps[s.cur].Reason = StatusSkipped, "not selected (--only/--skip)"
			s.log(s.cur, "not selected")
			s.cur++
			continue
		}
		if t.Skip != nil {
			reason, err := t.Skip(ctx)
			if err != nil {
				return nil, s.fail(ctx, err)
			}
			if reason != "" {
				s.steps[s.cur].Status, s.steps[s.cur].Reason = StatusSkipped, reason
				s.log(s.cur, reason)
				s.cur++
				continue
			}
		}
		p := &Prepared{Index: s.cur, Task: t, Ask: t.Writes && !s.DryRun, Word: t.Word}
		if by := s.confirmedBy[s.cur]; by > 0 {
			p.Ask, p.ConfirmedBy = false, by
		}
		if t.Preview != nil {
			plan, err := t.Preview(ctx)
			if err != nil {
				return nil, s.fail(ctx, err)
			}
			p.Plan = plan
			s.steps[s.cur].Plan = plan
		}
		if err := s.lock(ctx, t); err != nil {
			return nil, s.fail(ctx, err)
		}
		if t.Disruptive && p.Ask {
			s.ahead(ctx, p)
		}
		s.prepared = p
		return p, nil
	}
	s.finish()
	return nil, nil
}

// Execute runs the current task (in a dry run, a writing task's DryRun or
// nothing) and moves on. A writing task runs to its end even when ctx is
// cancelled meanwhile: the session then stops after it and rolls back.
func (s *Session) Execute(ctx context.Context, progress func(string)) (*Outcome, error) {
	if s.Ended() {
		return nil, errors.New("the flow has ended")
	}
	if progress == nil {
		progress = func(string) {}
	}
	t, st := s.Flow.Tasks[s.cur], &s.steps[s.cur]
	if p := s.prepared; p != nil && p.Index == s.cur {
		// Running a disruptive step is the answer for the steps it
		// confirmed ahead.
		for _, a := range p.Ahead {
			s.confirmedBy[a.N-1] = s.cur + 1
		}
	}
	st.Status = StatusRunning
	var (
		out *Outcome
		err error
	)
	switch {
	case t.Writes && s.DryRun && t.DryRun != nil:
		out, err = t.DryRun(ctx, progress)
	case t.Writes && s.DryRun:
		out = &Outcome{Summary: "dry run: nothing done"}
	case t.Writes:
		out, err = t.Run(context.WithoutCancel(ctx), progress)
	default:
		out, err = t.Run(ctx, progress)
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if out == nil {
		out = &Outcome{}
	}
	st.Outcome = out
	st.Status = StatusDone
	if t.Writes && s.DryRun {
		st.Status = StatusPlanned
	}
	s.log(s.cur, out.Summary)
	s.cur++
	if err := ctx.Err(); err != nil && !s.Ended() {
		// ctrl+c while the step ran: it ran to its end; the flow stops
		// before the next one and rolls back, as at a question.
		if aerr := s.Abort(ctx); aerr != nil {
			return out, errors.Join(fmt.Errorf("interrupted after step %d: %w", s.cur, err), aerr)
		}
		return out, fmt.Errorf("interrupted after step %d: %w", s.cur, err)
	}
	if s.Ended() {
		s.finish()
	}
	return out, nil
}

// Decline marks the current task declined, ends the session and rolls back
// what the steps before it did (a stopped k3s is started again), as a
// failure does: a No never leaves the node other than it was, but for what
// has no undo (a staged dir, a datastore write that was confirmed).
//
// At a step that is a dry run by default (Task.DryByDefault) a No keeps
// it a dry run instead: see keepDry.
func (s *Session) Decline(ctx context.Context) error {
	if s.Ended() {
		return nil
	}
	if t := s.Flow.Tasks[s.cur]; t.DryByDefault && t.DryRun != nil {
		return s.keepDry(ctx, t)
	}
	s.steps[s.cur].Status = StatusDeclined
	s.declined = fmt.Sprintf("step %d (%s) was not confirmed", s.cur+1, s.steps[s.cur].Title)
	s.log(s.cur, "not confirmed")
	s.ended = true
	err := s.rollback(ctx)
	if err != nil {
		s.steps[s.cur].Error = err.Error()
	}
	s.finish()
	return err
}

// keepDry answers No at a step that is a dry run by default: its DryRun
// is its outcome and it is planned, as in a dry run of the flow; nothing
// before it is rolled back and the flow goes on with the next step.
func (s *Session) keepDry(ctx context.Context, t *Task) error {
	st := &s.steps[s.cur]
	st.Status = StatusRunning
	out, err := t.DryRun(ctx, func(string) {})
	if err != nil {
		return s.fail(ctx, err)
	}
	if out == nil {
		out = &Outcome{}
	}
	st.Outcome, st.Status = out, StatusPlanned
	s.log(s.cur, "not confirmed: kept a dry run: "+out.Summary)
	s.cur++
	if s.Ended() {
		s.finish()
	}
	return nil
}

// Abort ends the session before the current task (Ctrl+C while waiting for
// an answer) and rolls back what can be.
func (s *Session) Abort(ctx context.Context) error {
	if s.Ended() {
		return nil
	}
	s.ended = true
	if s.cur < len(s.steps) {
		s.declined = fmt.Sprintf("interrupted before step %d (%s)", s.cur+1, s.steps[s.cur].Title)
	}
	err := s.rollback(ctx)
	s.finish()
	return err
}

// Node is the service state read when the session ended; nil before, or
// when the flow has no State.
func (s *Session) Node() *NodeState { return s.node }

// Leftovers are what the flow left on disk when it did not finish.
func (s *Session) Leftovers() []Leftover { return s.leftovers }

// Declined is the reason the session stopped at a question; "" otherwise.
func (s *Session) Declined() string { return s.declined }

// Undone reports whether a rollback ran.
func (s *Session) Undone() bool { return s.undone }

// UndoneSteps names the steps whose undo ran, newest first.
func (s *Session) UndoneSteps() []string { return s.undoneSteps }

// fail marks the current task failed, rolls back, ends the session and
// returns the error wrapped with the step.
func (s *Session) fail(ctx context.Context, err error) error {
	i := min(s.cur, len(s.steps)-1)
	if s.cur < len(s.steps) {
		s.steps[i].Status = StatusFailed
		s.steps[i].Error = err.Error()
		var fd FailureDetails
		if errors.As(err, &fd) {
			s.steps[i].Outcome = &Outcome{Summary: "failed", Details: fd.Details()}
		}
		s.log(i, err.Error())
	}
	s.ended = true
	serr := &StepError{Step: i + 1, Title: s.steps[i].Title, Err: err}
	if rerr := s.rollback(ctx); rerr != nil {
		s.finish()
		return errors.Join(serr, rerr)
	}
	s.finish()
	return serr
}

// Preflight runs the flow's preflight once, before the first step, and
// returns it (nil when the flow has none). A refusal ends the session:
// the error wraps ErrVersionRefused and no step runs.
func (s *Session) Preflight(ctx context.Context) (*Preflight, error) {
	if s.Flow.Preflight == nil {
		return nil, nil
	}
	if s.preflight == nil {
		s.preflight = s.Flow.Preflight(ctx)
		if s.preflight == nil {
			s.preflight = &Preflight{}
		}
	}
	line := "this k3s"
	if s.preflight.K3s != nil && s.preflight.K3s.Version != "" {
		line = s.preflight.K3s.Version
	}
	if err := s.preflight.refusal(s.Flow.ID, line); err != nil {
		if !s.ended {
			s.ended, s.declined = true, err.Error()
			if s.Flow.Log != nil {
				s.Flow.Log.Info("preflight", "flow", s.Flow.ID, "refused", err.Error())
			}
			s.finish()
		}
		return s.preflight, err
	}
	return s.preflight, nil
}

// Warnings are the preflight's findings the operator must read before a
// question (k3sver.Warn), once it ran; no I/O.
func (s *Session) Warnings() []string {
	if s.preflight == nil {
		return nil
	}
	var out []string
	for _, f := range s.preflight.Findings {
		if f.Action == k3sver.Warn {
			out = append(out, f.Text+" ["+f.Source+"]")
		}
	}
	return append(out, s.preflight.nodeWarnings()...)
}

// start reads the service state once, before the first step, so the end
// can say whether the flow left it as it found it.
func (s *Session) start(ctx context.Context) {
	if s.wasActive != nil || s.Flow.State == nil {
		return
	}
	st := s.Flow.State(ctx)
	active := st != nil && st.Active
	s.wasActive = &active
}

// ahead fills p.Ahead with the writing steps after the disruptive p and
// their read-only previews, and p.Word with every word they ask.
func (s *Session) ahead(ctx context.Context, p *Prepared) {
	words := []string{}
	if p.Word != "" {
		words = append(words, p.Word)
	}
	for j := p.Index + 1; j < len(s.Flow.Tasks); j++ {
		t := s.Flow.Tasks[j]
		if !t.Writes || t.off {
			continue
		}
		a := AheadStep{N: j + 1, Title: t.Title, Word: t.Word}
		if t.Ahead != nil {
			plan, err := t.Ahead(ctx)
			if err != nil {
				a.PlanError = err.Error()
			}
			a.Plan = plan
		}
		if t.Word != "" && !slices.Contains(words, t.Word) {
			words = append(words, t.Word)
		}
		p.Ahead = append(p.Ahead, a)
		if t.ID == p.Task.Restores {
			// k3s is back after this one: later steps ask for themselves.
			break
		}
	}
	p.Word = strings.Join(words, " ")
}

// rollback calls Undo of every task that ran, newest first.
func (s *Session) rollback(ctx context.Context) error {
	var errs []error
	for i := len(s.steps) - 1; i >= 0; i-- {
		t := s.Flow.Tasks[i]
		if s.steps[i].Status != StatusDone || t.Undo == nil || !t.Writes {
			continue
		}
		s.undone = true
		s.undoneSteps = append(s.undoneSteps, fmt.Sprintf("step %d (%s)", i+1, t.Title))
		if s.Flow.Log != nil {
			s.Flow.Log.Info("undo", "flow", s.Flow.ID, "n", i+1, "title", t.Title)
		}
		if err := t.Undo(context.WithoutCancel(ctx)); err != nil {
			errs = append(errs, fmt.Errorf("undo step %d (%s): %w", i+1, t.Title, err))
		}
	}
	return errors.Join(errs...)
}

// log records step i's status and message. Outcome summaries and errors
// never hold secrets: tokens travel only in Outcome.Secret.
func (s *Session) log(i int, msg string) {
	if s.Flow.Log == nil {
		return
	}
	st := s.steps[i]
	s.Flow.Log.Info("step", "flow", s.Flow.ID, "dryRun", s.DryRun, "n", st.N, "title", st.Title, "status", string(st.Status), "msg", msg)
}

// lock takes the flow's lock at its first writing step outside a dry run,
// after that step's preview (bad input touches nothing) and before it is
// asked or run.
func (s *Session) lock(ctx context.Context, t *Task) error {
	if !t.Writes || s.DryRun || s.Flow.Lock == nil || s.release != nil {
		return nil
	}
	release, err := s.Flow.Lock(ctx)
	if err != nil {
		return err
	}
	s.release = release
	return nil
}

// finish reads the service state, calls the flow's Cleanup once and
// releases the lock.
func (s *Session) finish() {
	defer func() {
		if s.release != nil {
			s.release()
			s.release = nil
		}
	}()
	if s.Flow.State != nil && s.node == nil {
		s.node = s.Flow.State(context.Background())
		if s.node != nil && s.wasActive != nil {
			s.node.WasActive = *s.wasActive
		}
	}
	if s.Flow.Leftovers != nil && !s.OK() && s.leftovers == nil {
		s.leftovers = s.Flow.Leftovers()
	}
	if s.Flow.Cleanup != nil {
		s.Flow.Cleanup()
		s.Flow.Cleanup = nil
	}
	s.logEnd()
}

// logEnd records, once, how the session ended: whether it finished, why
// it stopped (a No, an interrupt: ctrl+c or a signal), what was undone
// and whether k3s runs now. After an SSH session dropped this is the
// operator's record of what k3sca did on its own.
func (s *Session) logEnd() {
	if s.Flow.Log == nil || s.endLogged {
		return
	}
	s.endLogged = true
	attrs := []any{"flow", s.Flow.ID, "dryRun", s.DryRun, "ok", s.OK()}
	if s.declined != "" {
		attrs = append(attrs, "stopped", s.declined)
	}
	if len(s.undoneSteps) > 0 {
		attrs = append(attrs, "undone", strings.Join(s.undoneSteps, ", "))
	}
	if s.node != nil {
		attrs = append(attrs, "unit", s.node.Unit, "active", s.node.Active)
	}
	s.Flow.Log.Info("end", attrs...)
}

// Report is the JSON summary of a session.
type Report struct {
	// Flow and Title name the flow.
	Flow  string `json:"flow"`
	Title string `json:"title"`
	// DryRun says nothing was written.
	DryRun bool `json:"dryRun"`
	// OK says every step ran, was skipped or was planned.
	OK bool `json:"ok"`
	// RolledBack says undo steps ran after a failure, a No or ctrl+c.
	RolledBack bool `json:"rolledBack,omitempty"`
	// Undone names the steps whose undo ran, newest first.
	Undone []string `json:"undone,omitempty"`
	// Declined is the reason the flow stopped at a question (a No, a
	// missing flag, ctrl+c); "" when it did not.
	Declined string `json:"declined,omitempty"`
	// Node is the service's state when the flow ended.
	Node *NodeState `json:"node,omitempty"`
	// Leftovers are what a flow that did not finish left on disk.
	Leftovers []Leftover `json:"leftovers,omitempty"`
	// Result is the structured outcome (staged dir, backup, revisions,
	// hashes, masked token).
	Result *FlowResult `json:"result,omitempty"`
	// K3sVersion is the node's k3s version as the preflight found it;
	// Preflight what k3sca does about it for this flow.
	K3sVersion *node.K3sVersion `json:"k3sVersion,omitempty"`
	Preflight  []k3sver.Finding `json:"preflight,omitempty"`
	// NodeVersions are the cluster's nodes' versions, read before step 1
	// of a flow that ends with the rollout.
	NodeVersions []rollout.NodeVersionReport `json:"nodeVersions,omitempty"`
	// Steps are the steps in order.
	Steps []StepReport `json:"steps"`
}

// Report summarizes the session.
func (s *Session) Report() Report {
	var res *FlowResult
	if s.Flow.Result != nil {
		res = s.Flow.Result()
	}
	var k3s *node.K3sVersion
	var findings []k3sver.Finding
	var nodes []rollout.NodeVersionReport
	if s.preflight != nil {
		k3s, findings, nodes = s.preflight.K3s, s.preflight.Findings, s.preflight.Nodes
	}
	return Report{Result: res, K3sVersion: k3s, Preflight: findings, NodeVersions: nodes, Flow: s.Flow.ID, Title: s.Flow.Title, DryRun: s.DryRun, OK: s.OK(), RolledBack: s.undone, Undone: s.undoneSteps,
		Declined: s.declined, Node: s.node, Leftovers: s.leftovers, Steps: s.steps}
}
