package steps

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strings"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/remote"
	"github.com/k3sca/k3sca/rollout"
)

// rolloutTask carries the new CA to every node of the cluster described by
// the inventory (env.Inventory): the last step of a CA flow as work, not
// as text. Confirmed by the cluster's name; its preview is every node's
// plan, probed read-only.
func (r *run) rolloutTask() *Task {
	t := &Task{
		ID:     "rollout",
		Title:  "Roll out to every node, in order: servers one at a time, then agents",
		Writes: true,
		Word:   clusterName(r.env),
	}
	var planned *rollout.Report
	t.Preview = func(ctx context.Context) (*Plan, error) {
		rep, err := r.rollout(ctx, true)
		if err != nil && rep == nil {
			return nil, err
		}
		planned = rep
		return rolloutPlan(rep, r.env.Inventory), nil
	}
	t.DryRun = func(context.Context, func(string)) (*Outcome, error) {
		// The plan, node by node, in the report and the JSON.
		return rolloutOutcome(planned), nil
	}
	t.Run = func(ctx context.Context, progress func(string)) (*Outcome, error) {
		rep, err := r.rollout(ctx, false, func(nr rollout.NodeReport) {
			if nr.Step != "" {
				progress(fmt.Sprintf("%s: %s", nr.Name, nr.Step))
			}
		})
		out := rolloutOutcome(rep)
		if err != nil {
			return nil, &RolloutError{Err: err, Report: rep, Resume: r.resumeCommand()}
		}
		return out, nil
	}
	return t
}

// rollout runs (or plans, dry) the rollout to the new CA hash on disk.
func (r *run) rollout(ctx context.Context, dry bool, progress ...func(rollout.NodeReport)) (*rollout.Report, error) {
	// The CA every node must end with: this server's after its restart,
	// or, before the load (a dry run), the staged one.
	caFile := pki.ServerCAPath(r.server())
	if r.dryRun && r.staged != "" {
		caFile = pki.ServerCAPath(r.staged)
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("the server CA to roll out: %w", err)
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
	opts := rollout.Options{NewHash: h.Hex, NewCA: ca, Now: r.env.Now, Timeout: r.env.RestartTimeout, DryRun: dry || r.dryRun}
	if len(progress) > 0 {
		opts.Progress = progress[0]
	}
	return rollout.Run(ctx, r.env.Product, members, opts)
}

// members are the nodes of env.Inventory: a sandbox cluster's locally,
// others over SSH with systemd.
func (r *run) members(ctx context.Context) ([]rollout.Member, func(), error) {
	sc, err := OpenSandboxCluster(r.env.Inventory)
	if err != nil {
		return nil, nil, err
	}
	if sc != nil {
		return sc.Members(r.env.Product, r.env.Now)
	}
	local, err := remote.NewLocal("", nil)
	if err != nil {
		return nil, nil, err
	}
	topo, err := cluster.ReadInventory(ctx, local, r.env.Inventory)
	if err != nil {
		return nil, nil, err
	}
	var (
		members []rollout.Member
		conns   []remote.Node
	)
	closeAll := func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	for _, n := range topo.RolloutOrder() {
		m, err := r.sshMember(ctx, n)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
		conns = append(conns, m.Host.(remote.Node))
		members = append(members, m)
	}
	return members, closeAll, nil
}

// sshMember reaches n over SSH (known_hosts checked, sudo -n when the
// login is not root); its service is systemd's unit.
func (r *run) sshMember(ctx context.Context, n cluster.Node) (rollout.Member, error) {
	opts := remote.SSHOptions{Host: n.Name, HostName: n.Address.Value, User: n.User.Value, Port: n.Port.Value}
	if opts.User == "" {
		if u, err := user.Current(); err == nil {
			opts.User = u.Username
		}
	}
	host, err := remote.DialSSH(ctx, opts)
	if err != nil {
		return rollout.Member{}, err
	}
	unit := r.env.Product.ServerUnit()
	if n.Role.Value == cluster.RoleAgent {
		unit = r.env.Product.AgentUnit()
	}
	svc := rollout.SystemdService{Node: host, Unit: unit}
	m := rollout.Member{Node: n, Host: host, Service: svc}
	if n.Role.Value == cluster.RoleServer {
		m.Check = rollout.ServerCheck(fmt.Sprintf("https://%s:%d", n.Address.Value, r.env.Product.SupervisorPort()), r.env.Now)
	} else {
		m.Check = rollout.AgentCheck(host, svc, r.env.Product.DefaultDataDir(), r.env.Now)
	}
	return m, nil
}

// resumeCommand runs the rollout again: it does only what is left.
func (r *run) resumeCommand() string {
	return fmt.Sprintf("k3sca run rollout -d %s --inventory %s --yes --confirm %s", r.env.DataDir, r.env.Inventory, clusterName(r.env))
}

// rolloutPlan is the preview: per node, the token files it edits and
// what it restarts.
func rolloutPlan(rep *rollout.Report, inventory string) *Plan {
	p := &Plan{Title: "Roll out to the nodes of " + inventory}
	for _, n := range rep.Nodes {
		switch {
		case n.State == rollout.StateDone:
			p.Add(ActCheck, n.Name, "%s: done (its tokens hold the new hash, it shows the new CA)", n.Role)
			continue
		case n.Error != "":
			p.Add(ActCheck, n.Name, "%s: %s", n.Role, n.Error)
			continue
		}
		for _, e := range n.Edits {
			p.Add(ActWrite, n.Name+":"+e.Path, "the token's CA hash; backup beside it")
		}
		if n.Shows == "" {
			p.Add(ActCheck, n.Name, "%s: runs on the new CA already: no restart", n.Role)
			continue
		}
		p.Add(ActService, n.Name, "%s: restart, then wait until it shows the new CA (now: %s)", n.Role, n.Shows)
	}
	p.Notes = []string{"servers one at a time, then agents; the first failure stops the rollout, the nodes after it stay untouched; running it again does only what is left"}
	for _, n := range rep.Nodes {
		for _, e := range n.Edits {
			p.Notes = append(p.Notes, n.Name+": "+e.Diff)
		}
	}
	return p
}

// rolloutOutcome is one line per node.
func rolloutOutcome(rep *rollout.Report) *Outcome {
	out := &Outcome{Data: rep}
	if rep == nil {
		return out
	}
	out.Summary = rep.Summary()
	for _, n := range rep.Nodes {
		line := fmt.Sprintf("%s (%s): %s", n.Name, n.Role, n.State)
		if len(n.Edits) > 0 {
			var files []string
			for _, e := range n.Edits {
				files = append(files, e.Path)
			}
			line += "; edited " + strings.Join(files, ", ")
		}
		if n.Restarted {
			line += "; restarted"
		}
		if n.Error != "" {
			line += "; " + n.Error
		}
		out.Details = append(out.Details, line)
	}
	return out
}

// RolloutError is a rollout stopped at a node: the report says where each
// node stands, Resume is the command that finishes it.
type RolloutError struct {
	Err    error
	Report *rollout.Report
	Resume string
}

// Error implements error.
func (e *RolloutError) Error() string { return e.Err.Error() }

// Unwrap returns the failure.
func (e *RolloutError) Unwrap() error { return e.Err }

// Details implements FailureDetails: each node's state and the command
// that resumes.
func (e *RolloutError) Details() []string {
	d := rolloutOutcome(e.Report).Details
	return append(d, "once fixed, resume (it does only what is left): "+e.Resume)
}

var _ FailureDetails = (*RolloutError)(nil)
