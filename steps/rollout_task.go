package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/kube"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/remote"
	"github.com/k3sca/k3sca/rollout"
)

// rolloutTask carries the new CA to every node of the cluster (from
// env.Inventory, env.Kubeconfig or env.Nodes): the last step of a CA flow
// as work, not as text. A dry run by default, as talosctl's rotate-ca:
// its preview is the dry run (every node probed and planned, read-only),
// the cluster's name typed goes on, a No keeps it a dry run and says the
// command that rolls it out. With restartServers (a service-account key
// change) it restarts the servers only, one at a time, with no token edit
// or regenerate trigger; agents need nothing.
func (r *run) rolloutTask(mode restartMode) *Task {
	title := "Roll out to every node, in order: servers one at a time, then agents"
	switch mode {
	case restartServers:
		title = "Restart every server, one at a time (agents need nothing)"
	case restartPutBack:
		title = "Put back every node's token files from the rollout's backups, then restart in order: servers one at a time, then agents"
	}
	r.scope.ServersOnly = mode == restartServers
	t := &Task{
		ID:           "rollout",
		Title:        title,
		Writes:       true,
		Word:         clusterName(r.env),
		DryByDefault: true,
	}
	var planned *rollout.Report
	// The backups are named at the plan's time, so the names the plan
	// shows are the ones the run takes.
	var planAt time.Time
	t.Preview = func(ctx context.Context) (*Plan, error) {
		planAt = r.env.Now()
		rep, err := r.rollout(ctx, mode, true, planAt)
		if err != nil && (rep == nil || errors.Is(err, ErrVersionRefused)) {
			// A node's version refuses the rollout: the plan stops here,
			// before any node is touched.
			return nil, err
		}
		planned = rep
		return rolloutPlan(rep, r.env.clusterSource()), nil
	}
	t.DryRun = func(context.Context, func(string)) (*Outcome, error) {
		// The plan, node by node, in the report and the JSON, and the
		// command that carries it out once the CA it rolls out is this
		// server's (not a staged one, in a dry run of the whole flow).
		out := rolloutOutcome(planned)
		if planned != nil && !planned.OK {
			return out, nil
		}
		switch {
		case (r.dryRun && r.staged != "") || allDone(planned):
		case mode == restartPutBack && r.restoreFrom != "":
			out.Details = append(out.Details, "nothing was changed on any node; put the token files back with: "+r.resumeCommand(mode))
		default:
			out.Details = append(out.Details, "nothing was changed on any node; roll it out with: "+r.resumeCommand(mode))
		}
		return out, nil
	}
	t.Run = func(ctx context.Context, progress func(string)) (*Outcome, error) {
		live := newNodeList(planned)
		rep, err := r.rollout(ctx, mode, false, planAt, func(nr rollout.NodeReport) {
			live.set(nr)
			if nr.Step != "" {
				progress(fmt.Sprintf("%s: %s", nr.Name, nr.Step) + "\n" + live.String())
			}
		})
		out := rolloutOutcome(rep)
		if err != nil {
			return nil, &RolloutError{Err: err, Report: rep, Resume: r.resumeCommand(mode)}
		}
		return out, nil
	}
	return t
}

// rollout runs (or plans, dry) the rollout to the new CA hash and
// service-account key on disk.
// Backups are named at backupAt (zero: the env's clock at each write).
func (r *run) rollout(ctx context.Context, mode restartMode, dry bool, backupAt time.Time, progress ...func(rollout.NodeReport)) (*rollout.Report, error) {
	// The CA and service key every node must end with: this server's
	// after its restart, or, before the load (a dry run), the staged ones.
	dir := r.server()
	if r.dryRun && r.staged != "" {
		dir = r.staged
	}
	// An undo's dry run, before the restore: the backup's CA hash (its
	// bundle is not on disk yet, so the hash alone is checked).
	restoreDry := mode == restartPutBack && r.dryRun && r.restoreHash != ""
	ca, err := os.ReadFile(pki.ServerCAPath(dir))
	if err != nil {
		return nil, fmt.Errorf("the server CA to roll out: %w", err)
	}
	// A staged set without a service key (a CA rotation) keeps this
	// server's.
	keyField, _ := pki.Field("ServiceKey")
	key, err := os.ReadFile(keyField.Abs(dir))
	if errors.Is(err, os.ErrNotExist) && dir != r.server() {
		key, err = os.ReadFile(keyField.Abs(r.server()))
	}
	if err != nil {
		return nil, fmt.Errorf("the service-account key to roll out: %w", err)
	}
	h, err := pki.HashCA(ca, r.env.Now())
	if err != nil {
		return nil, err
	}
	if restoreDry {
		h, ca = pki.CAHash{Hex: r.restoreHash}, nil
	}
	members, closeAll, err := r.members(ctx)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	opts := rollout.Options{NewHash: h.Hex, NewCA: ca, NewServiceKey: key, ServersOnly: mode == restartServers, PutBack: mode == restartPutBack,
		Now: r.env.Now, Timeout: r.env.RestartTimeout, DryRun: dry || r.dryRun, Parallel: r.env.Parallel}
	if !backupAt.IsZero() {
		opts.Now = func() time.Time { return backupAt }
	}
	if len(progress) > 0 {
		opts.Progress = progress[0]
	}
	return rollout.Run(ctx, r.env.Product, members, opts)
}

// members are the cluster's nodes: a sandbox cluster's locally, others
// over SSH with the service manager each node's files show, in rollout
// order.
func (r *run) members(ctx context.Context) ([]rollout.Member, func(), error) {
	if r.env.Inventory != "" && r.env.Local != nil {
		members, release, ok, err := r.env.Local.Members(r.env.Inventory, r.env.Product, r.env.Now)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			return members, release, nil
		}
	}
	topo, err := r.topology(ctx)
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
		host, err := r.dial(ctx, n)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
		conns = append(conns, host)
		m, err := r.nodeMember(ctx, n, host, members)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
		members = append(members, m)
	}
	return members, closeAll, nil
}

// topology is the cluster's nodes from, in order, the inventory, the
// Kubernetes API through the admin kubeconfig, or the --node flags; every
// fact says where it came from.
func (r *run) topology(ctx context.Context) (*cluster.Topology, error) {
	local, err := remote.NewLocal("", nil)
	if err != nil {
		return nil, err
	}
	switch {
	case r.env.Inventory != "":
		return cluster.ReadInventory(ctx, local, r.env.Inventory)
	case r.env.Kubeconfig != "":
		b, err := local.ReadFile(ctx, r.env.Kubeconfig)
		if err != nil {
			return nil, err
		}
		kc, err := kube.ParseKubeconfig(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.env.Kubeconfig, err)
		}
		c, err := kube.NewClient(kc, 0, r.env.Now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.env.Kubeconfig, err)
		}
		nodes, err := c.Nodes(ctx)
		if err != nil {
			return nil, fmt.Errorf("the cluster's nodes through %s: %w", r.env.Kubeconfig, err)
		}
		return cluster.TopologyFromAPI(nodes, "Kubernetes API at "+c.Server()+" (kubeconfig "+r.env.Kubeconfig+")")
	case len(r.env.Nodes) > 0:
		return cluster.ParseNodeFlags(r.env.Nodes)
	}
	return nil, errors.New("no nodes: give --inventory, --kubeconfig or --node")
}

// dial reaches n over SSH (known_hosts checked, sudo -n when the login is
// not root). An unknown host key is refused unless its fingerprint is the
// one the operator accepted for n (--accept-host-key); the refusal names
// that flag with the key's fingerprint.
func (r *run) dial(ctx context.Context, n cluster.Node) (remote.Node, error) {
	opts := remote.SSHOptions{Host: n.Name, HostName: n.Address.Value, User: n.User.Value, Port: n.Port.Value,
		AcceptHostKey: r.env.AcceptHostKeys[n.Name]}
	if opts.User == "" {
		if u, err := user.Current(); err == nil {
			opts.User = u.Username
		}
	}
	host, err := remote.DialSSH(ctx, opts)
	var unknown *remote.UnknownHostKeyError
	if errors.As(err, &unknown) {
		return nil, fmt.Errorf("%w; once checked, accept it with: --accept-host-key %s=%s", err, n.Name, unknown.Fingerprint)
	}
	return host, err
}

// nodeMember is n reached by host with its unit under the service
// manager its files show (systemd, OpenRC), checked by its supervisor (a
// server) or its CA file (an agent), then verified: etcd member health on
// an etcd server, node Ready in the API through the first server's admin
// kubeconfig. before are the members before it.
func (r *run) nodeMember(ctx context.Context, n cluster.Node, host remote.Node, before []rollout.Member) (rollout.Member, error) {
	p := r.env.Product
	unit := p.ServerUnit()
	if n.Role.Value == cluster.RoleAgent {
		unit = p.AgentUnit()
	}
	mgr, err := cluster.ServiceManagerOf(ctx, host, p, unit)
	if err != nil {
		return rollout.Member{}, err
	}
	svc := rollout.UnitService{Node: host, Unit: unit, Manager: mgr}
	m := rollout.Member{Node: n, Host: host, Service: svc, Version: cluster.NodeVersionProbe(host)}
	if n.Role.Value == cluster.RoleServer {
		m.Check = rollout.ServerCheck(fmt.Sprintf("https://%s", net.JoinHostPort(n.Address.Value, strconv.Itoa(p.SupervisorPort()))), r.env.Now)
		m.Verify = append(m.Verify, rollout.EtcdHealth{Host: host, Endpoint: "https://" + net.JoinHostPort(n.Address.Value, "2379"), Now: r.env.Now})
	} else {
		m.Check = rollout.AgentCheck(host, svc, p.DefaultDataDir(), r.env.Now)
	}
	// The API is asked through the first server's kubeconfig (the first
	// server through its own, rewritten at its restart).
	api := m
	if len(before) > 0 {
		api = before[0]
	}
	m.Verify = append(m.Verify, rollout.KubeReady{Node: n.Name, Server: api.Host, ServerName: api.Node.Name,
		Kubeconfig: p.AdminKubeconfig(), Address: api.Node.Address.Value, Now: r.env.Now})
	return m, nil
}

// resumeCommand runs the rollout again: it does only what is left. An
// undo's is the restore it follows, run again: the datastore holds the
// backup already (nothing written), so it goes on with what is left to
// put back.
func (r *run) resumeCommand(mode restartMode) string {
	if mode == restartPutBack && r.restoreFrom != "" {
		return restoreCommand(r.env, r.restoreFrom)
	}
	cmd := "k3sca run rollout -d " + r.env.DataDir + clusterArgs(r.env)
	if r.env.Parallel > 1 {
		cmd += fmt.Sprintf(" --parallel %d", r.env.Parallel)
	}
	return cmd + " --yes --confirm " + clusterName(r.env)
}

// clusterArgs are the flags a printed command needs to reach the same
// datastore and the same nodes, confirmed by the same name: the product
// and datastore path when not the defaults, where the nodes come from
// (--inventory even for a sandbox cluster's own, so a copied command
// never depends on where it is run) and --cluster-name when one was set
// (but a sandbox's own, "sandbox").
// Each starts with a space.
func clusterArgs(env Env) string {
	args := accessFlags(env.access())
	if env.ClusterKnown() {
		args += " " + env.clusterFlags()
		if env.ClusterName != "" && !(env.ClusterName == "sandbox" && node.IsSandbox(env.DataDir)) {
			args += " --cluster-name " + env.ClusterName
		}
	}
	return args
}

// allDone says every node of a dry run is done already: nothing to do (a
// node left stopped whose files are in line counts: running the rollout
// again would do nothing to it until someone starts it).
func allDone(rep *rollout.Report) bool {
	if rep == nil {
		return false
	}
	for _, n := range rep.Nodes {
		stoppedInLine := n.State == rollout.StateStopped && len(n.Edits) == 0 && n.Regenerate == "" && (n.Leaf == nil || n.Leaf.Left == "nothing")
		if n.State != rollout.StateDone && n.State != rollout.StateNotNeeded && !stoppedInLine {
			return false
		}
	}
	return true
}

// rolloutPlan is the preview, a dry run: per node, the token files it
// edits and what it restarts.
func rolloutPlan(rep *rollout.Report, source string) *Plan {
	p := &Plan{Title: "Dry run of the rollout to the nodes of " + source + " (nothing changed yet)"}
	if line := nodeVersionsLine(rep); line != "" {
		p.Add(ActCheck, "k3s versions", "%s", line)
	}
	for _, n := range rep.Nodes {
		switch {
		case n.State == rollout.StateNotNeeded:
			p.Add(ActCheck, n.Name, "%s: needs %s", n.Role, n.Needs)
			continue
		case n.State == rollout.StateDone && rep.ServersOnly:
			p.Add(ActCheck, n.Name, "%s: done (it holds the new service-account key and shows the CA; service %s)", n.Role, n.ServiceState)
			continue
		case n.State == rollout.StateDone:
			p.Add(ActCheck, n.Name, "%s: done (its tokens hold the new hash, it shows the new CA; service %s)", n.Role, n.ServiceState)
			continue
		case n.Error != "":
			p.Add(ActCheck, n.Name, "%s: %s", n.Role, n.Error)
			continue
		}
		for _, e := range n.Edits {
			if e.PutBack {
				p.Add(ActWrite, n.Name+":"+e.Path, "put back from %s (its bytes, mode, owner and mtime: the file as it was before the rollout)", e.Backup)
				continue
			}
			backup := "backup beside it"
			if e.Backup != "" {
				backup = "backup " + e.Backup
			}
			p.Add(ActWrite, n.Name+":"+e.Path, "the token's CA hash; %s", backup)
		}
		if n.State == rollout.StateStopped {
			if n.Regenerate != "" {
				p.Add(ActWrite, n.Name+":"+n.Regenerate, "empty trigger, 0600: at its next start its listener on 6443 issues its serving certificate again from the new server CA")
			}
			p.Add(ActCheck, n.Name, "%s: left stopped: %s", n.Role, n.Stopped)
			continue
		}
		if n.Shows == "" {
			p.Add(ActCheck, n.Name, "%s: runs on the new CA already (service %s): no restart", n.Role, n.ServiceState)
			continue
		}
		if n.Regenerate != "" {
			p.Add(ActWrite, n.Name+":"+n.Regenerate, "empty trigger, 0600: at the restart its listener on 6443 issues its serving certificate again from the new server CA")
		}
		waitFor := "it shows the new CA"
		if rep.ServersOnly {
			waitFor = "it holds the new service-account key and shows the CA"
		}
		p.Add(ActService, n.Name, "%s: restart%s, then wait until %s (service %s; now: %s)", n.Role, serviceHow(n.Service), waitFor, n.ServiceState, n.Shows)
	}
	p.Notes = []string{"servers one at a time, then agents; the first failure stops the rollout, the nodes after it stay untouched; running it again does only what is left"}
	if rep.PutBack {
		p.Title = "Dry run of the undo of the rollout to the nodes of " + source + " (nothing changed yet)"
		p.Notes[0] = "the undo: each token file a rollout rewrote is put back from the backup it made (a file changed since is refused, not overwritten); then servers one at a time, then agents, each checked against the restored CA; the first failure stops it, the nodes after it stay untouched; running it again does only what is left"
	}
	if rep.ServersOnly {
		p.Notes[0] = "servers only, one at a time (a service-account key: no token edits, agents need nothing); the first failure stops the rollout, the servers after it stay untouched; running it again does only what is left"
	}
	for _, n := range rep.Nodes {
		if n.Version != nil && n.Version.Version == "" {
			p.Notes = append(p.Notes, fmt.Sprintf("%s: k3s version unknown: %s", n.Name, n.Version.Unknown))
		}
		if n.Version != nil {
			for _, f := range n.Version.Findings {
				if f.Action != k3sver.Note {
					p.Notes = append(p.Notes, fmt.Sprintf("%s: %s: %s [%s]", n.Name, f.Action, f.Text, f.Source))
				}
			}
		}
		for _, e := range n.Edits {
			p.Notes = append(p.Notes, n.Name+": "+e.Diff)
		}
	}
	return p
}

// serviceHow is " (`rc-service k3s restart`; OpenRC script
// /etc/init.d/k3s)": the command a node's service restarts with and the
// file that says which manager runs it; "" when the service does not say.
func serviceHow(c *rollout.ServiceCommands) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf(" (%s; %s)", c.Restart, c.Source)
}

// nodeVersionsLine groups the nodes by the k3s version they run, in
// rollout order: "every node: v1.36.3+k3s1", or "s1, s3: v1.36.3+k3s1;
// s2: v1.31.1+k3s1; a1: unknown".
func nodeVersionsLine(rep *rollout.Report) string {
	var order []string
	by := map[string][]string{}
	for _, n := range rep.Nodes {
		if n.Version == nil {
			continue
		}
		v := n.Version.Version
		if v == "" {
			v = "unknown"
		}
		if _, ok := by[v]; !ok {
			order = append(order, v)
		}
		by[v] = append(by[v], n.Name)
	}
	if len(order) == 1 && len(by[order[0]]) == len(rep.Nodes) {
		return "every node: " + order[0]
	}
	var parts []string
	for _, v := range order {
		parts = append(parts, strings.Join(by[v], ", ")+": "+v)
	}
	return strings.Join(parts, "; ")
}

// rolloutOutcome is one line per node.
func rolloutOutcome(rep *rollout.Report) *Outcome {
	out := &Outcome{Data: rep}
	if rep == nil {
		return out
	}
	out.Summary = rep.Summary()
	for _, n := range rep.Nodes {
		if n.Stopped != "" {
			out.Warnings = append(out.Warnings, n.Name+": "+n.Stopped)
		}
		line := fmt.Sprintf("%s (%s): %s", n.Name, n.Role, n.State)
		if n.ServiceState != "" && n.ServiceState != rollout.ServiceActive {
			line += fmt.Sprintf(" (service %s before the rollout)", n.ServiceState)
		}
		if n.Needs != "" {
			line += "; needs " + n.Needs
		}
		if len(n.Edits) > 0 {
			var files []string
			for _, e := range n.Edits {
				files = append(files, e.Path)
			}
			switch {
			case rep.PutBack && rep.DryRun:
				line += "; puts back " + strings.Join(files, ", ")
			case rep.PutBack:
				line += "; put back " + strings.Join(files, ", ")
			case rep.DryRun:
				line += "; edits " + strings.Join(files, ", ")
			default:
				line += "; edited " + strings.Join(files, ", ")
			}
		}
		switch {
		case n.Regenerate == "":
		case rep.DryRun:
			line += "; writes " + n.Regenerate
		case n.Restarted:
			line += "; wrote " + n.Regenerate
		}
		if n.Restarted {
			line += "; restarted"
		}
		if n.Leaf != nil && n.Leaf.Service != "" {
			line += "; its service " + n.Leaf.Service
		}
		for _, v := range n.Verified {
			line += "; " + v.String()
		}
		if n.Error != "" {
			line += "; " + n.Error
		}
		out.Details = append(out.Details, line)
	}
	return out
}

// nodeList is the rollout's nodes as they stand, for the live view: one
// line per node, in rollout order, with a mark (✓ done, ✗ failed, ▸ at
// work, ○ left stopped, · not reached).
type nodeList struct {
	nodes []rollout.NodeReport
}

func newNodeList(planned *rollout.Report) *nodeList {
	l := &nodeList{}
	if planned != nil {
		for _, n := range planned.Nodes {
			l.nodes = append(l.nodes, rollout.NodeReport{Name: n.Name, Role: n.Role, State: rollout.StateUntouched})
		}
	}
	return l
}

func (l *nodeList) set(nr rollout.NodeReport) {
	for i := range l.nodes {
		if l.nodes[i].Name == nr.Name {
			l.nodes[i] = nr
			return
		}
	}
	l.nodes = append(l.nodes, nr)
}

// String is the list, one node a line.
func (l *nodeList) String() string {
	lines := make([]string, 0, len(l.nodes))
	for _, n := range l.nodes {
		mark, what := "·", "not reached"
		switch {
		case n.State == rollout.StateFailed:
			mark, what = "✗", "failed at "+n.Step
		case n.State == rollout.StateDone:
			mark, what = "✓", "done"
		case n.State == rollout.StateNotNeeded:
			mark, what = "✓", "not needed"
		case n.State == rollout.StateStopped:
			mark, what = "○", "left stopped (service "+string(n.ServiceState)+")"
		case n.Step != "":
			mark, what = "▸", n.Step
		}
		lines = append(lines, fmt.Sprintf("%s %s (%s) %s", mark, n.Name, n.Role, what))
	}
	return strings.Join(lines, "\n")
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
