package steps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
}

// Task is one step of a flow.
type Task struct {
	// Title names the step in the step list and the progress lines.
	Title string
	// Writes marks a step that changes something: a file, the datastore or
	// a service. Such a step shows its preview and is confirmed before it
	// runs (default answer No); a dry run previews it and never runs it.
	Writes bool
	// Confirm is the word the operator types to confirm a writing step;
	// "" means a yes/no question. Computed when the step is reached.
	Confirm func() string
	// Skip, when set, is asked first: a non-empty reason skips the step
	// (the service is already stopped, the datastore already holds the set).
	Skip func(ctx context.Context) (string, error)
	// Preview describes what Run will do, without side effects. Nil: the
	// step has nothing to preview.
	Preview func(ctx context.Context) (*Plan, error)
	// Run performs the step. progress reports what it is doing now.
	Run func(ctx context.Context, progress func(string)) (*Outcome, error)
	// DryRun replaces Run for a writing step in a dry run, when later steps
	// need its result (the generated set, read from a private temp dir).
	// Nil: a dry run only previews the step.
	DryRun func(ctx context.Context, progress func(string)) (*Outcome, error)
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

// Mark is the one-character mark of a status in step lists.
func (s Status) Mark() string {
	switch s {
	case StatusDone:
		return "✓"
	case StatusRunning:
		return "▸"
	case StatusSkipped:
		return "–"
	case StatusPlanned:
		return "○"
	case StatusFailed:
		return "✗"
	case StatusDeclined:
		return "✗"
	}
	return "·"
}

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

// WordFor returns a Confirm function that always asks for word.
func WordFor(word string) func() string { return func() string { return word } }

// ConfirmWord is the word to type for t, "" for a yes/no question.
func (t *Task) ConfirmWord() string {
	if t.Confirm == nil {
		return ""
	}
	return t.Confirm()
}
