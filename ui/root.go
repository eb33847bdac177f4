package ui

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// Config is what the wizard needs; main fills it from flags and settings.
type Config struct {
	// DataDir is the k3s data dir.
	DataDir string
	// Product names files, CNs and units.
	Product product.Product
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Window is the renewal window (0: 120 days).
	Window time.Duration
	// StageRoot is the parent of new staged dirs ("": the data dir's parent).
	StageRoot string
	// Sandbox marks a data dir made by `k3sca sandbox`: the wizard offers
	// the simulated k3s restart.
	Sandbox bool
	// Services queries the k3s unit: systemd in production, a fake in tests.
	Services steps.ServiceManager
	// Token is the server token; "" reads <data-dir>/server/token.
	Token string
	// Access says how to reach the datastore (--via, etcd endpoints and TLS,
	// k3s config file); its DataDir, Product and Services are taken from
	// the fields above. The zero value is auto.
	Access steps.AccessInput
	// ServerURL is the supervisor URL for Access.Via == steps.ViaServer.
	ServerURL string
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Window == 0 {
		c.Window = pki.DefaultRenewWindow
	}
	if c.StageRoot == "" {
		c.StageRoot = filepath.Dir(filepath.Clean(c.DataDir))
	}
	return c
}

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
	Help() help.KeyMap
	// Leave releases what the screen holds when the root leaves it.
	Leave() tea.Cmd
}

// model is the root: header, summary line, current screen, footer.
type model struct {
	com     *Common
	cur     screen
	help    help.Model
	summary string
	w, h    int
}

// New returns the root model of the wizard.
func New(ctx context.Context, cfg Config) tea.Model {
	com := &Common{Ctx: ctx, Cfg: cfg.withDefaults(), Styles: DefaultStyles()}
	m := &model{com: com, help: help.New(), summary: "checking certificates…"}
	m.cur = newMenu(com)
	return m
}

// Run runs the wizard on in and out in the alternate screen until the
// operator quits or ctx ends.
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	p := tea.NewProgram(New(ctx, cfg), tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen(), tea.WithContext(ctx))
	_, err := p.Run()
	return err
}

// Init implements tea.Model: the background check for the summary line.
func (m *model) Init() tea.Cmd { return tea.Batch(checkCmd(m.com, rootID), m.cur.Init()) }

// chrome is the number of lines around the body: header, summary, footer.
const chrome = 3

// Update implements tea.Model.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.com.Width, m.com.Height = msg.Width, max(1, msg.Height-chrome)
		m.help.Width = msg.Width
		m.cur.SetSize(m.com.Width, m.com.Height)
		return m, nil
	case tea.KeyMsg:
		if key.Matches(msg, keys.ForceQuit) {
			return m, tea.Sequence(m.cur.Leave(), tea.Quit)
		}
	case checkedMsg:
		if msg.id == rootID {
			m.summary = m.summarize(msg)
			return m, nil
		}
	case homeMsg:
		return m, m.open(newMenu(m.com), checkCmd(m.com, rootID))
	case openMsg:
		return m, m.open(msg.s)
	case failMsg:
		return m, m.open(newErrorScreen(m.com, msg.title, msg.err))
	case quitMsg:
		return m, tea.Sequence(m.cur.Leave(), tea.Quit)
	}
	var cmd tea.Cmd
	m.cur, cmd = m.cur.Update(msg)
	return m, cmd
}

// open leaves the current screen and shows s.
func (m *model) open(s screen, more ...tea.Cmd) tea.Cmd {
	leave := m.cur.Leave()
	m.cur = s
	s.SetSize(m.com.Width, m.com.Height)
	return tea.Batch(append([]tea.Cmd{leave, s.Init()}, more...)...)
}

func (m *model) summarize(msg checkedMsg) string {
	if msg.err != nil {
		return "check failed: " + msg.err.Error()
	}
	return summarize(msg.inv)
}

// header is "k3sca · <data-dir> · <product>" and "· sandbox" for a sandbox.
func (m *model) header() string {
	parts := []string{"k3sca", m.com.Cfg.DataDir, m.com.Cfg.Product.Name()}
	if m.com.Cfg.Sandbox {
		parts = append(parts, "sandbox")
	}
	return strings.Join(parts, " · ")
}

// View implements tea.Model.
func (m *model) View() string {
	st := m.com.Styles
	w := max(m.w, 20)
	body := lipgloss.NewStyle().Height(m.com.Height).MaxHeight(m.com.Height).MaxWidth(w).Render(m.cur.View())
	return strings.Join([]string{
		st.Header.Render(truncate(m.header(), w)),
		st.Summary.Render(truncate(m.summary, w)),
		body,
		m.help.View(m.cur.Help()),
	}, "\n")
}
