package ui

import (
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/steps"
)

// form asks for a flow's inputs: one line per visible field, initial
// values from the spec's defaults, then the values it was last left with
// (kept per flow while the wizard runs). A path or dir field is checked
// through steps.CheckField as soon as it is left; its error shows under it
// and keeps the flow from starting. Path and dir fields complete on tab
// (through the steps package, in a command), choice fields cycle with
// left and right, list fields take comma-separated text. Enter on the last
// field or ctrl+s checks the values and builds the flow; an error shows
// under the form and the values stay. A spec without fields builds at once.
type form struct {
	com    *Common
	id     int64
	spec   steps.FlowSpec
	values map[string]string
	inputs []textinput.Model // one per spec field, for the text kinds
	focus  int               // index into spec.Fields, always a visible field
	// checked are the errors of the fields checked when left (by key),
	// kept with the values for as long as the wizard runs.
	checked map[string]error

	cands []string // completions shown under the form
	note  string   // what the last completion found, when not candidates
	err   error    // the last check or build error

	busy     bool
	quitting bool
	spin     spinner.Model
	// picker lists the backups under a backup field.
	picker backupPicker
}

// newForm opens spec's form with the values it had when it was last
// left (a flow's values live as long as the wizard), else its defaults.
func newForm(c *Common, spec steps.FlowSpec) *form {
	mem := c.formMemory(spec)
	f := &form{com: c, id: nextID(), spec: spec, values: mem.values, checked: mem.checked, spin: spinner.New()}
	f.inputs = make([]textinput.Model, len(spec.Fields))
	for i, fd := range spec.Fields {
		f.inputs[i] = newTextInput(f.values[fd.Key])
	}
	if vis := f.visible(); len(vis) > 0 {
		f.focus = vis[0]
		f.inputs[f.focus].Focus()
	}
	return f
}

// newTextInput is a form field's input: no prompt, a cursor that does not
// blink (screens stay the same from frame to frame).
func newTextInput(v string) textinput.Model {
	ti := textinput.New()
	ti.Prompt = ""
	ti.Cursor.SetMode(cursor.CursorStatic)
	ti.SetValue(v)
	ti.CursorEnd()
	return ti
}

// formMemory is what the wizard remembers of one flow's form.
type formMemory struct {
	values  map[string]string
	checked map[string]error
}

// formMemory returns spec's remembered form, made from its defaults the
// first time.
func (c *Common) formMemory(spec steps.FlowSpec) *formMemory {
	if c.forms == nil {
		c.forms = map[string]*formMemory{}
	}
	m := c.forms[spec.ID]
	if m == nil {
		m = &formMemory{values: spec.InitialValues(c.Env), checked: map[string]error{}}
		c.forms[spec.ID] = m
	}
	return m
}

// Title implements screen.
func (f *form) Title() string { return f.spec.Title }

// Typing implements screen: a text field takes printable keys.
func (f *form) Typing() bool {
	return !f.busy && len(f.visible()) > 0 && f.spec.Fields[f.focus].Kind != steps.FieldChoice
}

// Init implements screen: a spec without fields builds its flow at once.
func (f *form) Init() tea.Cmd {
	if len(f.visible()) == 0 {
		return f.submit()
	}
	if f.hasBackupField() {
		return listBackupsCmd(f.com, f.id)
	}
	return nil
}

// SetSize implements screen.
func (f *form) SetSize(w, _ int) {
	for i := range f.inputs {
		f.inputs[i].Width = max(10, w-f.labelWidth()-6)
	}
}

// Interrupt implements screen: a flow being built is cleaned up first.
func (f *form) Interrupt() tea.Cmd {
	if f.busy {
		f.quitting = true
		return nil
	}
	return msgCmd(quitMsg{})
}

// visible lists the indexes of the fields shown for the current values.
func (f *form) visible() []int {
	var out []int
	for i, fd := range f.spec.Fields {
		if fd.Visible(f.values) {
			out = append(out, i)
		}
	}
	return out
}

// move moves the focus by d visible fields, wrapping, and checks the
// field it leaves.
func (f *form) move(d int) tea.Cmd {
	vis := f.visible()
	if len(vis) == 0 {
		return nil
	}
	left := f.focus
	at := 0
	for i, v := range vis {
		if v == f.focus {
			at = i
		}
	}
	f.focus = vis[(at+d+len(vis))%len(vis)]
	f.cands, f.note = nil, ""
	f.inputs[left].Blur()
	f.inputs[f.focus].Focus()
	return f.check(left)
}

// check checks field i's value in a command (it reads files).
func (f *form) check(i int) tea.Cmd {
	fd := f.spec.Fields[i]
	if fd.Kind == steps.FieldChoice || fd.Kind == steps.FieldList || fd.Kind == steps.FieldText {
		return nil
	}
	return checkFieldCmd(f.com, f.id, f.spec, fd.Key, f.values)
}

// fieldChecked takes a check's result unless the value changed meanwhile.
func (f *form) fieldChecked(msg fieldCheckedMsg) {
	if f.values[msg.key] != msg.value {
		return
	}
	if msg.err == nil {
		delete(f.checked, msg.key)
		return
	}
	f.checked[msg.key] = msg.err
}

// checkErr is the first error of a visible field checked when left.
func (f *form) checkErr() error {
	for _, i := range f.visible() {
		if err := f.checked[f.spec.Fields[i].Key]; err != nil {
			return err
		}
	}
	return nil
}

// last reports whether the focus is on the last visible field.
func (f *form) last() bool {
	vis := f.visible()
	return len(vis) == 0 || vis[len(vis)-1] == f.focus
}

// cycle moves a choice field's value by d.
func (f *form) cycle(d int) {
	fd := f.spec.Fields[f.focus]
	if len(fd.Choices) == 0 {
		return
	}
	at := 0
	for i, c := range fd.Choices {
		if c == f.values[fd.Key] {
			at = i
		}
	}
	f.values[fd.Key] = fd.Choices[(at+d+len(fd.Choices))%len(fd.Choices)]
}

// submit checks the values and builds the flow in a command.
func (f *form) submit() tea.Cmd {
	f.cands, f.note = nil, ""
	if f.err = f.spec.CheckValues(f.values); f.err != nil {
		return nil
	}
	if f.err = f.checkErr(); f.err != nil {
		return nil
	}
	if f.spec.Build == nil {
		f.err = errNoBuild
		return nil
	}
	f.busy = true
	return tea.Batch(f.spin.Tick, buildCmd(f.com, f.id, f.spec, f.values))
}

// Update implements screen.
func (f *form) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if f.busy {
			return f, nil
		}
		return f, f.key(msg)
	case spinner.TickMsg:
		if !f.busy {
			return f, nil
		}
		var cmd tea.Cmd
		f.spin, cmd = f.spin.Update(msg)
		return f, cmd
	case builtMsg:
		if msg.id == f.id {
			return f, f.built(msg)
		}
	case completedMsg:
		if msg.id == f.id {
			f.completed(msg)
		}
	case fieldCheckedMsg:
		if msg.id == f.id {
			f.fieldChecked(msg)
		}
	case backupsMsg:
		if msg.id == f.id {
			f.backupsListed(msg)
		}
	}
	return f, nil
}

func (f *form) built(msg builtMsg) tea.Cmd {
	f.busy = false
	switch {
	case f.quitting:
		return cleanupThenQuit(msg.flow)
	case msg.err != nil:
		f.err = msg.err
		return nil
	}
	fs := newFlowScreen(f.com, msg.flow)
	fs.flowID = f.spec.ID
	if len(f.visible()) > 0 {
		// esc from a failed or declined flow comes back here, filled.
		fs.back = func() screen { return newForm(f.com, f.spec) }
	}
	return msgCmd(openMsg{s: fs})
}

// cleanupThenQuit releases what a built flow holds, then quits.
func cleanupThenQuit(fl *steps.Flow) tea.Cmd {
	return func() tea.Msg {
		if fl != nil && fl.Cleanup != nil {
			fl.Cleanup()
		}
		return quitMsg{}
	}
}

func (f *form) key(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, keys.Back):
		return msgCmd(homeMsg{})
	case len(f.visible()) == 0:
		if key.Matches(k, keys.Enter) {
			return f.submit()
		}
		return nil
	}
	fd := f.spec.Fields[f.focus]
	if fd.Kind == steps.FieldBackup {
		if cmd, ok := f.pickKey(k); ok {
			return cmd
		}
	}
	switch {
	case key.Matches(k, keys.Submit):
		return f.submit()
	case key.Matches(k, keys.Enter):
		if f.last() {
			return tea.Batch(f.check(f.focus), f.submit())
		}
		return f.move(1)
	case key.Matches(k, keys.Complete):
		if isPath(fd.Kind) {
			return completeCmd(f.com, f.id, f.focus, f.inputs[f.focus].Value(), fd.Kind == steps.FieldDir)
		}
		return f.move(1)
	case key.Matches(k, keys.NextField):
		return f.move(1)
	case key.Matches(k, keys.PrevField):
		return f.move(-1)
	case fd.Kind == steps.FieldChoice:
		switch {
		case key.Matches(k, keys.Left):
			f.cycle(-1)
		case key.Matches(k, keys.Right), k.Type == tea.KeySpace:
			f.cycle(1)
		}
	default:
		var cmd tea.Cmd
		f.inputs[f.focus], cmd = f.inputs[f.focus].Update(k)
		if v := f.inputs[f.focus].Value(); v != f.values[fd.Key] {
			f.values[fd.Key] = v
			delete(f.checked, fd.Key)
			if fd.Kind == steps.FieldBackup {
				f.followValue(f.focus)
			}
		}
		f.cands, f.note = nil, ""
		return cmd
	}
	return nil
}

// isPath reports whether a field completes from the file system.
func isPath(k steps.FieldKind) bool { return k == steps.FieldPath || k == steps.FieldDir }

// completed applies completions to the field they were asked for, unless
// it changed meanwhile: one candidate replaces the value, several extend
// it to their common prefix and show under the form.
func (f *form) completed(msg completedMsg) {
	in := &f.inputs[msg.field]
	if msg.field != f.focus || in.Value() != msg.prefix {
		return
	}
	f.cands, f.note = nil, ""
	switch {
	case msg.err != nil:
		f.note = msg.err.Error()
	case len(msg.cands) == 0:
		f.note = "no match for " + quoteOr(msg.prefix, "the current dir")
	case len(msg.cands) == 1:
		in.SetValue(msg.cands[0])
		in.CursorEnd()
	default:
		if cp := steps.CommonPrefix(msg.cands); len(cp) > len(msg.prefix) {
			in.SetValue(cp)
			in.CursorEnd()
		}
		f.cands = msg.cands
	}
	f.values[f.spec.Fields[msg.field].Key] = in.Value()
}

func quoteOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return `"` + s + `"`
}
