package ui

import (
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// preview starts the generate preview for the typed staging dir, or, for a
// loadOnly flow, the validation of the typed staged dir.
func (f *caFlow) preview() tea.Cmd {
	f.staged = strings.TrimSpace(f.dir.Value())
	f.inErr = nil
	if f.staged == "" {
		return nil
	}
	if f.kind == loadOnly {
		return f.startValidate()
	}
	in := steps.GenerateInput{
		Kind: f.kind, DataDir: f.com.Cfg.DataDir, Out: f.staged,
		Opts: pki.GenOptions{Product: f.com.Cfg.Product, Now: f.com.Cfg.Now()},
	}
	if f.form != nil {
		in.RootCert, in.RootKey = f.form.Value(fieldRootCert), f.form.Value(fieldRootKey)
		in.IntermediateCert, in.IntermediateKey = f.form.Value(fieldIntCert), f.form.Value(fieldIntKey)
	}
	f.gen = steps.NewGenerate(in)
	return f.start("Generating the new set in memory…", previewCmd(f.com.Ctx, f.id, f.gen))
}

// startValidate validates the staged dir as k3s would.
func (f *caFlow) startValidate() tea.Cmd {
	return f.start("Validating the staged set as k3s would…", validateCmd(f.com, f.id, f.staged))
}

// startLoad prepares the load (forced when the operator typed "force") and
// shows its preview.
func (f *caFlow) startLoad() tea.Cmd {
	cfg := f.com.Cfg
	access := cfg.Access
	access.DataDir, access.Product, access.Services = cfg.DataDir, cfg.Product, cfg.Services
	f.load = steps.NewLoad(steps.LoadInput{
		DataDir: cfg.DataDir, Staged: f.staged, Token: cfg.Token, Now: cfg.Now(), Product: cfg.Product, Force: f.force,
		Access: access, ServerURL: cfg.ServerURL,
	})
	return f.start("Reading the datastore and building the new value…", loadPreviewCmd(f.com.Ctx, f.id, f.load))
}

// isStagingDirErr reports whether a generate error is about the staging
// dir rather than about the imported files.
func isStagingDirErr(err error) bool {
	var sde *steps.StagingDirError
	return errors.As(err, &sde)
}

// importFields maps the engine's import inputs to the fields of the form.
var importFields = map[pki.ImportInput]int{
	pki.InputRootCert: fieldRootCert, pki.InputRootKey: fieldRootKey,
	pki.InputIntermediateCert: fieldIntCert, pki.InputIntermediateKey: fieldIntKey,
}

// importField is the import field an error from generate is about; the
// first field when it names none.
func (f *caFlow) importField(err error) int {
	var ie *pki.ImportError
	if errors.As(err, &ie) {
		if i, ok := importFields[ie.Input]; ok {
			return i
		}
	}
	return fieldRootCert
}

func (f *caFlow) planned(msg plannedMsg) tea.Cmd {
	if msg.err != nil {
		f.phase, f.inErr, f.gen = phStage, msg.err, nil
		if f.form != nil && !isStagingDirErr(msg.err) {
			f.phase = phImport
			f.form.Focus(f.importField(msg.err))
		}
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
		return f.startValidate()
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
		if f.kind == loadOnly {
			f.phase, f.inErr = phStage, msg.err
			f.relayout()
			return nil
		}
		return fail("Validate", msg.err)
	}
	state := "accepted"
	if !msg.rep.OK {
		state = "refused"
	}
	f.done(fmt.Sprintf("validation: %s, class %s", state, msg.rep.Class))
	f.showReport(msg.rep)
	return nil
}

// showReport shows a validation report.
func (f *caFlow) showReport(rep *pki.Report) {
	f.report, f.phase = rep, phReport
	f.vp.SetContent(renderReport(rep, f.com.Width, f.com.Styles))
	f.vp.GotoTop()
	f.relayout()
}

// forcible reports whether the report is a refusal the operator may
// override: a new root of trust, which k3s takes only with --force.
func (f *caFlow) forcible() bool {
	return f.report != nil && !f.report.OK && f.report.Class == pki.ClassNewRoot
}

// showForce explains forcing and asks for the typed word "force".
func (f *caFlow) showForce() {
	f.phase = phForce
	f.confirm = newConfirm("force", "load it anyway")
	f.confirm.SetWidth(f.com.Width)
	f.vp.SetContent(renderForce(f.report, f.com.Width, f.com.Styles))
	f.vp.GotoTop()
	f.relayout()
}

func (f *caFlow) loadPlanned(msg loadPlannedMsg) tea.Cmd {
	if msg.err != nil {
		if errors.Is(msg.err, steps.ErrRefused) && msg.lp != nil {
			f.showReport(msg.lp.Validation)
			return nil
		}
		return fail("Load preview", msg.err)
	}
	f.lp, f.lplan, f.phase = msg.lp, msg.plan, phLoadPlan
	action := "write the datastore"
	if f.force {
		action += " (forced)"
	}
	f.confirm = newConfirm("load", action)
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
	f.vp.SetContent(renderDone(hash, tok, f.secret, f.force, f.restart, f.com.Width, f.com.Styles))
	f.relayout()
}
