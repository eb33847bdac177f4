package ui

import (
	"context"
	"io"
	"sync/atomic"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// Every step call runs in one of these commands and comes back as one typed
// message. Messages carry the id of the screen that asked, so a result that
// arrives after the operator left that screen is dropped.

var lastID atomic.Int64

// nextID returns a fresh screen id.
func nextID() int64 { return lastID.Add(1) }

// rootID is the id of the root's background check.
const rootID = 0

type (
	// checkedMsg carries the inventory of steps.Check.
	checkedMsg struct {
		id  int64
		inv *pki.Inventory
		err error
	}
	// plannedMsg carries a step's Preview.
	plannedMsg struct {
		id   int64
		plan *steps.Plan
		err  error
	}
	// ranMsg carries the summary of a step's Run.
	ranMsg struct {
		id      int64
		summary string
		err     error
	}
	// validatedMsg carries a validation report.
	validatedMsg struct {
		id  int64
		rep *pki.Report
		err error
	}
	// loadPlannedMsg carries a load preview and the load plan behind it.
	loadPlannedMsg struct {
		id   int64
		plan *steps.Plan
		lp   *steps.LoadPlan
		err  error
	}
	// restartedMsg carries the report of a simulated restart.
	restartedMsg struct {
		id  int64
		rep *steps.RestartReport
		err error
	}
	// leafPlannedMsg carries a planned leaf rotation and its preview.
	leafPlannedMsg struct {
		id   int64
		step *steps.LeafRotate
		plan *steps.Plan
		err  error
	}
)

func checkCmd(c *Common, id int64) tea.Cmd {
	ctx, cfg := c.Ctx, c.Cfg
	return func() tea.Msg {
		inv, err := steps.Check(ctx, steps.CheckInput{DataDir: cfg.DataDir, Product: cfg.Product, Now: cfg.Now(), Window: cfg.Window})
		return checkedMsg{id: id, inv: inv, err: err}
	}
}

func previewCmd(ctx context.Context, id int64, s steps.Step) tea.Cmd {
	return func() tea.Msg {
		p, err := s.Preview(ctx)
		return plannedMsg{id: id, plan: p, err: err}
	}
}

func runCmd(ctx context.Context, id int64, s steps.Step) tea.Cmd {
	return func() tea.Msg {
		sum, err := s.Run(ctx)
		return ranMsg{id: id, summary: sum, err: err}
	}
}

func validateCmd(c *Common, id int64, staged string) tea.Cmd {
	ctx, cfg := c.Ctx, c.Cfg
	return func() tea.Msg {
		rep, err := steps.Validate(ctx, cfg.Product, cfg.DataDir, staged, false, cfg.Now())
		return validatedMsg{id: id, rep: rep, err: err}
	}
}

func loadPreviewCmd(ctx context.Context, id int64, l *steps.Load) tea.Cmd {
	return func() tea.Msg {
		p, err := l.Preview(ctx)
		return loadPlannedMsg{id: id, plan: p, lp: l.Plan(), err: err}
	}
}

func restartCmd(c *Common, id int64) tea.Cmd {
	ctx, cfg := c.Ctx, c.Cfg
	return func() tea.Msg {
		rep, err := steps.SimulateRestart(ctx, cfg.DataDir, cfg.Product, cfg.Now())
		return restartedMsg{id: id, rep: rep, err: err}
	}
}

func leafPlanCmd(c *Common, id int64, services []string) tea.Cmd {
	ctx, cfg := c.Ctx, c.Cfg
	return func() tea.Msg {
		s, err := steps.NewLeafRotate(cfg.Product, cfg.DataDir, services, cfg.Now())
		if err != nil {
			return leafPlannedMsg{id: id, err: err}
		}
		p, err := s.Preview(ctx)
		return leafPlannedMsg{id: id, step: s, plan: p, err: err}
	}
}

// closeCmd releases c (a load's datastore handle) off the update loop.
func closeCmd(c io.Closer) tea.Cmd {
	if c == nil {
		return nil
	}
	return func() tea.Msg {
		_ = c.Close()
		return nil
	}
}

// Navigation messages, handled by the root.
type (
	// homeMsg returns to the menu.
	homeMsg struct{}
	// openMsg opens a screen.
	openMsg struct{ s screen }
	// quitMsg leaves the wizard.
	quitMsg struct{}
	// failMsg shows the error panel.
	failMsg struct {
		title string
		err   error
	}
)

func msgCmd(m tea.Msg) tea.Cmd { return func() tea.Msg { return m } }

func goHome() tea.Cmd { return msgCmd(homeMsg{}) }

func fail(title string, err error) tea.Cmd { return msgCmd(failMsg{title: title, err: err}) }
