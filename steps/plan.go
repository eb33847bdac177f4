package steps

import (
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

// Plan is the data a task shows before it runs (Task.Preview); a dry run
// prints it and stops.
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
