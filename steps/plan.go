package steps

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Action is what a plan item does.
type Action string

// Actions a plan may contain.
const (
	ActWrite     Action = "write"
	ActRemove    Action = "remove"
	ActBackup    Action = "backup"
	ActDatastore Action = "datastore"
	ActCheck     Action = "check"
	ActService   Action = "service"
)

// Item is one thing a step will do.
type Item struct {
	// Action is the kind of change.
	Action Action `json:"action"`
	// Target is the file, key or unit it changes.
	Target string `json:"target"`
	// Detail says how: mode and size, subject and expiry, revision.
	Detail string `json:"detail,omitempty"`
}

// Plan is the data a step shows before it runs; a dry run prints it and stops.
type Plan struct {
	// Title names the step.
	Title string `json:"title"`
	// Items are the changes, in order.
	Items []Item `json:"items"`
	// Notes are facts the operator should know before confirming.
	Notes []string `json:"notes,omitempty"`
}

// Add appends an item.
func (p *Plan) Add(act Action, target, format string, args ...any) {
	p.Items = append(p.Items, Item{Action: act, Target: target, Detail: fmt.Sprintf(format, args...)})
}

// Render writes the plan as plain text.
func (p *Plan) Render(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "== %s\n", p.Title)
	for _, it := range p.Items {
		if it.Detail != "" {
			fmt.Fprintf(&b, "  %-9s %s  (%s)\n", it.Action, it.Target, it.Detail)
		} else {
			fmt.Fprintf(&b, "  %-9s %s\n", it.Action, it.Target)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Step is one unit of a flow: it previews, then runs.
type Step interface {
	// Title names the step for progress lines.
	Title() string
	// Preview computes the plan without side effects.
	Preview(ctx context.Context) (*Plan, error)
	// Run performs the step and returns a short summary.
	Run(ctx context.Context) (string, error)
}
