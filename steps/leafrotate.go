package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/k3sca/k3sca/internal/words"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// LeafRotate removes the leaf certificates of services so k3s re-issues them
// at its next start, after backing up the tls dir (k3s certificate rotate).
type LeafRotate struct {
	plan *pki.LeafRotationPlan
}

// NewLeafRotate plans the rotation; unknown service names are an error.
func NewLeafRotate(p product.Product, dataDir string, services []string, now time.Time) (*LeafRotate, error) {
	pl, err := pki.PlanLeafRotation(p, dataDir, services, now)
	if err != nil {
		return nil, err
	}
	return &LeafRotate{plan: pl}, nil
}

// Title is the title of its plan.
func (l *LeafRotate) Title() string { return "Rotate leaf certificates" }

// Preview computes the plan without side effects (the task's preview).
func (l *LeafRotate) Preview(ctx context.Context) (*Plan, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	plan := &Plan{Title: l.Title()}
	if l.plan.TLSDir != "" {
		plan.Add(ActBackup, l.plan.BackupDir, "copy of the tls dir")
	}
	if d := l.plan.AgentBackupDir; d != "" {
		plan.Add(ActBackup, d, "the %s below, kept apart from the server's", words.Plural(len(l.plan.AgentFiles), "agent file"))
	}
	if l.plan.Regenerate {
		plan.Add(ActWrite, pki.RegenerateTriggerPath(product.ServerDir(l.plan.DataDir)), "empty trigger, 0600")
	}
	for _, f := range l.plan.Remove {
		plan.Add(ActRemove, f, "")
	}
	plan.Notes = append(plan.Notes, "run with k3s stopped, then start it: k3s re-issues the removed certificates")
	return plan, nil
}

// Run performs the plan and returns a one-line summary.
func (l *LeafRotate) Run(ctx context.Context) (string, error) {
	if err := l.plan.Apply(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("backed up certificates to %s; removed %d files; restart k3s to re-issue them",
		l.plan.BackupDir, len(l.plan.Remove)), nil
}
