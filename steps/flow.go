package steps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// A Flow is an ordered list of tasks that together do one operation the
// operator chose from the menu: "Rotate the self-signed CAs", "Check
// certificates". The headless Runner and the wizard drive the same flows:
// neither knows what a task does, only its title, its preview, whether it
// writes and how to confirm it.
type Flow struct {
	// ID names the flow on the command line (k3sca run <id>) and in JSON.
	ID string `json:"id"`
	// Title is what the operator sees in the menu and the header.
	Title string `json:"title"`
	// Tasks run in order; a task reads the results of the ones before it
	// through the flow's own state, captured by its functions.
	Tasks []*Task `json:"-"`
	// DryRun says the flow was built for a dry run (read-only datastore
	// handles); a session of it is always a dry run.
	DryRun bool `json:"dryRun"`
	// Cleanup, when set, runs once after the flow ends (done, failed or
	// cancelled): it releases datastore handles and private temp dirs.
	Cleanup func() `json:"-"`
	// Log receives one record per step (Env.Log); nil logs nothing.
	Log *slog.Logger `json:"-"`
	// Lock, when set, takes the data dir's write lock (one writer per
	// cluster node); the session calls it before its first writing step
	// outside a dry run and calls release when the flow ends. A refusal
	// fails that step: nothing was done.
	Lock func(ctx context.Context) (release func(), err error) `json:"-"`
	// State, when set, reads the node's service state when the flow ends,
	// for the report's last line: k3s running, or stopped and how to start
	// it.
	State func(ctx context.Context) *NodeState `json:"-"`
	// Leftovers, when set, names what a flow that did not finish leaves
	// behind and should not (a staged dir holding private keys that were
	// never loaded), for the report and the offer to remove it.
	Leftovers func() []Leftover `json:"-"`
	// Result, when set, gathers the facts an automation reads from the
	// report when the flow ends (the staged dir, the backup, revisions,
	// hashes), whatever the wording of the steps.
	Result func() *FlowResult `json:"-"`
	// Preflight, when set, runs once before the first step: it finds the
	// node's k3s version and what k3sca does about it for this flow. A
	// refusal ends the session before step 1; nothing runs.
	Preflight func(ctx context.Context) *Preflight `json:"-"`
}

// FlowResult is the structured outcome of a CA flow, for -o json. Empty
// fields were not reached.
type FlowResult struct {
	// StagedDir is where the new set was staged (not a dry run's scratch
	// dir).
	StagedDir string `json:"stagedDir,omitempty"`
	// Backup is the backup file the load wrote.
	Backup string `json:"backup,omitempty"`
	// Via is the datastore path; Key the bootstrap key; Revision the one
	// the load replaced, NewRevision the one it wrote.
	Via         string `json:"via,omitempty"`
	Key         string `json:"key,omitempty"`
	Revision    int64  `json:"revision,omitempty"`
	NewRevision int64  `json:"newRevision,omitempty"`
	// Wrote says the datastore holds the new value.
	Wrote bool `json:"wrote"`
	// OldHash and NewHash are the join-token CA hashes before and after.
	OldHash string `json:"oldHash,omitempty"`
	NewHash string `json:"newHash,omitempty"`
	// Token is the new full token, masked.
	Token string `json:"token,omitempty"`
	// RegenerateTrigger is the listener's trigger the load wrote.
	RegenerateTrigger string `json:"regenerateTrigger,omitempty"`
}

// Leftover is something an unfinished flow left on disk.
type Leftover struct {
	// Path is the file or dir; What says what it holds.
	Path string `json:"path"`
	What string `json:"what"`
	// Remove is the command that removes it.
	Remove string `json:"remove"`
}

// NodeState is the state of the node's k3s service when a flow ended.
type NodeState struct {
	// Unit is the service, Active whether it runs now.
	Unit   string `json:"unit"`
	Active bool   `json:"active"`
	// WasActive is whether it ran when the flow started.
	WasActive bool `json:"wasActive"`
	// Start is the command that starts it, set when it is stopped.
	Start string `json:"start,omitempty"`
	// Error is set when the state could not be read: it is unknown.
	Error string `json:"error,omitempty"`
}

// Line is the report's last line about the service.
func (n *NodeState) Line() string {
	switch {
	case n.Error != "":
		return fmt.Sprintf("%s: state unknown (%s); check with: %s", n.Unit, n.Error, "systemctl is-active "+n.Unit)
	case n.Active:
		return n.Unit + " is running"
	case n.WasActive:
		return fmt.Sprintf("%s is stopped (it was running when the flow started): start it with: %s", n.Unit, n.Start)
	}
	return fmt.Sprintf("%s is stopped, as it was before this flow: start it with: %s", n.Unit, n.Start)
}

// Task is one step of a flow.
type Task struct {
	// ID names the step on the command line (run <flow> --only ID) and in
	// JSON; stable across releases.
	ID string
	// Title names the step in the step list and the progress lines.
	Title string
	// Writes marks a step that changes something: a file, the datastore or
	// a service. Such a step shows its preview and is confirmed before it
	// runs (default answer No); a dry run previews it and never runs it.
	Writes bool
	// Word is the word the operator types to confirm a writing step; ""
	// means a yes/no question. It is known when the flow is built, so a
	// run knows every confirmation it needs before its first step.
	Word string
	// Disruptive marks a step that takes the node out of service (stopping
	// k3s). It is confirmed together with every writing step after it up to
	// the one named by Restores (the start): the operator sees their plans
	// first, and no question is asked while the node is down.
	Disruptive bool
	// Restores is the ID of the step that puts back what a disruptive step
	// took (the start after a stop): one is never selected without the
	// other.
	Restores string
	// off says --only/--skip left the step out: it is skipped.
	off bool
	// Ahead, when set, previews the step read-only before a disruptive
	// step runs (the load's diff, read while k3s still runs); Preview runs
	// again when the step is reached.
	Ahead func(ctx context.Context) (*Plan, error)
	// Skip, when set, is asked first: a non-empty reason skips the step
	// (the service is already stopped, the datastore already holds the set).
	Skip func(ctx context.Context) (string, error)
	// Preview describes what Run will do, without side effects. Nil: the
	// step has nothing to preview.
	Preview func(ctx context.Context) (*Plan, error)
	// Run performs the step. progress reports what it is doing now: its
	// first line is the news (the one line headless runs print); lines
	// after it, if any, are a live view of the whole step (the rollout's
	// nodes, each with its mark) that the wizard shows under it.
	Run func(ctx context.Context, progress func(string)) (*Outcome, error)
	// DryRun replaces Run for a writing step in a dry run, when later steps
	// need its result (the generated set, read from a private temp dir).
	// Nil: a dry run only previews the step.
	DryRun func(ctx context.Context, progress func(string)) (*Outcome, error)
	// DryByDefault makes the step a dry run unless confirmed, as talosctl's
	// rotate-ca is: its preview is the dry run, its question asks for Word
	// to go on, and a No keeps it a dry run (Session.Decline runs DryRun:
	// the step is planned, nothing before it is rolled back and the flow
	// goes on). It needs DryRun.
	DryByDefault bool
	// Undo, when set, is called if the flow stops after this step ran
	// (an error or a cancel later on): it puts back what the step changed
	// and can be put back, such as starting a service it stopped.
	Undo func(ctx context.Context) error
}

// Outcome is what a task did, for the step panel, the progress lines and
// the JSON summary.
type Outcome struct {
	// Summary is one line.
	Summary string `json:"summary"`
	// Details are lines shown under the summary (a report, a restart plan).
	Details []string `json:"details,omitempty"`
	// Secret are lines holding a token: shown only when the operator asks
	// (--show-token, or the reveal key in the wizard).
	Secret []string `json:"-"`
	// Masked stand in for Secret when it is hidden.
	Masked []string `json:"masked,omitempty"`
	// Warnings are facts the operator must read (shown highlighted).
	Warnings []string `json:"warnings,omitempty"`
	// Data is the structured result (an inventory, a report, a token
	// report) for renderers and JSON; may be nil.
	Data any `json:"data,omitempty"`
}

// Status is where a task stands in a run.
type Status string

// Task statuses.
const (
	StatusPending  Status = "pending"
	StatusRunning  Status = "running"
	StatusDone     Status = "done"
	StatusSkipped  Status = "skipped"
	StatusPlanned  Status = "planned" // a dry run previewed a writing step
	StatusFailed   Status = "failed"
	StatusDeclined Status = "declined"
)

// ErrDeclined means the operator answered No (or --yes was not given) at a
// writing step; nothing from that step on was done.
var ErrDeclined = errors.New("not confirmed: stopped before the step that writes")

// StepError is a failed task; it names the step.
type StepError struct {
	// Step is the 1-based index, Title the step's title.
	Step  int
	Title string
	// Err is the task's error.
	Err error
}

// Error implements error.
func (e *StepError) Error() string { return fmt.Sprintf("step %d (%s): %v", e.Step, e.Title, e.Err) }

// Unwrap returns the task's error.
func (e *StepError) Unwrap() error { return e.Err }

// Confirmations are what a run of a flow needs from the command line to
// run every writing step: --yes, and --confirm for each typed word.
type Confirmations struct {
	// Yes says a step writes.
	Yes bool `json:"yes"`
	// Words are the typed words, in the order the steps ask them.
	Words []string `json:"words,omitempty"`
	// Steps name the writing steps ("4 (Stop k3s)").
	Steps []string `json:"steps,omitempty"`
}

// Needs is every confirmation a run of f asks for, known before its first
// step runs. A step skipped at run time (k3s already stopped) is counted:
// the answer must not depend on the node's state at that moment.
func (f *Flow) Needs() Confirmations {
	var c Confirmations
	for i, t := range f.Tasks {
		if !t.Writes || t.off {
			continue
		}
		c.Yes = true
		c.Steps = append(c.Steps, fmt.Sprintf("%d (%s)", i+1, t.Title))
		if t.Word != "" && t.Word != "yes" && !slices.Contains(c.Words, t.Word) {
			c.Words = append(c.Words, t.Word)
		}
	}
	return c
}

// ErrBadSelection is an --only/--skip that names no step of the flow, or
// that would take a disruptive step without the one that undoes it.
var ErrBadSelection = errors.New("bad step selection")

// Select keeps the steps named by only (all when empty) minus those named
// by skip, as kubeadm's phases do; the others are skipped when the flow
// runs. It refuses an unknown ID, listing the flow's, and a selection that
// would stop k3s without starting it again.
func (f *Flow) Select(only, skip []string) error {
	ids := make([]string, 0, len(f.Tasks))
	for _, t := range f.Tasks {
		ids = append(ids, t.ID)
	}
	for _, id := range append(slices.Clone(only), skip...) {
		if !slices.Contains(ids, id) {
			return fmt.Errorf("%w: %s has no step %q; its steps are: %s", ErrBadSelection, f.ID, id, strings.Join(ids, ", "))
		}
	}
	on := func(t *Task) bool {
		return (len(only) == 0 || slices.Contains(only, t.ID)) && !slices.Contains(skip, t.ID)
	}
	for _, t := range f.Tasks {
		if !t.Disruptive || t.Restores == "" || !on(t) {
			continue
		}
		for _, r := range f.Tasks {
			if r.ID == t.Restores && !on(r) {
				return fmt.Errorf("%w: step %q (%s) stops k3s; it runs only together with step %q (%s), which starts it again",
					ErrBadSelection, t.ID, t.Title, r.ID, r.Title)
			}
		}
	}
	for _, t := range f.Tasks {
		t.off = !on(t)
	}
	return nil
}

// Flags is the command-line spelling of c: "--yes --confirm load".
func (c Confirmations) Flags() string {
	if !c.Yes {
		return ""
	}
	parts := []string{"--yes"}
	for _, w := range c.Words {
		parts = append(parts, "--confirm "+w)
	}
	return strings.Join(parts, " ")
}

// Missing is what of c the flags yes and words do not give.
func (c Confirmations) Missing(yes bool, words []string) Confirmations {
	var m Confirmations
	m.Yes = c.Yes && !yes
	for _, w := range c.Words {
		if !slices.Contains(words, w) {
			m.Words = append(m.Words, w)
		}
	}
	m.Steps = c.Steps
	return m
}

// Empty reports whether nothing is needed.
func (c Confirmations) Empty() bool { return !c.Yes && len(c.Words) == 0 }

// ErrNotConfirmed is a headless run refused before its first step: the
// flags do not confirm every writing step it would reach.
var ErrNotConfirmed = errors.New("not confirmed")

// NotConfirmedError names what a headless run needs; nothing ran.
type NotConfirmedError struct {
	// Flow is the flow's ID; Needs is everything it asks, Missing what the
	// flags lack.
	Flow    string
	Needs   Confirmations
	Missing Confirmations
}

// Error implements error.
func (e *NotConfirmedError) Error() string {
	at := "steps"
	if len(e.Needs.Steps) == 1 {
		at = "step"
	}
	return fmt.Sprintf("%s writes at %s %s; confirm them all with %s (missing: %s), or preview with --dry-run. Nothing was run",
		e.Flow, at, strings.Join(e.Needs.Steps, ", "), e.Needs.Flags(), e.Missing.missingText())
}

func (c Confirmations) missingText() string {
	var parts []string
	if c.Yes {
		parts = append(parts, "--yes")
	}
	for _, w := range c.Words {
		parts = append(parts, "--confirm "+w)
	}
	return strings.Join(parts, ", ")
}

// Unwrap returns ErrNotConfirmed.
func (e *NotConfirmedError) Unwrap() error { return ErrNotConfirmed }
