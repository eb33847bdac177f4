package rollout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// ErrChangedMeanwhile means a token file changed between its probe and its
// edit: someone else is editing the node; probe again.
var ErrChangedMeanwhile = errors.New("the file changed since it was probed")

// Run carries opts.NewHash to every member, in the order given (servers
// first, then agents: cluster.Topology.RolloutOrder): every server one at
// a time, then the agents, opts.Parallel at once. It stops at the first
// failure: no member after it is started (agents already under way
// finish), and those stay untouched. The error is that failure; the
// report says where every node stands. Before all that, every member is
// asked for its k3s version: a version the table refuses for a rollout
// (k3sver.Decide) stops it before any node is touched, a
// *VersionRefusedError naming each such node and why.
func Run(ctx context.Context, p product.Product, members []Member, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	rep := &Report{NewHash: opts.NewHash, DryRun: opts.DryRun, ServersOnly: opts.ServersOnly, PutBack: opts.PutBack}
	if opts.Leaf != nil {
		since := opts.Leaf.Since.UTC()
		rep.LeafSince, rep.LeafSinceSource, rep.LeafServices, rep.ServersOnly = &since, opts.Leaf.SinceSource, opts.Leaf.Services, false
	}
	for _, m := range members {
		rep.Nodes = append(rep.Nodes, NodeReport{Name: m.Node.Name, Role: string(m.Node.Role.Value), Address: m.Node.Address.Value, State: StateUntouched})
	}
	if err := readVersions(ctx, p, members, opts, rep); err != nil {
		return rep, err
	}
	one := func(i int) error {
		m, nr := members[i], &rep.Nodes[i]
		if ok, why := opts.touches(m); !ok {
			nr.State, nr.Needs = StateNotNeeded, why
			opts.progress(*nr)
			return nil
		}
		node := runNode
		if opts.Leaf != nil {
			node = runLeafNode
		}
		if err := node(ctx, p, m, opts, nr); err != nil {
			nr.State, nr.Error = StateFailed, err.Error()
			opts.progress(*nr)
			return fmt.Errorf("node %s (%s), %s: %w", m.Node.Name, m.Node.Role.Value, nr.Step, err)
		}
		opts.progress(*nr)
		return nil
	}
	for i := 0; i < len(members); {
		if members[i].Node.Role.Value != cluster.RoleAgent {
			if err := one(i); err != nil {
				return rep, err
			}
			i++
			continue
		}
		j := i
		for j < len(members) && members[j].Node.Role.Value == cluster.RoleAgent {
			j++
		}
		if err := inParallel(i, j, opts.Parallel, one); err != nil {
			return rep, err
		}
		i = j
	}
	rep.OK = true
	return rep, nil
}

// inParallel runs one(i) for i in [from, to), at most n at once, in
// order; after the first error it starts no more and returns that error
// once the started ones are done.
func inParallel(from, to, n int, one func(int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil }
	slots := make(chan struct{}, n)
	for i := from; i < to; i++ {
		slots <- struct{}{}
		if failed() {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer func() { <-slots; wg.Done() }()
			if err := one(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	return first
}

func (o Options) withDefaults() Options {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.ReachWait <= 0 {
		o.ReachWait = 15 * time.Second
	}
	if o.Parallel < 1 {
		o.Parallel = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress != nil {
		var mu sync.Mutex
		f := o.Progress
		o.Progress = func(nr NodeReport) { mu.Lock(); defer mu.Unlock(); f(nr) }
	}
	return o
}

func (o Options) want() Want { return Want{Hash: o.NewHash, CA: o.NewCA, ServiceKey: o.NewServiceKey} }

func (o Options) progress(nr NodeReport) {
	if o.Progress != nil {
		o.Progress(nr)
	}
}

// runNode probes, plans, edits, restarts and checks one node.
func runNode(ctx context.Context, p product.Product, m Member, opts Options, nr *NodeReport) error {
	w, err := probeNode(ctx, p, m, opts, nr)
	if err != nil {
		return err
	}
	if opts.DryRun {
		return w.planOnly(ctx, opts, nr)
	}
	if err := w.edit(ctx, opts, nr); err != nil {
		return err
	}
	if w.state.Stopped() {
		// Left stopped: ready for its next start, which is the
		// operator's to make.
		if err := w.regenerate(ctx, opts, nr); err != nil {
			return err
		}
		nr.State, nr.Step = StateStopped, ""
		return nil
	}
	// A node on the new CA already (done before, or the server the load
	// ran on) is not restarted: its tokens matter at its next start,
	// which they now allow.
	if w.shows != nil {
		if err := w.restart(ctx, opts, nr); err != nil {
			return err
		}
	}
	nr.Step = "verify"
	opts.progress(*nr)
	if nr.Verified, err = verify(ctx, m, w.probe, opts, true); err != nil {
		return err
	}
	nr.State, nr.Step = StateDone, ""
	return nil
}

// nodeWork is what the probe of a node found and what is left to do on
// it: its service state, the token edits, the check of the new CA and
// what it shows now (nil: the node is on the new CA already).
type nodeWork struct {
	m     Member
	state ServiceState
	probe *cluster.ProbeResult
	plan  *cluster.Plan
	check Check
	shows error
}

// probeNode reads m's service state first (a node someone stopped is not
// started; one whose state is unknown is not touched), probes its token
// places, plans the edits and checks what CA it shows, filling nr's plan
// fields (edits, manual places, shows, trigger, stopped note).
func probeNode(ctx context.Context, p product.Product, m Member, opts Options, nr *NodeReport) (*nodeWork, error) {
	nr.Step = "probe"
	if d, ok := m.Service.(Describer); ok {
		c := d.Commands()
		nr.Service = &c
	}
	opts.progress(*nr)
	w := &nodeWork{m: m, plan: &cluster.Plan{}}
	var err error
	w.state, err = m.Service.State(ctx)
	nr.ServiceState = w.state
	if err != nil {
		return nil, fmt.Errorf("its service state is unknown, so k3sca touches nothing on it: %w", err)
	}
	if w.probe, err = cluster.Probe(ctx, m.Host, p); err != nil {
		return nil, err
	}
	// A servers-only change (the service-account key) keeps the CA: no
	// token needs a new hash.
	switch {
	case opts.ServersOnly:
	case opts.PutBack:
		if w.plan, err = putBackPlan(ctx, m.Host, w.probe, opts.NewHash); err != nil {
			nr.Step = "plan"
			return nil, err
		}
	default:
		if w.plan, err = cluster.PlanEdits(w.probe, opts.NewHash); err != nil {
			return nil, err
		}
	}
	for _, e := range w.plan.Edits {
		nr.Edits = append(nr.Edits, Edit{Path: e.Path, Diff: e.Diff, Backup: e.Backup, PutBack: e.Backup != ""})
	}
	for _, pl := range w.plan.Manual {
		nr.Manual = append(nr.Manual, pl.String())
	}
	if len(w.plan.Manual) > 0 {
		nr.Step = "plan"
		return nil, fmt.Errorf("%d token places cannot be rewritten by k3sca; edit them by hand first: %v", len(w.plan.Manual), nr.Manual)
	}
	w.check = nodeCheck(m, w.probe)
	caShows := m.Check(ctx, opts.want())
	w.shows = caShows
	if w.shows == nil {
		w.shows = w.check(ctx, opts.want())
	}
	if w.shows != nil {
		nr.Shows = w.shows.Error()
	}
	// The listener needs the trigger only when the server CA changes.
	if !opts.ServersOnly {
		nr.Regenerate = regenerateTrigger(m, w.probe, caShows)
	}
	if w.state.Stopped() {
		nr.Stopped = stoppedNote(p, m, w.state)
	}
	return w, nil
}

// planOnly finishes a dry run's report of the node: the backup names the
// edits would take, the state it would end in, and what it verifies now
// when it is on the new CA already.
func (w *nodeWork) planOnly(ctx context.Context, opts Options, nr *NodeReport) error {
	for i, e := range w.plan.Edits {
		if e.Backup != "" {
			continue // put back from it
		}
		var err error
		if nr.Edits[i].Backup, err = plannedBackup(ctx, w.m.Host, e.Path, opts.Now()); err != nil {
			return err
		}
	}
	nr.State, nr.Step = StatePlanned, ""
	switch {
	case w.state.Stopped():
		nr.State = StateStopped
	case len(w.plan.Edits) == 0 && w.shows == nil:
		nr.State = StateDone
	}
	if w.shows == nil && !w.state.Stopped() {
		nr.Verified, _ = verify(ctx, w.m, w.probe, opts, false)
	}
	return nil
}

// edit makes the planned token edits (each file backed up beside itself
// first) or puts files back from the rollout's backups.
func (w *nodeWork) edit(ctx context.Context, opts Options, nr *NodeReport) error {
	if len(w.plan.Edits) == 0 {
		return nil
	}
	nr.Step = "edit"
	opts.progress(*nr)
	for i, e := range w.plan.Edits {
		if e.Backup != "" {
			if err := putBack(ctx, w.m.Host, e); err != nil {
				return err
			}
			nr.Changed = true
			continue
		}
		backup, err := writeEdit(ctx, w.m.Host, e, opts.Now())
		nr.Edits[i].Backup = backup
		if err != nil {
			return err
		}
		nr.Changed = true
	}
	return nil
}

// regenerate writes the listener's trigger when the node needs one.
func (w *nodeWork) regenerate(ctx context.Context, opts Options, nr *NodeReport) error {
	if nr.Regenerate == "" {
		return nil
	}
	nr.Step = "regenerate"
	if err := writeRegenerateTrigger(ctx, w.m.Host, nr.Regenerate, opts.Now()); err != nil {
		return err
	}
	nr.Changed = true
	return nil
}

// restart writes the trigger, restarts the node's service and waits until
// it shows the new CA.
func (w *nodeWork) restart(ctx context.Context, opts Options, nr *NodeReport) error {
	if err := w.regenerate(ctx, opts, nr); err != nil {
		return err
	}
	nr.Step = "restart"
	opts.progress(*nr)
	if err := w.m.Service.Restart(ctx); err != nil {
		return err
	}
	nr.Restarted, nr.Changed = true, true
	nr.Step = "check"
	opts.progress(*nr)
	if err := waitFor(ctx, w.check, opts); err != nil {
		nr.Shows = err.Error()
		return err
	}
	nr.Shows = ""
	return nil
}

// stoppedNote says a node is left stopped, and what to do.
func stoppedNote(p product.Product, m Member, state ServiceState) string {
	return fmt.Sprintf("its service was %s before the rollout: k3sca does not start a node someone stopped; its token files are brought in line for its next start, but it is not verified. Start it when you mean to (%s), then run this again to verify it", state, startCommand(p, m))
}

// startCommand is how m's service is started: "`systemctl start k3s`",
// or "start <unit>" when the service does not say.
func startCommand(p product.Product, m Member) string {
	if c, ok := m.Service.(StartCommander); ok {
		return "`" + c.StartCommand() + "`"
	}
	return "start " + memberUnit(p, m)
}

// plannedBackup is the backup name WriteFile takes for p at now: the
// first of remote.BackupName(p, now) and its ".2", ".3", … not taken on
// h. (A backup of the same bytes left by a writer that was stopped is
// reused instead; the run's report names the one it used.)
func plannedBackup(ctx context.Context, h Host, p string, now time.Time) (string, error) {
	base := remote.BackupName(p, now.Unix())
	for n := 1; n <= 1000; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s.%d", base, n)
		}
		_, err := h.ReadFile(ctx, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return name, nil
		case err != nil:
			return "", fmt.Errorf("the backup name for %s: %w", p, err)
		}
	}
	return "", fmt.Errorf("no free backup name for %s", base)
}

// writeEdit rewrites one token file if it still holds what was probed.
func writeEdit(ctx context.Context, h Host, e cluster.FileEdit, now time.Time) (string, error) {
	cur, err := h.ReadFile(ctx, e.Path)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(cur, e.Old) {
		return "", fmt.Errorf("%s: %w", e.Path, ErrChangedMeanwhile)
	}
	backup, err := h.WriteFile(ctx, e.Path, e.New, remote.WriteOptions{Now: now})
	if err != nil {
		return backup, fmt.Errorf("write %s: %w", e.Path, err)
	}
	return backup, nil
}

// waitFor polls check until it passes or opts.Timeout elapses.
func waitFor(ctx context.Context, check Check, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	for {
		err := check(ctx, opts.want())
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not showing the new CA within %s: %w", opts.Timeout, err)
		case <-time.After(opts.Poll):
		}
	}
}

// nodeCheck is m's check with, on a server when a service key is wanted,
// the key check first: it holds the new service.key (so it started after
// the load) and then shows the new CA.
func nodeCheck(m Member, probe *cluster.ProbeResult) Check {
	if m.Node.Role.Value != cluster.RoleServer {
		return m.Check
	}
	file := path.Join(probe.DataDir.Value, "server", "tls", "service.key")
	return func(ctx context.Context, want Want) error {
		if want.ServiceKey != nil {
			b, err := m.Host.ReadFile(ctx, file)
			if err != nil {
				return fmt.Errorf("the service-account key: %w", err)
			}
			if !bytes.Equal(b, want.ServiceKey) {
				return fmt.Errorf("%s is not the new service-account key: the server has not started since the load", file)
			}
		}
		return m.Check(ctx, want)
	}
}
