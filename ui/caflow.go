package ui

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// phase is where a flow stands.
type phase int

const (
	phStage    phase = iota // text input for the staging dir
	phBusy                  // a step runs; spinner
	phPlan                  // the generate plan; enter writes
	phReport                // the validation report; enter continues when accepted
	phLoadPlan              // the load preview and the typed confirmation
	phDone                  // new hash, token, restart order
)

// caFlow stages a CA rotation (or a service-key rotation), validates it,
// previews the load, confirms it by the typed word "load", loads it and
// says what to do next.
type caFlow struct {
	com   *Common
	id    int64
	kind  steps.GenerateKind
	phase phase
	busy  string   // what runs, next to the spinner
	log   []string // finished steps, kept above the live view
	inErr error    // the last generate error, shown under the input

	dir     lineInput
	gen     *steps.Generate
	staged  string
	report  *pki.Report
	load    *steps.Load
	lp      *steps.LoadPlan
	lplan   *steps.Plan
	confirm confirmInput
	restart *steps.RestartReport
	secret  bool

	spin spinner.Model
	vp   viewport.Model
}

func newCAFlow(c *Common, kind steps.GenerateKind) *caFlow {
	dir := lineInput{Prompt: "staging dir> "}
	dir.SetValue(filepath.Join(c.Cfg.StageRoot, fmt.Sprintf("k3sca-%s-%d", kind, c.Cfg.Now().Unix())))
	return &caFlow{com: c, id: nextID(), kind: kind, dir: dir, spin: spinner.New(), vp: newViewport()}
}

// title names the flow.
func (f *caFlow) title() string {
	if f.kind == steps.GenServiceKey {
		return "Rotate the service-account signing key"
	}
	return "Rotate the self-signed CAs (cross-signed)"
}

// Init implements screen.
func (f *caFlow) Init() tea.Cmd { return nil }

// Leave implements screen: it releases the datastore handle of a load that
// was previewed but not run. While a step runs, the step owns the handle.
func (f *caFlow) Leave() tea.Cmd {
	if f.load == nil || f.phase == phDone || f.phase == phBusy {
		return nil
	}
	l := f.load
	f.load = nil
	return closeCmd(l)
}

// SetSize implements screen.
func (f *caFlow) SetSize(w, h int) {
	f.dir.Width = w
	f.confirm.SetWidth(w)
	f.relayout()
}

// start shows the spinner with label and runs cmd.
func (f *caFlow) start(label string, cmd tea.Cmd) tea.Cmd {
	f.phase, f.busy = phBusy, label
	f.relayout()
	return tea.Batch(f.spin.Tick, cmd)
}

// done adds a permanent line for a finished step.
func (f *caFlow) done(line string) { f.log = append(f.log, "✓ "+line) }

// Update implements screen.
func (f *caFlow) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return f, f.key(msg)
	case spinner.TickMsg:
		if f.phase != phBusy {
			return f, nil
		}
		var cmd tea.Cmd
		f.spin, cmd = f.spin.Update(msg)
		return f, cmd
	case plannedMsg:
		if msg.id == f.id {
			return f, f.planned(msg)
		}
	case ranMsg:
		if msg.id == f.id {
			return f, f.ran(msg)
		}
	case validatedMsg:
		if msg.id == f.id {
			return f, f.validated(msg)
		}
	case loadPlannedMsg:
		if msg.id == f.id {
			return f, f.loadPlanned(msg)
		}
	case restartedMsg:
		if msg.id == f.id {
			return f, f.restarted(msg)
		}
	}
	return f, nil
}

func (f *caFlow) planned(msg plannedMsg) tea.Cmd {
	if msg.err != nil {
		f.phase, f.inErr, f.gen = phStage, msg.err, nil
		f.relayout()
		return nil
	}
	f.phase = phPlan
	f.vp.SetContent(renderPlan(msg.plan, f.staged, f.com.Width, f.com.Styles))
	f.vp.GotoTop()
	f.relayout()
	return nil
}

// ran handles the end of the generate write or of the load.
func (f *caFlow) ran(msg ranMsg) tea.Cmd {
	if f.load == nil {
		if msg.err != nil {
			return fail("Write the staged set", msg.err)
		}
		f.done(msg.summary)
		return f.start("Validating the staged set as k3s would…", validateCmd(f.com, f.id, f.staged))
	}
	if msg.err != nil {
		return fail("Load", msg.err)
	}
	f.done(msg.summary)
	f.phase = phDone
	f.renderDone()
	return nil
}

func (f *caFlow) validated(msg validatedMsg) tea.Cmd {
	if msg.err != nil {
		return fail("Validate", msg.err)
	}
	f.report, f.phase = msg.rep, phReport
	state := "accepted"
	if !msg.rep.OK {
		state = "refused"
	}
	f.done(fmt.Sprintf("validation: %s, class %s", state, msg.rep.Class))
	f.vp.SetContent(renderReport(msg.rep, f.com.Width, f.com.Styles))
	f.vp.GotoTop()
	f.relayout()
	return nil
}

func (f *caFlow) loadPlanned(msg loadPlannedMsg) tea.Cmd {
	if msg.err != nil {
		if errors.Is(msg.err, steps.ErrRefused) && msg.lp != nil {
			f.report, f.phase = msg.lp.Validation, phReport
			f.vp.SetContent(renderReport(msg.lp.Validation, f.com.Width, f.com.Styles))
			f.relayout()
			return nil
		}
		return fail("Load preview", msg.err)
	}
	f.lp, f.lplan, f.phase = msg.lp, msg.plan, phLoadPlan
	f.confirm = newConfirm("load", "write the datastore")
	f.confirm.SetWidth(f.com.Width)
	f.vp.SetContent(renderLoadPlan(msg.lp, msg.plan, f.com.Width, f.com.Styles))
	f.vp.GotoTop()
	f.relayout()
	return nil
}

func (f *caFlow) restarted(msg restartedMsg) tea.Cmd {
	f.phase = phDone
	if msg.err != nil {
		return fail("Simulated restart", msg.err)
	}
	f.restart = msg.rep
	f.done(fmt.Sprintf("simulated restart: %d bootstrap files from the datastore, %d leaf files re-issued", len(msg.rep.Updated), msg.rep.Leaves))
	f.renderDone()
	return nil
}

// newToken is the hash and token after the load.
func (f *caFlow) newToken() (string, *pki.Token) {
	if f.lp == nil || f.lp.Tokens == nil || f.lp.Tokens.New == nil {
		return "(unknown)", nil
	}
	st := f.lp.Tokens.New
	if st.Token == nil && f.com.Cfg.Token != "" {
		if t, err := pki.ParseToken(f.com.Cfg.Token); err == nil {
			t = t.WithCAHash(st.Hash.Hex)
			return st.Hash.Hex, &t
		}
	}
	return st.Hash.Hex, st.Token
}

func (f *caFlow) renderDone() {
	hash, tok := f.newToken()
	f.vp.SetContent(renderDone(hash, tok, f.secret, f.restart, f.com.Width, f.com.Styles))
	f.relayout()
}
