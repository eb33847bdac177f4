package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/remote"
	"github.com/k3sca/k3sca/rollout"
)

// leafRolloutTask carries the leaf rotation of rotate-certs to the nodes
// of the cluster (every node, or those named): on each, what `k3s
// certificate rotate` does there, with its service stopped, then started
// again and verified (rollout.Leaf); servers one at a time, then agents.
// A dry run by default, as the CA rollout: its preview is the dry run, the
// cluster's name typed goes on, a No keeps it a dry run and says the
// command that carries it out. A node with a leaf backup made since the
// rotation's start is done (leafSince: start, this run's, when rotate,
// this node's rotation, is one of its steps).
func (r *run) leafRolloutTask(services, nodes []string, start time.Time, rotate *Task) *Task {
	leaf := &rollout.Leaf{Services: services, Nodes: nodes}
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
		if err := r.leafSince(ctx, leaf, start, rotate); err != nil {
			return nil, err
		}
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

// leafSince sets the rotation's start, and says where it came from:
// --rotated-since when given; else start, this run's, when the flow
// rotates this node first (rotate is one of its steps); else, the rollout
// run alone (--only rollout: a rerun after a crash that printed nothing),
// the time of this node's newest leaf backup, the rotation it carries to
// the others: a node rotated since is not rotated again. This node with
// no leaf backup has no rotation to carry: refused, naming the flag.
func (r *run) leafSince(ctx context.Context, leaf *rollout.Leaf, start time.Time, rotate *Task) error {
	switch {
	case !r.env.RotatedSince.IsZero():
		leaf.Since, leaf.SinceSource = r.env.RotatedSince, "--rotated-since"
		return nil
	case !rotate.off:
		leaf.Since, leaf.SinceSource = start, "this run's start (its step "+rotate.ID+" rotates this node first)"
		return nil
	}
	local, err := remote.NewLocal("", nil)
	if err != nil {
		return err
	}
	backup, at, err := rollout.NewestLeafBackup(ctx, local, r.server(), time.Time{})
	if err != nil {
		return fmt.Errorf("this node's leaf backups: %w", err)
	}
	if backup == "" {
		return fmt.Errorf("no rotation to carry to the nodes: this node has no leaf backup (%s); give --%s with the rotation's start (%s to rotate every node now), or run the whole flow, which rotates this node first; nothing was changed",
			filepath.Join(r.server(), "tls-<unix>"), "rotated-since", r.env.Now().UTC().Format(time.RFC3339))
	}
	leaf.Since, leaf.SinceSource = at, "this node's newest leaf backup, "+backup
	return nil
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
	if rep.LeafSince != nil {
		p.Add(ActCheck, "rotation's start", "%s, from %s: a node with a leaf backup made since is rotated already", rep.LeafSince.Format(time.RFC3339), rep.LeafSinceSource)
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
		stopped := n.State == rollout.StateStopped
		if l.StopMarker != "" {
			p.Add(ActWrite, n.Name+":"+l.StopMarker, "marker, 0600: k3sca stopped k3s here (a rerun after a crash starts it again); removed once it is started")
			p.Add(ActService, n.Name, "%s: stop%s", n.Role, serviceHow(n.Service))
		}
		if strings.Contains(l.Left, "back up") {
			p.Add(ActBackup, n.Name+":"+l.Backup, "copy of the leaf certificates of %s", strings.Join(l.Services, ", "))
		}
		if l.Regenerate != "" {
			p.Add(ActWrite, n.Name+":"+l.Regenerate, "empty trigger, 0600: the listener issues its serving certificate again")
		}
		for _, f := range l.Remove {
			p.Add(ActRemove, n.Name+":"+f, "")
		}
		if stopped {
			p.Add(ActCheck, n.Name, "%s: left stopped (%s left): %s", n.Role, l.Left, n.Stopped)
			continue
		}
		p.Add(ActService, n.Name, "%s: start, then wait until every certificate is issued again and it shows the same CA (now: %s)", n.Role, l.Why)
	}
	p.Notes = []string{"servers one at a time, then agents; no token changes (the CA stays); k3s is started again on a node whose rotation fails, and a node someone stopped is not started; the first failure stops the rollout, the nodes after it stay untouched; running it again with the same --rotated-since (or the rollout step alone: the start from this node's newest leaf backup) does only what is left"}
	return p
}
