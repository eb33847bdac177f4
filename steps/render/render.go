// Package render is the text of the flows' results for the front ends
// that print lines (the headless runner of the CLI, the wizard's plain
// mode, the CLI's summary): a step's status mark and the text of an
// outcome's data. The flow engine returns the data; it draws nothing.
package render

import (
	"strings"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// Mark is the one-character mark of a status in step lists.
func Mark(s steps.Status) string {
	switch s {
	case steps.StatusDone:
		return "✓"
	case steps.StatusRunning:
		return "▸"
	case steps.StatusSkipped:
		return "–"
	case steps.StatusPlanned:
		return "○"
	case steps.StatusFailed, steps.StatusDeclined:
		return "✗"
	}
	return "·"
}

// Data is the text printed under a step for its outcome's data: a
// certificate inventory's table (pki.Inventory.WriteText, relative to its
// tls dir); "" for data that has no text of its own (its summary and
// details say it).
func Data(data any) string {
	inv, ok := data.(*pki.Inventory)
	if !ok {
		return ""
	}
	var b strings.Builder
	if err := inv.WriteText(&b, inv.TLSDir); err != nil {
		return ""
	}
	return b.String()
}
