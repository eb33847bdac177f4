package ui

import (
	"context"

	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/pki"
)

// Styles is the lipgloss theme of the wizard. Every piece of meaning also
// shows as text (status words, "✓", "!"), so a monochrome terminal loses
// nothing but colour.
type Styles struct {
	Header, Summary, Title, Dim, Selected, Done, Warn, Bad, OK, Key, Box lipgloss.Style
}

// DefaultStyles returns the theme.
func DefaultStyles() Styles {
	return Styles{
		Header:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		Summary:  lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		Title:    lipgloss.NewStyle().Bold(true),
		Dim:      lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		Selected: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		Done:     lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		Warn:     lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
		Bad:      lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("1")),
		OK:       lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		Key:      lipgloss.NewStyle().Bold(true),
		Box:      lipgloss.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(lipgloss.Color("1")).Padding(0, 1),
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

// Common is the state every component shares: the run context, the
// configuration, the theme and the size of the body area. The root owns it
// and hands a pointer to each screen; the size changes only at the root.
type Common struct {
	// Ctx is the context every step call runs with.
	Ctx context.Context
	// Cfg is the wizard configuration with defaults applied.
	Cfg Config
	// Styles is the theme.
	Styles Styles
	// Width and Height are the body size (terminal minus header and footer).
	Width, Height int
}
