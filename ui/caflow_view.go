package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// key handles a key press in the current phase.
func (f *caFlow) key(k tea.KeyMsg) tea.Cmd {
	if key.Matches(k, keys.Back) && f.phase != phBusy {
		return goHome()
	}
	switch f.phase {
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
		if key.Matches(k, keys.Enter) && f.report.OK {
			f.load = steps.NewLoad(steps.LoadInput{
				DataDir: f.com.Cfg.DataDir, Staged: f.staged, Token: f.com.Cfg.Token, Now: f.com.Cfg.Now(), Product: f.com.Cfg.Product,
				Access: steps.AccessInput{DataDir: f.com.Cfg.DataDir, Via: steps.ViaAuto, Product: f.com.Cfg.Product, Services: f.com.Cfg.Services},
			})
			return f.start("Reading the datastore and building the new value…", loadPreviewCmd(f.com.Ctx, f.id, f.load))
		}
	case phLoadPlan:
		if key.Matches(k, keys.Enter) {
			if f.confirm.Submit() {
				return f.start("Loading the staged set into the datastore…", runCmd(f.com.Ctx, f.id, f.load))
			}
			f.relayout()
			return nil
		}
		if isScroll(k) {
			break
		}
		f.confirm.Update(k)
		f.relayout()
		return nil
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

// isScroll reports whether k scrolls a viewport.
func isScroll(k tea.KeyMsg) bool {
	return key.Matches(k, keys.ScrollUp, keys.ScrollDown, keys.PageUp, keys.PageDown)
}

// preview starts the generate preview for the typed staging dir.
func (f *caFlow) preview() tea.Cmd {
	f.staged = strings.TrimSpace(f.dir.Value())
	f.inErr = nil
	if f.staged == "" {
		return nil
	}
	f.gen = steps.NewGenerate(steps.GenerateInput{
		Kind: f.kind, DataDir: f.com.Cfg.DataDir, Out: f.staged,
		Opts: pki.GenOptions{Product: f.com.Cfg.Product, Now: f.com.Cfg.Now()},
	})
	return f.start("Generating the new set in memory…", previewCmd(f.com.Ctx, f.id, f.gen))
}

// Help implements screen.
func (f *caFlow) Help() help.KeyMap {
	back := with(keys.Back, "esc", "menu")
	switch f.phase {
	case phStage:
		return bindings{with(keys.Enter, "enter", "preview"), back}
	case phBusy:
		return bindings{keys.ForceQuit}
	case phPlan:
		return bindings{with(keys.Enter, "enter", "write the staged dir"), keys.ScrollUp, keys.PageUp, back}
	case phReport:
		if f.report != nil && f.report.OK {
			return bindings{with(keys.Enter, "enter", "preview the load"), keys.ScrollUp, back}
		}
		return bindings{keys.ScrollUp, back}
	case phLoadPlan:
		return bindings{with(keys.Enter, "enter", "confirm"), keys.ScrollUp, keys.PageUp, with(keys.Back, "esc", "cancel")}
	}
	b := bindings{keys.Secret}
	if f.com.Cfg.Sandbox {
		b = append(b, keys.Restart)
	}
	return append(b, keys.ScrollUp, with(keys.Enter, "enter", "menu"), keys.Quit)
}

// top is the flow title and the finished steps.
func (f *caFlow) top() string {
	st := f.com.Styles
	lines := []string{st.Title.Render(f.title())}
	for _, l := range f.log {
		lines = append(lines, st.Done.Render(hang("", l, f.com.Width)))
	}
	return strings.Join(lines, "\n")
}

// bottom is what sits under the viewport in the current phase.
func (f *caFlow) bottom() string {
	st := f.com.Styles
	switch f.phase {
	case phPlan:
		return st.Dim.Render("The staging dir is new: nothing live changes. Enter writes it.")
	case phReport:
		if f.report != nil && !f.report.OK {
			return st.Bad.Render("k3s would refuse this set: the flow stops here. Esc returns to the menu.")
		}
		return st.Dim.Render("Enter previews the datastore write; nothing is written yet.")
	case phLoadPlan:
		return f.confirm.View(st)
	case phDone:
		if f.com.Cfg.Sandbox && f.restart == nil {
			return st.Dim.Render("Sandbox: press r to simulate the k3s restart.")
		}
	}
	return ""
}

// relayout sizes the viewport to what top and bottom leave of the body.
func (f *caFlow) relayout() {
	f.vp.Width = f.com.Width
	used := lipgloss.Height(f.top()) + 1
	if b := f.bottom(); b != "" {
		used += lipgloss.Height(b) + 1
	}
	f.vp.Height = max(1, f.com.Height-used)
}

// View implements screen.
func (f *caFlow) View() string {
	parts := []string{f.top(), ""}
	switch f.phase {
	case phStage:
		parts = append(parts, hang("", "Where should the new files be staged? A new, empty directory outside the data dir.", f.com.Width), "", f.dir.View())
		if f.inErr != nil {
			parts = append(parts, "", f.com.Styles.Bad.Render(hang("✗ ", f.inErr.Error(), f.com.Width)))
		}
	case phBusy:
		parts = append(parts, f.spin.View()+" "+f.busy)
	default:
		parts = append(parts, f.vp.View())
		if b := f.bottom(); b != "" {
			parts = append(parts, "", b)
		}
	}
	return strings.Join(parts, "\n")
}
