package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/steps"
)

// facts is what the header says about the node: where its data dir is and
// why, what it is, how it stores its state, whether k3s runs and the CA
// hash its join tokens pin.
type facts struct {
	DataDir, Source, Role, Datastore string
	// Service is the unit's state ("running", "stopped"), Init the service
	// manager ("systemd", "openrc").
	Service, Init string
	// CAHash is the current CA hash.
	CAHash string
	// Revision is the datastore revision of the bootstrap data (0:
	// unknown), read after every step.
	Revision int64
	// Sandbox marks a data dir made by k3sca sandbox.
	Sandbox bool
	// K3s is the k3s version ("v1.36.3+k3s1"), "unknown: <why>", or ""
	// when not looked for.
	K3s string
}

// line renders the facts in one line, product naming the service.
func (f facts) line(product string) string { return strings.Join(f.parts(product), " · ") }

// parts are the facts, each in a few words.
func (f facts) parts(product string) []string { return f.partsOf(product, false) }

// partsOf are the facts; compact names the version with the service
// ("k3s v1.36.3+k3s1 stopped (systemd)") instead of as a fact of its own.
func (f facts) partsOf(product string, compact bool) []string {
	var parts []string
	known := f.K3s != "" && !strings.HasPrefix(f.K3s, "unknown")
	dd := f.DataDir
	if f.Source != "" {
		dd += " (" + f.Source + ")"
	}
	parts = append(parts, dd)
	for _, p := range []string{f.Role, f.Datastore} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if f.Service != "" {
		svc := product + " " + f.Service
		if compact && known {
			svc = product + " " + f.K3s + " " + f.Service
		}
		if f.Init != "" {
			svc += " (" + f.Init + ")"
		}
		parts = append(parts, svc)
	}
	if f.CAHash != "" {
		parts = append(parts, "CA hash "+f.CAHash[:min(12, len(f.CAHash))])
	}
	if f.Revision > 0 {
		parts = append(parts, fmt.Sprintf("datastore rev %d", f.Revision))
	}
	// The version comes last: the header keeps two lines of facts, and
	// the CA hash and revision matter more on a narrow screen (w shows
	// every part).
	switch {
	case strings.HasPrefix(f.K3s, "unknown"):
		parts = append(parts, product+" version unknown")
	case known && (!compact || f.Service == ""):
		parts = append(parts, product+" "+f.K3s)
	}
	return parts
}

// compactParts say the same in fewer cells, and cut no path: the sqlite
// datastore is named by its kind alone (its file is always
// server/db/state.db under the data dir), and the version goes with the
// service ("k3s v1.36.3+k3s1 stopped (sandbox)"). The header takes them
// when the full parts leave a fact off its two lines; `w` (wholeParts)
// still shows every part in full.
func (f facts) compactParts(product string) []string {
	if kind, _, ok := strings.Cut(f.Datastore, " ("); ok && kind == "sqlite" {
		f.Datastore = kind
	}
	return f.partsOf(product, true)
}

// wholeParts are the parts with nothing shortened: the whole CA hash.
func (f facts) wholeParts(product string) []string {
	h := f.CAHash
	f.CAHash = ""
	parts := f.parts(product)
	if h != "" {
		parts = append(parts, "CA hash "+h)
	}
	return parts
}

// joinWrap joins parts with sep into lines of at most width cells,
// breaking between parts only (a part wider than width is shortened in
// the middle; `w` shows it whole).
func joinWrap(parts []string, sep string, width int) []string {
	var lines []string
	cur := ""
	for _, p := range parts {
		switch {
		case cur == "":
			cur = p
		case lipgloss.Width(cur+sep+p) <= width:
			cur += sep + p
		default:
			lines = append(lines, elide(cur, width))
			cur = p
		}
	}
	return append(lines, elide(cur, width))
}

// detectNode reads the node's facts through the steps package.
func detectNode(ctx context.Context, env steps.Env) facts {
	n := steps.DetectNode(ctx, env)
	f := facts{
		DataDir: n.DataDir, Source: n.DataDirSource, Role: n.Role, Datastore: n.Datastore,
		Service: n.ServiceState, Init: n.Init, CAHash: n.CAHash, Sandbox: n.Sandbox, K3s: n.K3sVersion,
	}
	if n.Role == node.RoleServer && n.Datastore != "none" && !strings.HasPrefix(n.Datastore, "unknown") {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if rev, err := steps.DatastoreRevision(rctx, env); err == nil {
			f.Revision = rev
		}
	}
	return f
}

// factsMsg carries the node's facts.
type factsMsg struct{ facts facts }

// factsThenMsg carries the node's facts read after a step, then the
// step's message for the screen.
type factsThenMsg struct {
	facts facts
	then  tea.Msg
}

// detectThen reads the node's facts off the update loop, then hands msg on.
func detectThen(c *Common, detect func(context.Context, steps.Env) facts, msg tea.Msg) tea.Cmd {
	ctx, env := c.Ctx, c.Env
	return func() tea.Msg { return factsThenMsg{facts: detect(ctx, env), then: msg} }
}

// detectCmd reads the node's facts off the update loop.
func detectCmd(c *Common, detect func(context.Context, steps.Env) facts) tea.Cmd {
	ctx, env := c.Ctx, c.Env
	return func() tea.Msg { return factsMsg{facts: detect(ctx, env)} }
}
