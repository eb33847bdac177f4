package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// leafFlow rotates leaf certificates: pick services, preview the removal,
// confirm by typing "rotate", run, show the result. Phases: phStage is the
// selection, phPlan the preview with the confirmation, phDone the result.
type leafFlow struct {
	com      *Common
	id       int64
	phase    phase
	busy     string
	names    []string
	chosen   map[string]bool
	cursor   int
	hint     string
	step     *steps.LeafRotate
	confirm  confirmInput
	summary  string
	spin     spinner.Model
	vp       viewport.Model
	selStart int // first visible row of the selection list
}

func newLeafFlow(c *Common) *leafFlow {
	return &leafFlow{com: c, id: nextID(), names: pki.ServiceNames(c.Cfg.Product), chosen: map[string]bool{},
		spin: spinner.New(), vp: newViewport()}
}

// Init implements screen.
func (f *leafFlow) Init() tea.Cmd { return nil }

// Leave implements screen.
func (f *leafFlow) Leave() tea.Cmd { return nil }

// SetSize implements screen.
func (f *leafFlow) SetSize(w, h int) {
	f.confirm.SetWidth(w)
	f.follow()
	f.relayout()
}

// selected lists the chosen services in list order.
func (f *leafFlow) selected() []string {
	var out []string
	for _, n := range f.names {
		if f.chosen[n] {
			out = append(out, n)
		}
	}
	return out
}

// Update implements screen.
func (f *leafFlow) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return f, f.key(msg)
	case spinner.TickMsg:
		if f.phase == phBusy {
			var cmd tea.Cmd
			f.spin, cmd = f.spin.Update(msg)
			return f, cmd
		}
	case leafPlannedMsg:
		if msg.id != f.id {
			return f, nil
		}
		if msg.err != nil {
			return f, fail("Plan the leaf rotation", msg.err)
		}
		f.step, f.phase = msg.step, phPlan
		f.confirm = newConfirm("rotate", "back up and remove these files")
		f.confirm.SetWidth(f.com.Width)
		f.vp.SetContent(renderPlan(msg.plan, f.com.Cfg.DataDir, f.com.Width, f.com.Styles))
		f.relayout()
	case ranMsg:
		if msg.id != f.id {
			return f, nil
		}
		if msg.err != nil {
			return f, fail("Rotate leaf certificates", msg.err)
		}
		f.summary, f.phase = msg.summary, phDone
	}
	return f, nil
}

func (f *leafFlow) key(k tea.KeyMsg) tea.Cmd {
	if key.Matches(k, keys.Back) && f.phase != phBusy {
		return goHome()
	}
	switch f.phase {
	case phStage:
		return f.selectKey(k)
	case phPlan:
		switch {
		case key.Matches(k, keys.Enter):
			if f.confirm.Submit() {
				f.phase, f.busy = phBusy, "Backing up and removing the leaf certificates…"
				return tea.Batch(f.spin.Tick, runCmd(f.com.Ctx, f.id, f.step))
			}
		case isScroll(k):
			var cmd tea.Cmd
			f.vp, cmd = f.vp.Update(k)
			return cmd
		default:
			f.confirm.Update(k)
		}
		f.relayout()
	case phDone:
		switch {
		case key.Matches(k, keys.Enter):
			return goHome()
		case key.Matches(k, keys.Quit):
			return msgCmd(quitMsg{})
		}
	}
	return nil
}

func (f *leafFlow) selectKey(k tea.KeyMsg) tea.Cmd {
	f.hint = ""
	defer f.follow()
	switch {
	case key.Matches(k, keys.Up):
		f.cursor = (f.cursor + len(f.names) - 1) % len(f.names)
	case key.Matches(k, keys.Down):
		f.cursor = (f.cursor + 1) % len(f.names)
	case key.Matches(k, keys.Toggle):
		n := f.names[f.cursor]
		f.chosen[n] = !f.chosen[n]
	case key.Matches(k, keys.All):
		all := len(f.selected()) < len(f.names)
		for _, n := range f.names {
			f.chosen[n] = all
		}
	case key.Matches(k, keys.Quit):
		return msgCmd(quitMsg{})
	case key.Matches(k, keys.Enter):
		sel := f.selected()
		if len(sel) == 0 {
			f.hint = "select at least one service (space toggles, a toggles all)"
			return nil
		}
		f.phase, f.busy = phBusy, "Planning the rotation…"
		return tea.Batch(f.spin.Tick, leafPlanCmd(f.com, f.id, sel))
	}
	return nil
}

// Help implements screen.
func (f *leafFlow) Help() help.KeyMap {
	back := with(keys.Back, "esc", "menu")
	switch f.phase {
	case phStage:
		return bindings{keys.Up, keys.Down, keys.Toggle, keys.All, with(keys.Enter, "enter", "preview"), back}
	case phPlan:
		return bindings{with(keys.Enter, "enter", "confirm"), keys.ScrollUp, keys.PageUp, with(keys.Back, "esc", "cancel")}
	case phDone:
		return bindings{with(keys.Enter, "enter", "menu"), keys.Quit}
	}
	return bindings{keys.ForceQuit}
}

func (f *leafFlow) relayout() {
	f.vp.Width = f.com.Width
	f.vp.Height = max(1, f.com.Height-2-lipgloss.Height(f.confirm.View(f.com.Styles))-1)
}

// View implements screen.
func (f *leafFlow) View() string {
	st := f.com.Styles
	parts := []string{st.Title.Render("Rotate leaf certificates"), ""}
	switch f.phase {
	case phStage:
		parts = append(parts, f.listView())
		if f.hint != "" {
			parts = append(parts, st.Warn.Render(f.hint))
		}
	case phBusy:
		parts = append(parts, f.spin.View()+" "+f.busy)
	case phPlan:
		parts = append(parts, f.vp.View(), "", f.confirm.View(st))
	case phDone:
		parts = append(parts, st.Done.Render(hang("✓ ", f.summary, f.com.Width)), "",
			hang("", "Start k3s on this node (with k3s stopped until now): it re-issues the removed certificates.", f.com.Width))
	}
	return strings.Join(parts, "\n")
}

// listRows is how many services the list shows at once.
func (f *leafFlow) listRows() int { return max(3, f.com.Height-4) }

// follow scrolls the list so the cursor stays visible.
func (f *leafFlow) follow() {
	rows := f.listRows()
	if f.cursor < f.selStart {
		f.selStart = f.cursor
	} else if f.cursor >= f.selStart+rows {
		f.selStart = f.cursor - rows + 1
	}
}

// listView is the service list with check boxes.
func (f *leafFlow) listView() string {
	rows := f.listRows()
	var b strings.Builder
	for i := f.selStart; i < len(f.names) && i < f.selStart+rows; i++ {
		box := "[ ]"
		if f.chosen[f.names[i]] {
			box = "[x]"
		}
		line := fmt.Sprintf("%s %s", box, f.names[i])
		if i == f.cursor {
			b.WriteString(f.com.Styles.Selected.Render("> "+line) + "\n")
		} else {
			b.WriteString("  " + line + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
