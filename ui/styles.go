package ui

import (
	"context"
	"io"

	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// Styles is the lipgloss theme of the wizard. Every piece of meaning also
// shows as text (status words, the marks ✓ ▸ · – ○ ✗, "!" before a
// warning, "▸" before the focused field), so a monochrome terminal or
// NO_COLOR loses nothing but colour.
type Styles struct {
	Header, Summary, Title, Dim, Selected, Done, Warn, Bad, OK, Key, Box lipgloss.Style
}

// DefaultStyles returns the theme for r (nil: lipgloss's default renderer,
// which writes to stdout). The wizard draws on its own output, so Run
// passes a renderer for it: its colour profile, NO_COLOR included, is the
// one that counts.
func DefaultStyles(r *lipgloss.Renderer) Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	return Styles{
		Header:   r.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		Summary:  r.NewStyle().Foreground(lipgloss.Color("8")),
		Title:    r.NewStyle().Bold(true),
		Dim:      r.NewStyle().Foreground(lipgloss.Color("8")),
		Selected: r.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		Done:     r.NewStyle().Foreground(lipgloss.Color("2")),
		Warn:     r.NewStyle().Foreground(lipgloss.Color("3")),
		Bad:      r.NewStyle().Bold(true).Foreground(lipgloss.Color("1")),
		OK:       r.NewStyle().Foreground(lipgloss.Color("2")),
		Key:      r.NewStyle().Bold(true),
		Box:      r.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(lipgloss.Color("1")).Padding(0, 1),
	}
}

// Status colours a certificate status word: OK green, WARNING yellow,
// EXPIRED and NOT YET VALID red.
func (s Styles) Status(st pki.Status) lipgloss.Style {
	switch st {
	case pki.StatusOK:
		return s.OK
	case pki.StatusWarning:
		return s.Warn
	}
	return s.Bad
}

// Step colours a step's mark by its status: done green, failed and
// declined red, the current step highlighted, the rest dim.
func (s Styles) Step(st steps.Status) lipgloss.Style {
	switch st {
	case steps.StatusDone:
		return s.Done
	case steps.StatusFailed, steps.StatusDeclined:
		return s.Bad
	case steps.StatusRunning:
		return s.Selected
	}
	return s.Dim
}

// Common is the state every component shares: the run context, the node's
// environment, the theme, the mode and the size of the body area. The root
// owns it and hands a pointer to each screen; the size and the dry-run
// mode change only at the root and on the menu.
type Common struct {
	// Ctx is the context every step call runs with.
	Ctx context.Context
	// Env is what every flow needs about the node, defaults applied.
	Env steps.Env
	// Styles is the theme.
	Styles Styles
	// DryRun runs the next flow dry: writing steps are only previewed.
	DryRun bool
	// Width and Height are the body size (terminal minus header and footer).
	Width, Height int

	// Revealed are the token lines the operator asked to see; Run prints
	// them again after the screen is restored, on one line each, so they
	// can be copied whole over SSH.
	Revealed []string
	// Keep are the lines of the flows' outcomes an operator may need after
	// the wizard (backups, undo commands, CA hashes, leftovers); Run prints
	// them again, whole, after the screen is restored.
	Keep []string
	// Closing are lines Run prints after the screen is restored when ctrl+c
	// ended a flow: what was undone and the state of k3s now.
	Closing []string

	// forms are the flows' forms as last left, by flow id: values and
	// the errors of the fields checked, kept while the wizard runs.
	forms map[string]*formMemory
	// MenuCursor is the menu's cursor, kept when a flow is opened.
	MenuCursor int
	// out is the terminal the wizard draws on (nil in tests): where an
	// OSC 52 clipboard write goes.
	out io.Writer

	// complete lists the completions of a path prefix (steps.CompletePath).
	complete func(prefix string, dirsOnly bool) ([]string, error)
	// calls are the calls into the open flow's session.
	calls sessionCalls
}
