package ui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/steps"
)

// form asks for a flow's inputs: one line per visible field, initial
// values from the spec's defaults. Path and dir fields complete on tab
// (through the steps package, in a command), choice fields cycle with
// left and right, list fields take comma-separated text. Enter on the last
// field or ctrl+s checks the values and builds the flow; an error shows
// under the form and the values stay. A spec without fields builds at once.
type form struct {
	com    *Common
	id     int64
	spec   steps.FlowSpec
	values map[string]string
	inputs []lineInput // one per spec field, for the text kinds
	focus  int         // index into spec.Fields, always a visible field

	cands []string // completions shown under the form
	note  string   // what the last completion found, when not candidates
	err   error    // the last check or build error

	busy     bool
	quitting bool
	spin     spinner.Model
}

func newForm(c *Common, spec steps.FlowSpec) *form {
	f := &form{com: c, id: nextID(), spec: spec, values: spec.InitialValues(c.Env), spin: spinner.New()}
	f.inputs = make([]lineInput, len(spec.Fields))
	for i, fd := range spec.Fields {
		f.inputs[i].SetValue(f.values[fd.Key])
	}
	if vis := f.visible(); len(vis) > 0 {
		f.focus = vis[0]
	}
	return f
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
	return nil
}

// SetSize implements screen.
func (f *form) SetSize(w, _ int) {
	for i := range f.inputs {
		f.inputs[i].Width = max(10, w-f.labelWidth()-4)
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

// move moves the focus by d visible fields, wrapping.
func (f *form) move(d int) {
	vis := f.visible()
	if len(vis) == 0 {
		return
	}
	at := 0
	for i, v := range vis {
		if v == f.focus {
			at = i
		}
	}
	f.focus = vis[(at+d+len(vis))%len(vis)]
	f.cands, f.note = nil, ""
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
	return msgCmd(openMsg{s: newFlowScreen(f.com, msg.flow)})
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
	switch {
	case key.Matches(k, keys.Submit):
		return f.submit()
	case key.Matches(k, keys.Enter):
		if f.last() {
			return f.submit()
		}
		f.move(1)
	case key.Matches(k, keys.Complete):
		if isPath(fd.Kind) {
			return completeCmd(f.com, f.id, f.focus, f.inputs[f.focus].Value(), fd.Kind == steps.FieldDir)
		}
		f.move(1)
	case key.Matches(k, keys.NextField):
		f.move(1)
	case key.Matches(k, keys.PrevField):
		f.move(-1)
	case fd.Kind == steps.FieldChoice:
		switch {
		case key.Matches(k, keys.Left):
			f.cycle(-1)
		case key.Matches(k, keys.Right), k.Type == tea.KeySpace:
			f.cycle(1)
		}
	default:
		f.inputs[f.focus].Update(k)
		f.values[fd.Key] = f.inputs[f.focus].Value()
		f.cands, f.note = nil, ""
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
	default:
		if cp := steps.CommonPrefix(msg.cands); len(cp) > len(msg.prefix) {
			in.SetValue(cp)
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
