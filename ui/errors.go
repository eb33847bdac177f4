package ui

import (
	"context"
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// hints maps the error classes the steps package names to the operator's
// next move.
var hints = []struct {
	err  error
	hint string
}{
	{steps.ErrK3sRunning, "Stop k3s on this server (systemctl stop k3s), or run k3sca with --via etcd, then try again."},
	{steps.ErrRefused, "k3s would refuse this set; stage a cross-signed rotation instead, or replace the root of trust on purpose: f on the validation report of a new root, then type force."},
	{steps.ErrStagedIsLive, "Choose a staging dir outside <data-dir>/server."},
	{steps.ErrNoDatastore, "Run the wizard on a server: it needs server/db/state.db, embedded etcd or a running kine."},
	{steps.ErrConcurrent, "The bootstrap data changed meanwhile (another server?). Start the load again to re-read it."},
	{steps.ErrVerifyFailed, "The previous value is back in place. Check the datastore with k3sca datastore show."},
	{steps.ErrNotSandbox, "The simulated restart only runs on a data dir made by k3sca sandbox."},
	{steps.ErrNewerOnDisk, "Remove the named files, or load them into the datastore first."},
	{steps.ErrNoServiceManager, "Without systemd k3sca cannot tell whether k3s runs; make sure it is stopped."},
	{pki.ErrUnknownService, "Pick services from the list."},
	{context.Canceled, "The operation was cancelled; nothing more was done."},
}

// hintFor returns the next move for err, or "".
func hintFor(err error) string {
	for _, h := range hints {
		if errors.Is(err, h.err) {
			return h.hint
		}
	}
	return ""
}

// errorScreen shows a failed step's error and the next move; esc goes home.
type errorScreen struct {
	com   *Common
	title string
	err   error
}

func newErrorScreen(c *Common, title string, err error) *errorScreen {
	return &errorScreen{com: c, title: title, err: err}
}

// Init implements screen.
func (s *errorScreen) Init() tea.Cmd { return nil }

// SetSize implements screen.
func (s *errorScreen) SetSize(int, int) {}

// Leave implements screen.
func (s *errorScreen) Leave() tea.Cmd { return nil }

// Help implements screen.
func (s *errorScreen) Help() help.KeyMap { return bindings{with(keys.Back, "esc", "menu"), keys.Quit} }

// Update implements screen.
func (s *errorScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(k, keys.Back, keys.Enter):
			return s, goHome()
		case key.Matches(k, keys.Quit):
			return s, msgCmd(quitMsg{})
		}
	}
	return s, nil
}

// View implements screen.
func (s *errorScreen) View() string {
	st := s.com.Styles
	w := max(20, s.com.Width-4)
	var b strings.Builder
	b.WriteString(st.Bad.Render("✗ "+s.title+" failed") + "\n\n")
	b.WriteString(ansi.Wrap(s.err.Error(), w, " ,;/:"))
	if h := hintFor(s.err); h != "" {
		b.WriteString("\n\n" + st.Title.Render("Next: ") + ansi.Wrap(h, w-6, " "))
	}
	return st.Box.Width(w + 2).Render(b.String())
}
