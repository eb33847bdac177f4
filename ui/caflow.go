package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// phase is where a flow stands.
type phase int

const (
	phStage    phase = iota // text input for the staging (or staged) dir
	phBusy                  // a step runs; spinner
	phPlan                  // the generate plan; enter writes
	phReport                // the validation report; enter continues when accepted
	phLoadPlan              // the load preview and the typed confirmation
	phDone                  // new hash, token, restart order
	phImport                // the custom CA import form
	phForce                 // what forcing means and the typed "force"
)

// loadOnly is the kind of a flow that generates nothing: it loads a staged
// dir made elsewhere.
const loadOnly steps.GenerateKind = ""

// caFlow stages a CA set (a cross-signed rotation, a service-key rotation
// or an imported custom CA) or takes a staged dir made elsewhere, validates
// it, previews the load, confirms it by the typed word "load" (and a set
// k3s refuses by the typed word "force" before that), loads it and says
// what to do next. Its phases, in order:
//
//	phImport (custom CA) → phStage → phPlan → phReport [→ phForce] → phLoadPlan → phDone
//
// A flow of kind loadOnly starts at phStage with the staged dir and goes
// straight to phReport.
type caFlow struct {
	com   *Common
	id    int64
	kind  steps.GenerateKind
	phase phase
	busy  string   // what runs, next to the spinner
	log   []string // finished steps, kept above the live view
	inErr error    // the last error about the inputs, shown under them

	form    *pathForm // the import paths of a custom CA; nil otherwise
	dir     lineInput
	gen     *steps.Generate
	staged  string
	report  *pki.Report
	force   bool // the operator typed "force": load what k3s refuses
	load    *steps.Load
	lp      *steps.LoadPlan
	lplan   *steps.Plan
	confirm confirmInput
	restart *steps.RestartReport
	secret  bool

	spin spinner.Model
	vp   viewport.Model
}

// newCAFlow returns a flow that generates kind into a new staging dir.
func newCAFlow(c *Common, kind steps.GenerateKind) *caFlow {
	dir := lineInput{Prompt: "staging dir> "}
	dir.SetValue(filepath.Join(c.Cfg.StageRoot, fmt.Sprintf("k3sca-%s-%d", kind, c.Cfg.Now().Unix())))
	return &caFlow{com: c, id: nextID(), kind: kind, dir: dir, spin: spinner.New(), vp: newViewport()}
}

// Fields of the custom CA import form, in order.
const (
	fieldRootCert = iota
	fieldRootKey
	fieldIntCert
	fieldIntKey
)

// newCustomCAFlow returns the custom CA flow: the import form first.
func newCustomCAFlow(c *Common) *caFlow {
	f := newCAFlow(c, steps.GenCustomCA)
	f.form = newPathForm("root cert", "root key", "intermediate cert", "intermediate key")
	f.phase = phImport
	return f
}

// newLoadStagedFlow returns the flow that loads a staged dir made elsewhere.
func newLoadStagedFlow(c *Common) *caFlow {
	dir := lineInput{Prompt: "staged dir> "}
	dir.SetValue(strings.TrimSuffix(c.Cfg.StageRoot, "/") + "/")
	return &caFlow{com: c, id: nextID(), kind: loadOnly, dir: dir, spin: spinner.New(), vp: newViewport()}
}

// title names the flow.
func (f *caFlow) title() string {
	switch f.kind {
	case steps.GenServiceKey:
		return "Rotate the service-account signing key"
	case steps.GenCustomCA:
		return "Custom CA (import a root and/or intermediate)"
	case loadOnly:
		return "Load a staged dir into the datastore"
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
	if f.form != nil {
		f.form.SetWidth(w)
	}
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
