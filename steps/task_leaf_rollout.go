package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/rollout"
)

// leafRolloutTask carries the leaf rotation of rotate-certs to the nodes
// of the cluster (every node, or those named): on each, what `k3s
// certificate rotate` does there, with its service stopped, then started
// again and verified (rollout.Leaf); servers one at a time, then agents.
// A dry run by default, as the CA rollout: its preview is the dry run, the
// cluster's name typed goes on, a No keeps it a dry run and says the
// command that carries it out. since is the rotation's start: a node with
// a leaf backup made since is done (this server's own, made by the steps
// before, among them).
func (r *run) leafRolloutTask(services, nodes []string, since time.Time) *Task {
	leaf := &rollout.Leaf{Services: services, Since: since, Nodes: nodes}
	r.scope.Leaf = leaf
	t := &Task{
		ID:           "rollout",
		Title:        "Rotate them on every node, in order: servers one at a time, then agents",
		Writes:       true,
		Word:         clusterName(r.env),
		DryByDefault: true,
	}
	if len(nodes) > 0 {
		t.Title = "Rotate them on " + strings.Join(nodes, ", ") + ", in order: servers one at a time, then agents"
	}
	var planned *rollout.Report
	t.Preview = func(ctx context.Context) (*Plan, error) {
		rep, err := r.leafRollout(ctx, leaf, true)
		if err != nil && (rep == nil || errors.Is(err, ErrVersionRefused)) {
			return nil, err
		}
		planned = rep
		return leafRolloutPlan(rep, r.env.clusterSource()), nil
	}
	t.DryRun = func(context.Context, func(string)) (*Outcome, error) {
		out := rolloutOutcome(planned)
		if planned != nil && planned.OK && !allDone(planned) {
			out.Details = append(out.Details, "nothing was changed on any node; rotate them with: "+r.leafResumeCommand(leaf))
		}
		return out, nil
	}
	t.Run = func(ctx context.Context, progress func(string)) (*Outcome, error) {
		live := newNodeList(planned)
		rep, err := r.leafRollout(ctx, leaf, false, func(nr rollout.NodeReport) {
			live.set(nr)
			if nr.Step != "" {
				progress(fmt.Sprintf("%s: %s", nr.Name, nr.Step) + "\n" + live.String())
			}
		})
		if err != nil {
			return nil, &RolloutError{Err: err, Report: rep, Resume: r.leafResumeCommand(leaf)}
		}
		return rolloutOutcome(rep), nil
	}
	return t
}

// leafRollout runs (or plans, dry) the leaf rotation on the nodes; the
// cluster's CA, this server's, is what every node must still show.
func (r *run) leafRollout(ctx context.Context, leaf *rollout.Leaf, dry bool, progress ...func(rollout.NodeReport)) (*rollout.Report, error) {
	ca, err := os.ReadFile(pki.ServerCAPath(r.server()))
	if err != nil {
		return nil, fmt.Errorf("the cluster's server CA: %w", err)
	}
	h, err := pki.HashCA(ca, r.env.Now())
	if err != nil {
		return nil, err
	}
	members, closeAll, err := r.members(ctx)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	if err := namedNodes(members, leaf.Nodes); err != nil {
		return nil, err
	}
	opts := rollout.Options{NewHash: h.Hex, NewCA: ca, Now: r.env.Now, Timeout: r.env.RestartTimeout,
		DryRun: dry || r.dryRun, Parallel: r.env.Parallel, Leaf: leaf}
	if len(progress) > 0 {
		opts.Progress = progress[0]
	}
	return rollout.Run(ctx, r.env.Product, members, opts)
}

// namedNodes refuses a node name the cluster does not have.
func namedNodes(members []rollout.Member, names []string) error {
	have := map[string]bool{}
	var all []string
	for _, m := range members {
		have[m.Node.Name] = true
		all = append(all, m.Node.Name)
	}
	for _, n := range names {
		if !have[n] {
			return fmt.Errorf("node %q is not a node of the cluster (its nodes: %s); nothing was changed", n, strings.Join(all, ", "))
		}
	}
	return nil
}

// leafResumeCommand carries the leaf rotation begun at leaf.Since to the
// nodes left: only the rollout step, every node rotated since then done.
func (r *run) leafResumeCommand(leaf *rollout.Leaf) string {
	cmd := "k3sca run " + FlowRotateCerts + " -d " + r.env.DataDir + clusterArgs(r.env)
	if len(leaf.Services) > 0 {
		cmd += " --services " + strings.Join(leaf.Services, ",")
	}
	if len(leaf.Nodes) > 0 {
		cmd += " --on-nodes " + strings.Join(leaf.Nodes, ",")
	}
	if r.env.Parallel > 1 {
		cmd += fmt.Sprintf(" --parallel %d", r.env.Parallel)
	}
	return cmd + " --rotated-since " + leaf.Since.UTC().Format(time.RFC3339) + " --only rollout --yes --confirm " + clusterName(r.env)
}

// leafRolloutPlan is the preview, a dry run: per node what is left of its
// rotation.
func leafRolloutPlan(rep *rollout.Report, source string) *Plan {
	p := &Plan{Title: "Dry run of the leaf rotation on the nodes of " + source + " (nothing changed yet)"}
	if line := nodeVersionsLine(rep); line != "" {
		p.Add(ActCheck, "k3s versions", "%s", line)
	}
	for _, n := range rep.Nodes {
		l := n.Leaf
		switch {
		case n.State == rollout.StateNotNeeded:
			p.Add(ActCheck, n.Name, "%s: needs %s", n.Role, n.Needs)
			continue
		case n.Error != "" || l == nil:
			p.Add(ActCheck, n.Name, "%s: %s", n.Role, n.Error)
			continue
		case n.State == rollout.StateDone:
			p.Add(ActCheck, n.Name, "%s: done (rotated since %s: backup %s, every certificate issued again)", n.Role, rep.LeafSince.Format(time.RFC3339), l.Backup)
			continue
		}
		if l.Left == "stop, back up, remove, start" || l.Left == "remove, start" {
			p.Add(ActService, n.Name, "%s: stop%s", n.Role, serviceHow(n.Service))
		}
		if l.Left == "stop, back up, remove, start" {
			p.Add(ActBackup, n.Name+":"+l.Backup, "copy of the leaf certificates of %s", strings.Join(l.Services, ", "))
		}
		if l.Regenerate != "" {
			p.Add(ActWrite, n.Name+":"+l.Regenerate, "empty trigger, 0600: the listener issues its serving certificate again")
		}
		for _, f := range l.Remove {
			p.Add(ActRemove, n.Name+":"+f, "")
		}
		p.Add(ActService, n.Name, "%s: start, then wait until every certificate is issued again and it shows the same CA (now: %s)", n.Role, l.Why)
	}
	p.Notes = []string{"servers one at a time, then agents; no token changes (the CA stays); k3s is started again on a node whose rotation fails; the first failure stops the rollout, the nodes after it stay untouched; running it again with the same --rotated-since does only what is left"}
	return p
}
