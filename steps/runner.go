package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/k3sca/k3sca/k3sver"
)

// Asker asks the operator to confirm a writing step; the plain (line by
// line) mode of the wizard implements it over stdin.
type Asker interface {
	// Confirm shows the question and reports the answer. word is the word
	// to type, "" for a yes/no question whose default is No.
	Confirm(ctx context.Context, step int, title, word string) (bool, error)
}

// Runner drives a flow headless: "step 3/8 <title>" lines, the plans of
// writing steps and the outcomes go to Out (stderr); confirmations come
// from Yes or from Ask.
type Runner struct {
	// Out receives the progress lines.
	Out io.Writer
	// Yes confirms every writing step (--yes). Steps that ask for a typed
	// word other than "yes" need it too: for them Yes is not enough unless
	// Words holds it.
	Yes bool
	// Words are words the operator gave on the command line (--confirm):
	// a step whose word is in Words is confirmed.
	Words []string
	// Ask, when set, asks the operator at each writing step that Yes and
	// Words do not confirm.
	Ask Asker
	// ShowSecrets prints the Secret lines of outcomes (--show-token).
	ShowSecrets bool
	// SecretHint follows masked lines ("": how --show-token shows them).
	SecretHint string
	// DryRun previews writing steps instead of running them.
	DryRun bool
	// Render is the text printed, indented, under an outcome for its Data
	// (the front end's renderer, render.Data); nil prints no data.
	Render func(data any) string
}

// Run runs f to its end and returns the session's report. The error is
// the first failure, ErrDeclined when a writing step was not confirmed, or
// the context's error.
func (r *Runner) Run(ctx context.Context, f *Flow) (Report, error) {
	s := NewSession(f, r.DryRun)
	pf, perr := s.Preflight(ctx)
	r.showPreflight(pf)
	if perr != nil {
		return s.Report(), perr
	}
	if !s.DryRun && r.Ask == nil {
		// Every confirmation is checked before the first step: a missing
		// flag must never stop a flow after it stopped k3s.
		needs := f.Needs()
		if miss := needs.Missing(r.Yes, r.Words); !miss.Empty() {
			err := &NotConfirmedError{Flow: f.ID, Needs: needs, Missing: miss}
			if f.Cleanup != nil {
				f.Cleanup()
				f.Cleanup = nil
			}
			rep := s.Report()
			rep.Declined = err.Error()
			return rep, err
		}
	}
	err := r.drive(ctx, s)
	rep := s.Report()
	rep.Leftovers = r.offerRemoval(ctx, rep.Leftovers)
	if rep.Node != nil && !rep.DryRun && (!rep.OK || !rep.Node.Active) {
		r.printf("%s\n", rep.Node.Line())
	}
	if r.DryRun && err == nil {
		r.printf("\ndry run of %q: nothing was written, no service was stopped, the datastore was not touched.\n", f.Title)
	}
	return rep, err
}

// showPreflight prints the node's k3s version and what k3sca does about
// it, before any plan.
func (r *Runner) showPreflight(pf *Preflight) {
	if pf == nil || pf.K3s == nil {
		return
	}
	name := "k3s"
	if v := pf.K3s.Parsed(); v != nil {
		name = v.Product
	}
	if pf.K3s.Version != "" {
		r.printf("%s %s (from %s)\n", name, pf.K3s.Version, pf.K3s.Source)
	}
	for _, fd := range pf.Findings {
		switch fd.Action {
		case k3sver.Refuse:
			// Said once, by the error that ends the run.
		case k3sver.Warn:
			r.printf("  warning: %s [%s]\n", fd.Text, fd.Source)
		default:
			if fd.ID == "unknown" && pf.K3s.Unknown != "" {
				r.printf("%s version unknown (%s): the version checks are skipped\n", name, pf.K3s.Unknown)
				continue
			}
			src := ""
			if fd.Source != "" {
				src = " [" + fd.Source + "]"
			}
			r.printf("  note: %s%s\n", fd.Text, src)
		}
	}
	if len(pf.Nodes) > 0 {
		var vs []string
		for _, n := range pf.Nodes {
			v := "unknown"
			if n.NodeVersion != nil && n.Version != "" {
				v = n.Version
			}
			vs = append(vs, n.Name+" "+v)
		}
		r.printf("nodes: %s\n", strings.Join(vs, ", "))
	}
	for _, w := range pf.nodeWarnings() {
		r.printf("  warning: %s\n", w)
	}
}

func (r *Runner) drive(ctx context.Context, s *Session) error {
	n := len(s.Flow.Tasks)
	shown := map[int]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return s.Abort(ctx)
		}
		p, err := s.Prepare(ctx)
		r.showSkips(s, shown)
		if err != nil {
			r.printf("step %d/%d failed: %v\n", s.Current()+1, n, StepCause(err))
			r.rolledBack(s)
			return err
		}
		if p == nil {
			return nil
		}
		i := p.Index + 1
		r.printf("step %d/%d %s\n", i, n, p.Task.Title)
		if p.Plan != nil {
			var b strings.Builder
			_ = p.Plan.Render(&b)
			r.printf("%s", indent(b.String()))
		}
		r.showAhead(p, n)
		if p.ConfirmedBy > 0 {
			r.printf("  (confirmed at step %d)\n", p.ConfirmedBy)
		}
		if p.Ask && !r.confirmed(p) {
			ok := false
			if p.Task.DryByDefault && r.Ask != nil {
				r.printf("  a No keeps this step a dry run: nothing of it is done\n")
			}
			if r.Ask != nil {
				if ok, err = r.Ask.Confirm(ctx, i, p.Task.Title, p.Word); err != nil {
					// Interrupted at the question: what ran is rolled back.
					aerr := s.Abort(ctx)
					r.printf("stopped: %s\n", s.Declined())
					r.rolledBack(s)
					return errors.Join(err, aerr)
				}
			}
			if !ok {
				rerr := s.Decline(ctx)
				if st := s.Steps()[p.Index]; rerr == nil && st.Status == StatusPlanned {
					r.printOutcome(i, n, st.Status, st.Outcome)
					continue
				}
				r.rolledBack(s)
				return errors.Join(&StepError{Step: i, Title: p.Task.Title, Err: ErrDeclined}, rerr)
			}
		}
		out, err := s.Execute(ctx, func(msg string) {
			news, _, _ := strings.Cut(msg, "\n")
			r.printf("  … %s\n", news)
		})
		if err != nil && out != nil {
			// The step ran; the flow was interrupted after it.
			r.printOutcome(i, n, s.Steps()[p.Index].Status, out)
			r.printf("stopped: %s\n", s.Declined())
			r.rolledBack(s)
			return err
		}
		if err != nil {
			r.printf("step %d/%d failed: %v\n", i, n, StepCause(err))
			if st := s.Steps()[p.Index]; st.Outcome != nil {
				for _, d := range st.Outcome.Details {
					r.printf("  %s\n", d)
				}
			}
			r.rolledBack(s)
			return err
		}
		r.printOutcome(i, n, s.Steps()[p.Index].Status, out)
	}
}

func (r *Runner) rolledBack(s *Session) {
	if s.Undone() {
		r.printf("rolled back: undid %s\n", strings.Join(s.UndoneSteps(), ", "))
	}
}

// offerRemoval names each leftover with the command that removes it and,
// when the runner asks (plain mode), offers to remove it now; it returns
// those still there.
func (r *Runner) offerRemoval(ctx context.Context, left []Leftover) []Leftover {
	var kept []Leftover
	for _, l := range left {
		r.printf("left behind: %s (%s); remove it with: %s\n", l.Path, l.What, l.Remove)
		if r.Ask == nil {
			kept = append(kept, l)
			continue
		}
		if ok, err := r.Ask.Confirm(ctx, 0, "Remove "+l.Path, ""); err != nil || !ok {
			kept = append(kept, l)
			continue
		}
		if err := RemoveLeftover(l); err != nil {
			r.printf("%v\n", err)
			kept = append(kept, l)
			continue
		}
		r.printf("removed %s\n", l.Path)
	}
	return kept
}

// showAhead prints the steps a disruptive step confirms with it.
func (r *Runner) showAhead(p *Prepared, n int) {
	if len(p.Ahead) == 0 {
		return
	}
	r.printf("  confirming step %d also confirms these, so no later question can leave the node stopped:\n", p.Index+1)
	for _, a := range p.Ahead {
		r.printf("  step %d/%d %s\n", a.N, n, a.Title)
		if a.Plan != nil {
			var b strings.Builder
			_ = a.Plan.Render(&b)
			r.printf("%s", indent(indent(b.String())))
		}
		if a.PlanError != "" {
			r.printf("    (previewed when it is reached: %s)\n", a.PlanError)
		}
	}
}

// confirmed reports whether the flags confirm p: --yes, and --confirm for
// each word it asks.
func (r *Runner) confirmed(p *Prepared) bool {
	if !r.Yes {
		return false
	}
	for _, w := range strings.Fields(p.Word) {
		if w != "yes" && !slices.Contains(r.Words, w) {
			return false
		}
	}
	return true
}

func (r *Runner) printOutcome(i, n int, st Status, out *Outcome) {
	word := "done"
	if st == StatusPlanned {
		word = "planned (dry run)"
	}
	r.printf("step %d/%d %s: %s\n", i, n, word, out.Summary)
	for _, w := range out.Warnings {
		r.printf("  warning: %s\n", w)
	}
	for _, d := range out.Details {
		r.printf("  %s\n", d)
	}
	if r.Render != nil && r.Out != nil {
		if text := r.Render(out.Data); text != "" {
			r.printf("%s", indent(text))
		}
	}
	lines, hint := out.Masked, len(out.Masked) > 0
	if r.ShowSecrets {
		lines, hint = out.Secret, false
	}
	for _, l := range lines {
		r.printf("  %s\n", l)
	}
	if hint {
		h := r.SecretHint
		if h == "" {
			h = "hidden: --show-token prints it"
		}
		r.printf("  (%s)\n", h)
	}
}

// showSkips prints each skipped step once.
func (r *Runner) showSkips(s *Session, shown map[int]bool) {
	for _, st := range s.Steps() {
		if st.Status == StatusSkipped && !shown[st.N] {
			shown[st.N] = true
			r.printf("step %d/%d skipped: %s (%s)\n", st.N, len(s.Steps()), st.Title, st.Reason)
		}
	}
}

func (r *Runner) printf(format string, args ...any) {
	if r.Out != nil {
		fmt.Fprintf(r.Out, format, args...)
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// StepCause is err without the "step N (title)" a flow adds (the task's
// own error), for lines that already name the step; err itself when it is
// not a StepError.
func StepCause(err error) error {
	var se *StepError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}
