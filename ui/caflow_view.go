package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

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
		switch {
		case f.forcible():
			return st.Bad.Render(hang("", forceOffer, f.com.Width))
		case f.report != nil && !f.report.OK:
			return st.Bad.Render(hang("", "k3s would refuse this set: the flow stops here. Esc returns to the menu.", f.com.Width))
		}
		return st.Dim.Render("Enter previews the datastore write; nothing is written yet.")
	case phForce, phLoadPlan:
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

// Intros of the input phases.
const (
	importIntro = "Paths to PEM files; leave a field empty and k3sca generates it. " +
		"An imported intermediate needs its key; generating an intermediate under an imported root needs the root key."
	stagingIntro = "Where should the new files be staged? A new, empty directory outside the data dir."
	stagedIntro  = "Which staged dir? One holding tls/ with the new files, made by k3sca generate or k3s's contrib scripts."
)

// View implements screen.
func (f *caFlow) View() string {
	parts := []string{f.top(), ""}
	switch f.phase {
	case phImport:
		parts = append(parts, hang("", importIntro, f.com.Width), "", f.form.View(f.com.Styles))
		parts = f.withInputErr(parts)
	case phStage:
		intro := stagingIntro
		if f.kind == loadOnly {
			intro = stagedIntro
		}
		parts = append(parts, hang("", intro, f.com.Width), "", f.dir.View())
		parts = f.withInputErr(parts)
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

// withInputErr appends the last input error, if any.
func (f *caFlow) withInputErr(parts []string) []string {
	if f.inErr == nil {
		return parts
	}
	return append(parts, "", f.com.Styles.Bad.Render(hang("✗ ", f.inErr.Error(), f.com.Width)))
}
