package ui

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/k3sca/k3sca/internal/words"
	"github.com/k3sca/k3sca/steps"
)

// The backup picker: a backup field lists the data dir's backups under it
// (steps.ListBackupEntries, read in a command when the form opens), newest
// first, with the time, the revision, the CA hash they recorded and
// whether they are complete. ↑ and ↓ choose one (the first row, "none",
// leaves the field empty), tab completes the typed text from them; a
// choice is checked at once, as a field is when it is left.

// backupsMsg carries the backup listing for a form.
type backupsMsg struct {
	id   int64
	list []steps.BackupEntry
	err  error
}

// listBackupsCmd lists the backups of the node's data dir off the update loop.
func listBackupsCmd(c *Common, id int64) tea.Cmd {
	dd := c.Env.DataDir
	return func() tea.Msg {
		list, err := steps.ListBackupEntries(dd)
		return backupsMsg{id: id, list: list, err: err}
	}
}

// backupPicker is the state of a form's backup listing.
type backupPicker struct {
	loaded bool
	list   []steps.BackupEntry
	err    error
	// at is the chosen entry, -1 for none (the field's value is no entry).
	at int
}

// hasBackupField reports whether the form has a backup field.
func (f *form) hasBackupField() bool {
	for _, fd := range f.spec.Fields {
		if fd.Kind == steps.FieldBackup {
			return true
		}
	}
	return false
}

// backupsListed takes the listing and marks the entry the value names.
func (f *form) backupsListed(msg backupsMsg) {
	f.picker = backupPicker{loaded: true, list: msg.list, err: msg.err, at: -1}
	for i, fd := range f.spec.Fields {
		if fd.Kind == steps.FieldBackup {
			f.followValue(i)
		}
	}
}

// followValue points the picker at the entry field i's value names.
func (f *form) followValue(i int) {
	v := strings.TrimSpace(f.inputs[i].Value())
	f.picker.at = -1
	for j, e := range f.picker.list {
		if v != "" && (e.Path == v || filepath.Dir(e.Path) == filepath.Clean(v)) {
			f.picker.at = j
		}
	}
}

// pickKey handles ↑, ↓ and tab on a backup field; false when the key is
// not the picker's (↑ on "none" and ↓ on the last entry leave the field).
func (f *form) pickKey(k tea.KeyMsg) (tea.Cmd, bool) {
	p := &f.picker
	switch {
	case key.Matches(k, keys.Complete):
		return f.completeBackup(), true
	case k.Type == tea.KeyUp && p.at >= 0:
		return f.pick(p.at - 1), true
	case k.Type == tea.KeyDown && p.at < len(p.list)-1:
		return f.pick(p.at + 1), true
	}
	return nil, false
}

// pick chooses entry j (-1: none) for the focused field and checks it.
func (f *form) pick(j int) tea.Cmd {
	f.picker.at = j
	v := ""
	if j >= 0 {
		v = f.picker.list[j].Path
	}
	f.setValue(v)
	return f.check(f.focus)
}

// setValue replaces the focused field's value, dropping its old check.
func (f *form) setValue(v string) {
	in := &f.inputs[f.focus]
	in.SetValue(v)
	in.CursorEnd()
	key := f.spec.Fields[f.focus].Key
	if f.values[key] != v {
		f.values[key] = v
		delete(f.checked, key)
	}
	f.cands, f.note = nil, ""
}

// completeBackup completes the typed text from the backups: their file
// or their folder's name holding it. One match is chosen; several move
// the choice to the first of them and say how many.
func (f *form) completeBackup() tea.Cmd {
	typed := strings.TrimSpace(f.inputs[f.focus].Value())
	var at []int
	for j, e := range f.picker.list {
		if strings.HasPrefix(e.Path, typed) || strings.Contains(filepath.Base(filepath.Dir(e.Path)), typed) || strings.Contains(filepath.Base(e.Path), typed) {
			at = append(at, j)
		}
	}
	switch {
	case len(f.picker.list) == 0:
		f.note = "no backups to complete from"
		return nil
	case len(at) == 0:
		f.note = "no backup matches " + quoteOr(typed, "")
		return nil
	case len(at) == 1:
		return f.pick(at[0])
	}
	f.picker.at = at[0]
	f.note = fmt.Sprintf("%d backups match %s: ↑↓ choose", len(at), quoteOr(typed, "nothing typed"))
	return nil
}

// backupLines is the listing under a backup field.
func (f *form) backupLines() []string {
	st, w, p := f.com.Styles, f.com.Width, f.picker
	dir := steps.BackupDir(f.com.Env.DataDir)
	const indent = "    "
	switch {
	case !p.loaded:
		return []string{st.Dim.Render(indent + "reading the backups…")}
	case p.err != nil:
		return []string{st.Bad.Render(hang(indent+"✗ ", "backups: "+p.err.Error(), w))}
	case len(p.list) == 0:
		return []string{st.Dim.Render(hang(indent, "no backups in "+dir+" yet: k3sca makes one before every datastore write", w))}
	}
	head := []string{"CREATED (UTC)", "REV", "FLOW", "CA HASH", "STATUS", "BACKUP"}
	rows := [][]string{head, {"(none: only show the datastore)", "", "", "", "", ""}}
	for _, e := range p.list {
		created, rev, flow := "unknown", "-", "-"
		if !e.Created.IsZero() {
			created = e.Created.UTC().Format("2006-01-02 15:04:05")
		}
		if e.Revision > 0 {
			rev = fmt.Sprint(e.Revision)
		}
		if e.Flow != "" {
			flow = e.Flow
		}
		rows = append(rows, []string{created, rev, flow, shortHash(e.CAHash), e.Status(), relTo(dir, e.Path)})
	}
	widths := make([]int, len(head))
	for _, r := range rows[2:] {
		for i, c := range r {
			widths[i] = max(widths[i], ansi.StringWidth(c))
		}
	}
	for i, c := range head[:len(head)-1] {
		widths[i] = max(widths[i], ansi.StringWidth(c))
	}
	if !backupRowsFit(rows[2:], widths, w-len(indent)) {
		// The flow gives way before the backup's name leaves its row
		// (datastore backups and ctrl+o still name it).
		const flowCol = 2
		for i := range rows {
			rows[i] = slices.Delete(rows[i], flowCol, flowCol+1)
		}
		widths = slices.Delete(widths, flowCol, flowCol+1)
	}
	lines := []string{st.Title.Render(hang(indent, fmt.Sprintf("%s in %s, newest first (↑↓ choose, tab completes):", words.Plural(len(p.list), "backup"), dir), w))}
	first, shown := f.backupWindow()
	for r, row := range rows {
		j := r - 2 // the entry index; -1 is "none", -2 the head
		if j > -2 && (j < first || j >= first+shown) {
			continue
		}
		var cells []string
		for i, c := range row {
			if i < len(row)-1 && j != -1 {
				c += strings.Repeat(" ", max(0, widths[i]-ansi.StringWidth(c)))
			}
			cells = append(cells, c)
		}
		line := strings.TrimRight(strings.Join(cells, "  "), " ")
		if ansi.StringWidth(indent+line) > w && j >= 0 {
			// The name does not fit after the columns: it stands on a
			// line of its own, whole (an atom is never cut).
			name := cells[len(cells)-1]
			line = strings.TrimRight(strings.Join(cells[:len(cells)-1], "  "), " ") + "\n" + indent + "  " + elide(name, w-len(indent)-2)
		}
		switch {
		case j == p.at:
			line = st.Selected.Render("  ▸ " + line)
		case j == -2:
			line = st.Dim.Render(indent + line)
		case j >= 0 && p.list[j].Incomplete:
			line = st.Warn.Render(indent + line)
		default:
			line = indent + line
		}
		lines = append(lines, line)
	}
	if n := len(p.list) - first - shown; n > 0 {
		lines = append(lines, st.Dim.Render(indent+fmt.Sprintf("… %d older below", n)))
	}
	return strings.Split(strings.Join(lines, "\n"), "\n")
}

// backupRowsFit reports whether every row, its columns padded to widths
// and its last cell (the backup's name) after them, fits in w columns.
func backupRowsFit(rows [][]string, widths []int, w int) bool {
	for _, r := range rows {
		n := 0
		for i, c := range r[:len(r)-1] {
			n += max(widths[i], ansi.StringWidth(c)) + 2
		}
		if n+ansi.StringWidth(r[len(r)-1]) > w {
			return false
		}
	}
	return true
}

// maxBackupRows bounds the entries shown at once.
const maxBackupRows = 6

// backupWindow is the first entry shown (-1: "none") and how many rows.
func (f *form) backupWindow() (first, shown int) {
	n := len(f.picker.list) + 1 // with "none"
	shown = min(n, maxBackupRows)
	first = min(max(-1, f.picker.at-shown/2), n-1-shown)
	return first, shown
}

// shortHash is the first 12 hex digits of a CA hash, "-" when none.
func shortHash(h string) string {
	if h == "" {
		return "-"
	}
	return h[:min(12, len(h))]
}
