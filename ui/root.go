package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/steps"
)

// Config is what the wizard needs; main fills it from flags and settings.
type Config struct {
	// Env is the node every flow runs on.
	Env steps.Env
	// Specs are the flows of the menu, in order.
	Specs []steps.FlowSpec
	// DryRun starts the wizard in dry-run mode (d toggles it on the menu).
	DryRun bool
	// Sandbox marks a data dir made by `k3sca sandbox` (shown in the header).
	Sandbox bool
	// DataDirSource says where Env.DataDir came from (node.ResolveDataDir's
	// source: the flag, a config file, the default); shown in the header.
	DataDirSource string
}

// Minimum terminal size; below it the wizard shows one line saying so.
const (
	minWidth  = 80
	minHeight = 24
)

// screen is one page of the wizard. The root owns the current screen, sizes
// it and swaps it on navigation messages.
type screen interface {
	// Init starts the screen's first unit of work.
	Init() tea.Cmd
	// Update handles a message.
	Update(msg tea.Msg) (screen, tea.Cmd)
	// View renders the body.
	View() string
	// SetSize gives the body size.
	SetSize(w, h int)
	// Help lists the keys shown in the footer.
	Help() keyHelp
	// Title names the screen in the header.
	Title() string
	// Typing reports whether printable keys go to a text input (then ?
	// and q are typed, not obeyed).
	Typing() bool
	// Interrupt handles ctrl+c: a command that ends in quitMsg once
	// nothing is left half done.
	Interrupt() tea.Cmd
}

// deps are the root's collaborators; tests replace them.
type deps struct {
	// styles is the theme (nil: DefaultStyles of lipgloss's default renderer).
	styles *Styles
	// detect reads the node's facts for the header.
	detect func(ctx context.Context, env steps.Env) facts
	// complete lists the completions of a path prefix.
	complete func(prefix string, dirsOnly bool) ([]string, error)
}

// model is the root: header, body (the current screen), footer.
type model struct {
	com    *Common
	cfg    Config
	detect func(ctx context.Context, env steps.Env) facts
	cur    screen
	help   help.Model
	facts  *facts
	w, h   int
	bodyH  int
	err    error // what Run returns: a rollback that failed on the way out
}

// New returns the root model of the wizard.
func New(ctx context.Context, cfg Config) tea.Model { return newModel(ctx, cfg, deps{}) }

func newModel(ctx context.Context, cfg Config, d deps) *model {
	if d.styles == nil {
		st := DefaultStyles(nil)
		d.styles = &st
	}
	if d.detect == nil {
		d.detect = detectNode
	}
	if d.complete == nil {
		d.complete = steps.CompletePath
	}
	com := &Common{Ctx: ctx, Env: cfg.Env.WithDefaults(), Styles: *d.styles, DryRun: cfg.DryRun, complete: d.complete}
	m := &model{com: com, cfg: cfg, detect: d.detect, help: newHelp(*d.styles)}
	m.cur = newMenu(com, cfg.Specs)
	return m
}

// newHelp returns the footer's help in the theme.
func newHelp(st Styles) help.Model {
	h := help.New()
	h.Styles.ShortKey, h.Styles.FullKey = st.Key, st.Key
	h.Styles.ShortDesc, h.Styles.FullDesc = st.Dim, st.Dim
	h.Styles.ShortSeparator, h.Styles.FullSeparator, h.Styles.Ellipsis = st.Dim, st.Dim, st.Dim
	return h
}

// interruptMsg is ctrl+c coming from a cancelled context (SIGINT, SIGTERM).
type interruptMsg struct{}

// Run runs the wizard on in and out in the alternate screen until the
// operator quits. When ctx ends (a signal: SIGINT, SIGTERM, the SIGHUP of
// a dropped SSH session), the wizard stops as after ctrl+c: at once when
// nothing runs, after the running step otherwise. However the program
// stops (the terminal gone too: reads fail), a flow still going is
// aborted before Run returns, after its running step: the undo of its
// steps runs, k3s is started again.
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	st := DefaultStyles(lipgloss.NewRenderer(out))
	m := newModel(ctx, cfg, deps{styles: &st})
	return runModel(ctx, m, in, out, nil)
}

// runModel is Run on m; started, when set, gets the program once it is
// made (tests send it the terminal's size, which a pipe does not give).
func runModel(ctx context.Context, m *model, in io.Reader, out io.Writer, started func(*tea.Program)) error {
	m.com.out = out
	p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen(), tea.WithoutSignalHandler())
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			p.Send(interruptMsg{})
		case <-done:
		}
	}()
	if started != nil {
		go started(p)
	}
	fm, err := p.Run()
	closing, undoErr := m.com.calls.endOpen(ctx)
	if closing != nil {
		m.com.Closing = closing
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		for _, l := range m.com.Closing {
			fmt.Fprintln(out, l)
		}
		return errors.Join(err, undoErr)
	}
	for _, l := range m.com.Closing {
		fmt.Fprintln(out, l)
	}
	if len(m.com.Keep) > 0 {
		fmt.Fprintln(out, "From this session (whole, one line each, to copy):")
		for _, l := range m.com.Keep {
			fmt.Fprintln(out, "  "+l)
		}
	}
	if len(m.com.Revealed) > 0 {
		fmt.Fprintln(out, "The token you asked to see in the wizard (it holds the server password):")
		for _, l := range m.com.Revealed {
			fmt.Fprintln(out, "  "+l)
		}
	}
	if rm, ok := fm.(*model); ok && rm.err != nil {
		return errors.Join(rm.err, undoErr)
	}
	if undoErr != nil {
		return undoErr
	}
	return ctx.Err()
}

// Init implements tea.Model: the node facts for the header and the menu.
func (m *model) Init() tea.Cmd { return tea.Batch(detectCmd(m.com, m.detect), m.cur.Init()) }

// Update implements tea.Model.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.help.Width = msg.Width
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, keys.ForceQuit):
			cmd = m.cur.Interrupt()
		case key.Matches(msg, keys.Help) && !m.cur.Typing():
			if h := m.flowHelp(); h != nil {
				m.cur, m.bodyH = h, -1
			} else {
				m.help.ShowAll = !m.help.ShowAll
			}
		case key.Matches(msg, keys.FlowHelp) && m.hasFlowHelp():
			// f1 opens the flow's help even while "?" would be typed.
			m.cur, m.bodyH = m.flowHelp(), -1
		case key.Matches(msg, wholeKey) && (msg.String() == "ctrl+o" || !m.cur.Typing()):
			cmd = wholeCmd(m.whole())
		default:
			m.cur, cmd = m.cur.Update(msg)
		}
	case interruptMsg:
		cmd = m.cur.Interrupt()
	case factsMsg:
		m.setFacts(msg.facts)
	case flowEndedMsg:
		cmd = detectCmd(m.com, m.detect)
	case executedMsg:
		// The header's facts come from the node after every step: read
		// them before the screen goes on, so the next question shows them.
		cmd = detectThen(m.com, m.detect, msg)
	case factsThenMsg:
		m.setFacts(msg.facts)
		m.cur, cmd = m.cur.Update(msg.then)
	case homeMsg:
		cmd = m.open(newMenu(m.com, m.cfg.Specs))
	case openMsg:
		cmd = m.open(msg.s)
	case backMsg:
		m.cur, m.bodyH = msg.s, -1
	case quitMsg:
		m.err = msg.err
		return m, tea.Quit
	default:
		m.cur, cmd = m.cur.Update(msg)
	}
	m.layout()
	return m, cmd
}

// setFacts takes the node's facts for the header.
func (m *model) setFacts(f facts) {
	if f.Source == "" {
		f.Source = m.cfg.DataDirSource
	}
	m.facts = &f
}

// flowHelp is the help of the current screen's flow, nil on the menu.
func (m *model) flowHelp() screen {
	if id := m.flowID(); id != "" {
		return helpFor(m.com, m.cur, id)
	}
	return nil
}

// hasFlowHelp reports whether the current screen has its flow's help.
func (m *model) hasFlowHelp() bool { return flowHelps[m.flowID()] != "" }

// flowID is the flow of the current screen: its form's or its run's
// ("" on the menu and the screens over a flow).
func (m *model) flowID() string {
	switch s := m.cur.(type) {
	case *form:
		return s.spec.ID
	case *flowScreen:
		return s.flowID
	}
	return ""
}

// open shows s.
func (m *model) open(s screen) tea.Cmd {
	m.cur = s
	m.bodyH = -1
	return s.Init()
}

// layout gives the screen the body size when it changed: the terminal
// minus the header and the footer, whose height depends on the help shown.
func (m *model) layout() {
	h := max(1, max(m.h, minHeight)-lipgloss.Height(m.header())-lipgloss.Height(m.footer()))
	w := max(m.w, minWidth)
	if h == m.bodyH && w == m.com.Width {
		return
	}
	m.bodyH, m.com.Width, m.com.Height = h, w, h
	m.cur.SetSize(w, h)
}

// footer is the help of the current screen; while "?" would be typed
// into a field, f1 stands in its place for the flow's help.
func (m *model) footer() string {
	h := m.cur.Help()
	if m.cur.Typing() {
		h.short = withoutKey(h.short, "?")
		if m.hasFlowHelp() {
			h.short = append(h.short, keys.FlowHelp)
		}
	}
	return m.help.View(h)
}

// withoutKey drops the bindings of k.
func withoutKey(bs []key.Binding, k string) []key.Binding {
	out := make([]key.Binding, 0, len(bs))
	for _, b := range bs {
		if len(b.Keys()) == 0 || b.Keys()[0] != k {
			out = append(out, b)
		}
	}
	return out
}

// tooSmall reports whether the terminal is under the minimum size.
func (m *model) tooSmall() bool { return m.w < minWidth || m.h < minHeight }

// View implements tea.Model.
func (m *model) View() string {
	if m.w == 0 {
		return ""
	}
	if m.tooSmall() {
		return tooSmallText(m.w, m.h)
	}
	body := lipgloss.NewStyle().Height(m.com.Height).MaxHeight(m.com.Height).MaxWidth(m.w).Render(m.cur.View())
	return strings.Join([]string{m.header(), body, m.footer()}, "\n")
}

// tooSmallText says the terminal is under the minimum size and what to
// do: resize it, or leave and ask line by line with --plain.
func tooSmallText(w, h int) string {
	head := truncate(fmt.Sprintf("terminal too small: need %dx%d (now %dx%d)", minWidth, minHeight, w, h), w)
	return head + "\n" + wrapAtoms("", "resize it, or quit (ctrl+c) and run k3sca --plain: the same flows, line by line", w)
}

// header is the title line and the node's facts (one or two lines).
func (m *model) header() string {
	w := max(m.w, minWidth)
	lines := []string{m.titleLine()}
	if m.facts == nil {
		lines = append(lines, "reading the node…")
	} else {
		lines = append(lines, headerFacts(*m.facts, m.com.Env.Product.Name(), w)...)
	}
	for i := 1; i < len(lines); i++ {
		lines[i] = m.com.Styles.Summary.Render(lines[i])
	}
	return strings.Join(lines, "\n")
}

// headerFacts are the header's lines of facts, at most two of width w.
// When the full parts leave facts off (the version, last, first), the
// compact parts say the same in fewer cells (compactParts, which cut no
// path); they are taken when they leave fewer facts off. Facts still
// left off (a data dir path of most of the width) are under w, and the
// version is printed before every plan and in the JSON.
func headerFacts(f facts, product string, w int) []string {
	lines := joinWrap(f.parts(product), " · ", w)
	if len(lines) <= 2 {
		return lines
	}
	lines = lines[:2]
	c := joinWrap(f.compactParts(product), " · ", w)
	c = c[:min(2, len(c))]
	shown := func(ls []string) int {
		n := 0
		for _, l := range ls {
			n += strings.Count(l, " · ") + 1
		}
		return n
	}
	compact := shown(c)
	if f.Service != "" && strings.Contains(strings.Join(c, "\n"), product+" "+f.K3s+" "+f.Service) {
		compact++ // the service and the version, in one part
	}
	if compact > shown(lines) {
		return c
	}
	return lines
}

// titleLine is "k3sca · <screen>" with the mode tags on the right:
// "sandbox" and "DRY RUN".
func (m *model) titleLine() string {
	st := m.com.Styles
	var tags []string
	if m.cfg.Sandbox || (m.facts != nil && m.facts.Sandbox) {
		tags = append(tags, "[sandbox]")
	}
	if m.com.DryRun {
		tags = append(tags, st.Warn.Bold(true).Render("[DRY RUN]"))
	}
	right := strings.Join(tags, " ")
	left := truncate("k3sca · "+m.cur.Title(), m.w-lipgloss.Width(right)-1)
	gap := strings.Repeat(" ", max(1, m.w-lipgloss.Width(left)-lipgloss.Width(right)))
	return strings.TrimRight(st.Header.Render(left)+gap+right, " ")
}
