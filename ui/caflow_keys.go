package ui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// key handles a key press in the current phase.
func (f *caFlow) key(k tea.KeyMsg) tea.Cmd {
	if key.Matches(k, keys.Back) && f.phase != phBusy {
		return f.back()
	}
	switch f.phase {
	case phImport:
		if f.form.Update(k) {
			f.phase, f.inErr = phStage, nil
		}
		return nil
	case phStage:
		if key.Matches(k, keys.Enter) {
			return f.preview()
		}
		f.dir.Update(k)
		return nil
	case phPlan:
		if key.Matches(k, keys.Enter) {
			return f.start("Writing the staged set…", runCmd(f.com.Ctx, f.id, f.gen))
		}
	case phReport:
		switch {
		case key.Matches(k, keys.Enter) && f.report.OK:
			return f.startLoad()
		case key.Matches(k, keys.Force) && f.forcible():
			f.showForce()
			return nil
		}
	case phForce:
		return f.typed(k, func() tea.Cmd {
			f.force = true
			f.done("forced: the new root replaces the root of trust")
			return f.startLoad()
		})
	case phLoadPlan:
		return f.typed(k, func() tea.Cmd {
			return f.start("Loading the staged set into the datastore…", runCmd(f.com.Ctx, f.id, f.load))
		})
	case phDone:
		switch {
		case key.Matches(k, keys.Secret):
			f.secret = !f.secret
			f.renderDone()
			return nil
		case key.Matches(k, keys.Restart) && f.com.Cfg.Sandbox:
			return f.start("Simulating the k3s restart…", restartCmd(f.com, f.id))
		case key.Matches(k, keys.Enter):
			return goHome()
		case key.Matches(k, keys.Quit):
			return msgCmd(quitMsg{})
		}
	}
	var cmd tea.Cmd
	f.vp, cmd = f.vp.Update(k)
	return cmd
}

// typed feeds k to the typed confirmation under the viewport: enter runs
// confirmed once the exact word is typed, scroll keys scroll.
func (f *caFlow) typed(k tea.KeyMsg, confirmed func() tea.Cmd) tea.Cmd {
	switch {
	case key.Matches(k, keys.Enter):
		if f.confirm.Submit() {
			return confirmed()
		}
	case isScroll(k):
		var cmd tea.Cmd
		f.vp, cmd = f.vp.Update(k)
		return cmd
	default:
		f.confirm.Update(k)
	}
	f.relayout()
	return nil
}

// back handles esc: the force confirmation returns to the report, the
// staging dir of a custom CA to its import form, everything else home.
func (f *caFlow) back() tea.Cmd {
	switch {
	case f.phase == phForce:
		f.showReport(f.report)
		return nil
	case f.phase == phStage && f.form != nil:
		f.phase, f.inErr = phImport, nil
		f.relayout()
		return nil
	}
	return goHome()
}

// isScroll reports whether k scrolls a viewport.
func isScroll(k tea.KeyMsg) bool {
	return key.Matches(k, keys.ScrollUp, keys.ScrollDown, keys.PageUp, keys.PageDown)
}

// Help implements screen.
func (f *caFlow) Help() help.KeyMap {
	back := with(keys.Back, "esc", "menu")
	switch f.phase {
	case phImport:
		next := with(keys.Enter, "enter", "next")
		if f.form.Last() {
			next = with(keys.Enter, "enter", "continue")
		}
		return bindings{keys.NextField, keys.PrevField, next, back}
	case phStage:
		if f.form != nil {
			back = with(keys.Back, "esc", "back to the paths")
		}
		if f.kind == loadOnly {
			return bindings{with(keys.Enter, "enter", "validate"), back}
		}
		return bindings{with(keys.Enter, "enter", "preview"), back}
	case phBusy:
		return bindings{keys.ForceQuit}
	case phPlan:
		return bindings{with(keys.Enter, "enter", "write the staged dir"), keys.ScrollUp, keys.PageUp, back}
	case phReport:
		switch {
		case f.report != nil && f.report.OK:
			return bindings{with(keys.Enter, "enter", "preview the load"), keys.ScrollUp, back}
		case f.forcible():
			return bindings{keys.Force, keys.ScrollUp, back}
		}
		return bindings{keys.ScrollUp, back}
	case phForce:
		return bindings{with(keys.Enter, "enter", "confirm"), keys.ScrollUp, with(keys.Back, "esc", "back to the report")}
	case phLoadPlan:
		return bindings{with(keys.Enter, "enter", "confirm"), keys.ScrollUp, keys.PageUp, with(keys.Back, "esc", "cancel")}
	}
	b := bindings{keys.Secret}
	if f.com.Cfg.Sandbox {
		b = append(b, keys.Restart)
	}
	return append(b, keys.ScrollUp, with(keys.Enter, "enter", "menu"), keys.Quit)
}
