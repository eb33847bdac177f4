package rollout

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// Leaf is a leaf-certificate rotation carried to the nodes of a cluster
// (Options.Leaf): on each node what `k3s certificate rotate` does there
// (its service stopped, the leaf certificates of the chosen services
// backed up and removed, the listener's regenerate trigger written for
// k3s-server; pki.PlanLeafRotationOn, the plan the one-node flow uses),
// then the service started so k3s issues them again, checked and
// verified. Servers go one at a time, then agents. No token changes: the
// CA, and so its hash, stays.
//
// A node is done, from what it says (no state file), when it holds a
// leaf backup made at or after Since (<data-dir>/server/tls-<unix>, or
// <data-dir>/agent/tls-<unix> on an agent, with unix >= Since.Unix(): the
// name k3s's own `certificate rotate` gives it too), every certificate of
// the chosen services is present and is not the one in that backup (its
// serial differs), on a server rotating k3s-server the regenerate trigger
// is consumed and the listener serves another certificate than the one
// the backup's dynamic-cert.json holds, its service is active, and it
// shows the cluster's CA, unchanged (Member.Check). A rerun after a
// failure or a crash with the same Since does only what is left: start
// k3s (the files were removed), remove and start (backed up only), or
// the whole rotation (no backup since Since).
//
// A node someone stopped (its service inactive, with no stop marker of
// k3sca's) is not started, as in a CA rollout: its certificates are
// backed up and removed (k3s issues them again at its next start) and it
// is reported stopped with the command that starts it, not verified.
// Before k3sca stops a running node it writes a stop marker
// (<backup parent>/.k3sca-leaf-stopped), removed once k3s is started
// again: a rerun after a crash between the stop and the start finds the
// marker and starts the node, which k3sca stopped, not its operator.
type Leaf struct {
	// Services are k3s service names (`certificate rotate --service`);
	// empty: k3s's default on each node (every service on a server, the
	// agent's on an agent).
	Services []string
	// Since is the rotation's start: a node with a leaf backup made at or
	// after it is rotated already.
	Since time.Time
	// SinceSource says where Since came from ("--rotated-since", this
	// run's start, a node's newest leaf backup): the report repeats it.
	SinceSource string
	// Nodes, when set, are the only nodes rotated (by name); the others
	// are reported not needed.
	Nodes []string
}

// NodeLeaf is one node's leaf rotation, in its NodeReport.
type NodeLeaf struct {
	// Services are the resolved service names on this node.
	Services []string `json:"services"`
	// Left is what was left to do on the node when the run reached it:
	// "nothing", "start", "remove, start" or "stop, back up, remove,
	// start"; Why says what the node showed.
	Left string `json:"left"`
	Why  string `json:"why,omitempty"`
	// Backup is the rotation's backup dir on the node: the one found, or
	// the one made (to be made, in a dry run).
	Backup string `json:"backup,omitempty"`
	// Remove are the files removed (to be removed, in a dry run);
	// Regenerate the listener's trigger written.
	Remove     []string `json:"remove,omitempty"`
	Regenerate string   `json:"regenerate,omitempty"`
	// Certs are the chosen services' certificates: serial in the backup
	// and now.
	Certs []LeafCert `json:"certs,omitempty"`
	// StopMarker is the marker written before the stop (see Leaf), when
	// the node is stopped (to be, in a dry run).
	StopMarker string `json:"stopMarker,omitempty"`
	// Stopped says this run stopped the node's service; Service is its
	// state when the run left the node: "active", "inactive" or
	// "unknown (why)".
	Stopped bool   `json:"stopped"`
	Service string `json:"service,omitempty"`
}

// LeafStopMarker is the name of the stop marker (see Leaf), beside the
// node's leaf backups.
const LeafStopMarker = ".k3sca-leaf-stopped"

// LeafCert is one certificate of a leaf rotation on a node.
type LeafCert struct {
	// Path is the file ("listener" for the serving certificate the
	// supervisor presents).
	Path string `json:"path"`
	// Before is its serial in the backup ("" when the backup has none);
	// Now its serial now ("" when missing), issued NotBefore.
	Before    string    `json:"before,omitempty"`
	Now       string    `json:"now,omitempty"`
	NotBefore time.Time `json:"notBefore,omitzero"`
}

// Stopper is a Service that can be stopped (a leaf rotation removes
// files with k3s stopped, as `k3s certificate rotate` must be run).
type Stopper interface {
	Stop(ctx context.Context) error
}

var _ Stopper = UnitService{}

// Stop stops the unit: `systemctl stop <unit>` or `rc-service <unit>
// stop`.
func (s UnitService) Stop(ctx context.Context) error {
	argv := []string{"systemctl", "stop", s.Unit}
	if s.Manager.Value == cluster.ManagerOpenRC {
		argv = []string{"rc-service", s.Unit, "stop"}
	}
	if _, _, err := s.Node.Run(ctx, argv); err != nil {
		return fmt.Errorf("stop %s on %s: %w", s.Unit, s.Node.Endpoint(), err)
	}
	return nil
}

// ServingProbe returns the certificate chain a server's supervisor
// listener presents (Member.Serving).
type ServingProbe func(ctx context.Context) ([]*x509.Certificate, error)

// leafHost is a member's host with what a leaf rotation needs beyond
// Host: stat, remove and rename (remote.Node and remote.FileOps).
type leafHost interface {
	Host
	Stat(ctx context.Context, path string) (remote.FileInfo, error)
	remote.FileOps
}

// leafWork is what is left of a node's leaf rotation, least first.
type leafWork int

const (
	leafNone leafWork = iota
	leafStart
	leafRemove
	leafRotate
)

func (w leafWork) String() string {
	return [...]string{"nothing", "start", "remove, start", "stop, back up, remove, start"}[w]
}

// leftStopped is what is left of w on a node left stopped: no stop, no
// start (its next start is its operator's).
func (w leafWork) leftStopped() string {
	return [...]string{"nothing", "nothing", "remove", "back up, remove"}[w]
}

// leafState is what a node says of its leaf rotation.
type leafState struct {
	plan *pki.LeafRotationPlan
	// backup is the rotation's backup found on the node ("" none).
	backup string
	work   leafWork
	why    []string
	certs  []LeafCert
	// stale are the files to remove when work is leafRemove: those
	// still as in the backup.
	stale []string
	// listenerStale: the listener serves the backed-up certificate.
	listenerStale bool
	// marker is the stop marker's path; marked that it is there (k3sca
	// stopped the node and has not started it since).
	marker string
	marked bool
}

func (s *leafState) need(w leafWork, format string, args ...any) {
	s.work = max(s.work, w)
	s.why = append(s.why, fmt.Sprintf(format, args...))
}

// touches says whether the rollout does anything to m, and if not why.
func (o Options) touches(m Member) (bool, string) {
	switch {
	case o.Leaf != nil && len(o.Leaf.Nodes) > 0 && !slices.Contains(o.Leaf.Nodes, m.Node.Name):
		return false, "nothing: not one of the nodes named for the rotation"
	case o.Leaf == nil && o.ServersOnly && m.Node.Role.Value == cluster.RoleAgent:
		return false, "nothing: a service-account key change restarts servers only (agents keep running; pods get tokens signed by the new key as they renew them)"
	}
	return true, ""
}

// runLeafNode carries the leaf rotation to one node (see Leaf).
func runLeafNode(ctx context.Context, p product.Product, m Member, opts Options, nr *NodeReport) error {
	nr.Step = "probe"
	if d, ok := m.Service.(Describer); ok {
		c := d.Commands()
		nr.Service = &c
	}
	opts.progress(*nr)
	// The service's state first: a node someone stopped is not started.
	state, err := m.Service.State(ctx)
	nr.ServiceState = state
	if err != nil {
		return fmt.Errorf("its service state is unknown, so k3sca touches nothing on it: %w", err)
	}
	h, ok := m.Host.(leafHost)
	if !ok {
		return errors.New("the node's transport cannot remove files: no leaf rotation over it")
	}
	probe, err := cluster.Probe(ctx, m.Host, p)
	if err != nil {
		return err
	}
	dataDir := probe.DataDir.Value
	st, err := readLeafState(ctx, p, m, h, dataDir, opts)
	if err != nil {
		return err
	}
	nl := &NodeLeaf{Services: st.plan.Services, Left: st.work.String(), Why: strings.Join(st.why, "; "), Backup: st.backup, Certs: st.certs}
	nr.Leaf = nl
	switch st.work {
	case leafRotate:
		nl.Backup, nl.Remove = st.plan.BackupDir, st.plan.Remove
	case leafRemove:
		nl.Remove = st.stale
	}
	if st.plan.Regenerate && (st.work == leafRotate || st.listenerStale) {
		nl.Regenerate = pki.RegenerateTriggerPath(product.ServerDir(dataDir))
	}
	// Stopped by someone, not by k3sca (no marker of its stop): rotated
	// for its next start, left stopped.
	if state.Stopped() && !st.marked {
		return leafStoppedNode(ctx, p, h, m, st, state, opts, nr)
	}
	if st.work >= leafRemove {
		nl.StopMarker = st.marker
	}
	if opts.DryRun {
		nr.State, nr.Step = StatePlanned, ""
		if st.work == leafNone {
			nr.State = StateDone
			nr.Verified, _ = verify(ctx, m, probe, opts, false)
		}
		return nil
	}
	if st.work == leafNone && st.marked {
		// Started since k3sca stopped it (a run killed after the start):
		// the marker has said all it had to.
		if err := h.Remove(ctx, st.marker); err != nil {
			return err
		}
	}
	if st.work != leafNone {
		if err := leafApply(ctx, h, m, st, opts, nr); err != nil {
			nl.Service = serviceState(ctx, m.Service)
			return err
		}
		nr.Step = "check"
		opts.progress(*nr)
		check := func(ctx context.Context, _ Want) error {
			now, err := readLeafState(ctx, p, m, h, dataDir, opts)
			if err != nil {
				return err
			}
			if now.work != leafNone {
				return errors.New(strings.Join(now.why, "; "))
			}
			nl.Certs = now.certs
			return nil
		}
		if err := waitFor(ctx, check, opts); err != nil {
			nr.Shows = err.Error()
			nl.Service = serviceState(ctx, m.Service)
			return err
		}
	}
	nr.Step = "verify"
	opts.progress(*nr)
	nr.Verified, err = verify(ctx, m, probe, opts, true)
	nl.Service = serviceState(ctx, m.Service)
	if err != nil {
		return err
	}
	nr.State, nr.Step = StateDone, ""
	return nil
}

// leafApply does what is left of st on the node: with k3s stopped (its
// stop marker written first), the backup and the removal (as much as is
// left), then the start, and the marker removed. A failure after the stop
// starts the service again, so no node is left down by the rollout; the
// error says whether that start worked.
func leafApply(ctx context.Context, h leafHost, m Member, st *leafState, opts Options, nr *NodeReport) error {
	nl := nr.Leaf
	if st.work >= leafRemove {
		stopper, ok := m.Service.(Stopper)
		if !ok {
			return errors.New("the node's service cannot be stopped: no leaf rotation on it")
		}
		nr.Step = "stop"
		opts.progress(*nr)
		if err := writeStopMarker(ctx, h, st, opts.Now()); err != nil {
			return err
		}
		if err := stopper.Stop(ctx); err != nil {
			return startAgain(ctx, h, m, st, nr, err)
		}
		nl.Stopped, nr.Changed = true, true
		if err := leafFiles(ctx, h, st, opts, nr); err != nil {
			return startAgain(ctx, h, m, st, nr, err)
		}
	}
	nr.Step = "start"
	opts.progress(*nr)
	if err := m.Service.Restart(ctx); err != nil {
		return err
	}
	nr.Restarted, nr.Changed = true, true
	return removeStopMarker(ctx, h, st)
}

// leafFiles is the part of st done with k3s down: the backup (when none
// was made), the removal (as much as is left), the trigger.
func leafFiles(ctx context.Context, h leafHost, st *leafState, opts Options, nr *NodeReport) error {
	nl := nr.Leaf
	if st.work == leafRotate {
		nr.Step = "back up"
		opts.progress(*nr)
		if err := copyLeafBackup(ctx, h, st.plan, opts.Now()); err != nil {
			return err
		}
		nr.Changed = true
	}
	nr.Step = "remove"
	opts.progress(*nr)
	for _, f := range nl.Remove {
		if err := h.Remove(ctx, f); err != nil {
			return err
		}
		nr.Changed = true
	}
	// The trigger last: a removal that failed leaves the listener's
	// certificate as it was too.
	if nl.Regenerate != "" {
		if err := writeRegenerateTrigger(ctx, h, nl.Regenerate, opts.Now()); err != nil {
			return err
		}
	}
	return nil
}

// leafStoppedNode is runLeafNode on a node someone stopped: what is left
// of its rotation but the stop and the start (its certificates backed up
// and removed, k3s issues them at its next start), then it is reported
// stopped, with the command that starts it; it is not verified.
func leafStoppedNode(ctx context.Context, p product.Product, h leafHost, m Member, st *leafState, state ServiceState, opts Options, nr *NodeReport) error {
	nl := nr.Leaf
	nl.Left = st.work.leftStopped()
	nr.Stopped = leafStoppedNote(p, m, state)
	if !opts.DryRun && st.work >= leafRemove {
		if err := leafFiles(ctx, h, st, opts, nr); err != nil {
			nl.Service = serviceState(ctx, m.Service)
			return fmt.Errorf("%w (its service left %s, as it was found)", err, state)
		}
	}
	nl.Service = serviceState(ctx, m.Service)
	nr.State, nr.Step = StateStopped, ""
	return nil
}

// leafStoppedNote says a node is left stopped, and what to do.
func leafStoppedNote(p product.Product, m Member, state ServiceState) string {
	return fmt.Sprintf("its service was %s before the rollout: k3sca does not start a node someone stopped; its leaf certificates are backed up and removed, and k3s issues them again at its next start, but it is not verified. Start it when you mean to (%s), then run this again to verify it", state, startCommand(p, m))
}

// startAgain starts the service after a failure that came after (or
// during) its stop, and returns the failure with what became of it.
func startAgain(ctx context.Context, h leafHost, m Member, st *leafState, nr *NodeReport, failure error) error {
	if err := m.Service.Restart(ctx); err != nil {
		return fmt.Errorf("%w; starting the service again failed too: %w", failure, err)
	}
	nr.Restarted = true
	if err := removeStopMarker(ctx, h, st); err != nil {
		return fmt.Errorf("%w (the service was started again, the rotation left as it was); %w", failure, err)
	}
	return fmt.Errorf("%w (the service was started again, the rotation left as it was)", failure)
}

// writeStopMarker writes the stop marker (see Leaf), unless a run before
// left it.
func writeStopMarker(ctx context.Context, h leafHost, st *leafState, now time.Time) error {
	if st.marked {
		return nil
	}
	body := "k3sca stopped k3s here for a leaf rotation at " + now.UTC().Format(time.RFC3339) + "; a rerun of the rollout starts it again\n"
	if _, err := h.WriteFile(ctx, st.marker, []byte(body), remote.WriteOptions{Now: now, Mode: 0o600}); err != nil {
		return fmt.Errorf("stop marker: %w", err)
	}
	return nil
}

// removeStopMarker removes the stop marker once k3s is started again.
func removeStopMarker(ctx context.Context, h leafHost, st *leafState) error {
	if err := h.Remove(ctx, st.marker); err != nil {
		return fmt.Errorf("the stop marker: %w", err)
	}
	return nil
}

// serviceState is its State ("active", "inactive", "failed", …) or
// "unknown (why)".
func serviceState(ctx context.Context, s Service) string {
	state, err := s.State(ctx)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return string(state)
}

// readLeafState reads what the node says of the rotation (see Leaf).
func readLeafState(ctx context.Context, p product.Product, m Member, h leafHost, dataDir string, opts Options) (*leafState, error) {
	plan, err := pki.PlanLeafRotationOn(p, dataDir, opts.Leaf.Services, opts.Now(), nodeLstat(ctx, h))
	if err != nil {
		return nil, err
	}
	st := &leafState{plan: plan, marker: path.Join(path.Dir(plan.BackupDir), LeafStopMarker)}
	fi, err := h.Stat(ctx, st.marker)
	if err != nil {
		return nil, err
	}
	st.marked = fi.Exists
	if st.backup, _, err = NewestLeafBackup(ctx, h, path.Dir(plan.BackupDir), opts.Leaf.Since); err != nil {
		return nil, err
	}
	if st.backup == "" {
		st.need(leafRotate, "no leaf backup made since %s (%s/tls-<unix>)", opts.Leaf.Since.UTC().Format(time.RFC3339), path.Dir(plan.BackupDir))
		return st, nil
	}
	anyStale := false
	for _, f := range plan.Files {
		if !strings.HasSuffix(f, ".crt") {
			continue
		}
		lc := LeafCert{Path: f}
		cur, err := firstCert(ctx, h, f)
		if err != nil {
			return nil, err
		}
		var old *x509.Certificate
		for _, b := range backupCopies(plan, st.backup, f) {
			if old, err = firstCert(ctx, h, b); err != nil {
				return nil, err
			}
			if old != nil {
				break
			}
		}
		if old != nil {
			lc.Before = serialHex(old)
		}
		switch {
		case cur == nil && old == nil:
			continue // not there before the rotation either: k3s does not issue it
		case cur == nil:
			st.need(leafStart, "%s is missing: k3s has not started since it was removed", f)
		case old != nil && cur.SerialNumber.Cmp(old.SerialNumber) == 0:
			st.need(leafRemove, "%s is still the certificate in the backup", f)
			st.stale = append(st.stale, pairOf(plan, f)...)
			anyStale = true
		}
		if cur != nil {
			lc.Now, lc.NotBefore = serialHex(cur), cur.NotBefore.UTC()
		}
		st.certs = append(st.certs, lc)
	}
	if anyStale {
		// Files with no certificate of their own (the kubelet's keys in
		// server/tls) go with the stale ones.
		for _, f := range plan.Remove {
			if strings.HasSuffix(f, ".key") && !slices.Contains(plan.Files, strings.TrimSuffix(f, ".key")+".crt") {
				st.stale = append(st.stale, f)
			}
		}
	}
	if plan.Regenerate {
		if err := listenerState(ctx, m, h, dataDir, st); err != nil {
			return nil, err
		}
	}
	active, err := m.Service.IsActive(ctx)
	switch {
	case err != nil:
		return nil, err
	case !active:
		st.need(leafStart, "its service is not running")
	}
	if st.work == leafNone {
		if err := m.Check(ctx, opts.want()); err != nil {
			st.need(leafStart, "it does not show the cluster's CA: %v", err)
		}
	}
	return st, nil
}

// listenerState is the k3s-server part of a node's state: the trigger
// consumed, the listener serving another certificate than the backup's.
func listenerState(ctx context.Context, m Member, h leafHost, dataDir string, st *leafState) error {
	server := product.ServerDir(dataDir)
	trigger := pki.RegenerateTriggerPath(server)
	fi, err := h.Stat(ctx, trigger)
	if err != nil {
		return err
	}
	if fi.Exists {
		st.need(leafStart, "%s is not consumed: k3s has not started since it was written", trigger)
		return nil
	}
	old, err := cachedServingCert(ctx, h, path.Join(st.backup, strings.TrimPrefix(pki.DynamicCertCache, pki.TLSDir+"/")))
	if err != nil || old == nil || m.Serving == nil {
		// No backed-up listener certificate to compare with (or no way to
		// ask the listener): the trigger consumed is what there is.
		return err
	}
	lc := LeafCert{Path: "listener", Before: serialHex(old)}
	chain, err := m.Serving(ctx)
	if err != nil {
		st.need(leafStart, "the listener does not answer: %v", err)
		st.certs = append(st.certs, lc)
		return nil
	}
	lc.Now, lc.NotBefore = serialHex(chain[0]), chain[0].NotBefore.UTC()
	st.certs = append(st.certs, lc)
	if chain[0].SerialNumber.Cmp(old.SerialNumber) == 0 {
		st.need(leafRemove, "the listener still serves the certificate in the backup")
		st.listenerStale = true
	}
	return nil
}

// pairOf is f and its key, those of them the plan removes.
func pairOf(plan *pki.LeafRotationPlan, crt string) []string {
	var out []string
	for _, f := range []string{crt, strings.TrimSuffix(crt, ".crt") + ".key"} {
		if slices.Contains(plan.Remove, f) || f == crt {
			out = append(out, f)
		}
	}
	return out
}

// backupCopies are where a backup holds the copy of f: under the tls
// dir's copy, or, for an agent file, in its agent folder (k3sca's
// layout) or by base name (k3s's).
func backupCopies(plan *pki.LeafRotationPlan, backup, f string) []string {
	tls := path.Join(product.ServerDir(plan.DataDir), pki.TLSDir) + "/"
	switch {
	case strings.HasPrefix(f, tls) && plan.TLSDir == "":
		return nil // no server dir: nothing of it was backed up
	case strings.HasPrefix(f, tls):
		return []string{path.Join(backup, strings.TrimPrefix(f, tls))}
	}
	if plan.TLSDir != "" && plan.AgentBackupDir != "" {
		return []string{path.Join(backup, path.Base(plan.AgentBackupDir), path.Base(f)), path.Join(backup, path.Base(f))}
	}
	return []string{path.Join(backup, path.Base(f))}
}

// NodeFiles lists and stats a node's files (remote.Node has them).
type NodeFiles interface {
	Glob(ctx context.Context, pattern string) ([]string, error)
	Stat(ctx context.Context, path string) (remote.FileInfo, error)
}

// NewestLeafBackup is the newest leaf backup dir in dir (tls-<unix>,
// pki.LeafBackupName) made at or after since, and its time; "" when there
// is none. A hidden partial copy (a backup a crash left half-made) is not
// one.
func NewestLeafBackup(ctx context.Context, h NodeFiles, dir string, since time.Time) (string, time.Time, error) {
	found, err := h.Glob(ctx, path.Join(dir, "tls-*"))
	if err != nil {
		return "", time.Time{}, err
	}
	var (
		best   string
		bestAt time.Time
	)
	for _, f := range found {
		at, ok := pki.LeafBackupTime(path.Base(f))
		if !ok || at.Unix() < since.Unix() || (best != "" && !at.After(bestAt)) {
			continue
		}
		fi, err := h.Stat(ctx, f)
		if err != nil {
			return "", time.Time{}, err
		}
		if fi.Exists && !fi.Symlink && fi.Mode.IsDir() {
			best, bestAt = f, at
		}
	}
	return best, bestAt, nil
}

// partialSuffix ends the name of a backup being copied.
const partialSuffix = ".k3sca-partial"

// copyLeafBackup makes the plan's backup on the node (pki's layout: the
// tls dir whole, the agent's files in their own folder) in a hidden
// partial dir, renamed to its name once complete: a backup dir with the
// rotation's name is always whole.
func copyLeafBackup(ctx context.Context, h leafHost, plan *pki.LeafRotationPlan, now time.Time) error {
	final := plan.BackupDir
	partial := path.Join(path.Dir(final), "."+path.Base(final)+partialSuffix)
	// Every partial copy a crash left goes first (a run before had
	// another clock, so another name): none is a backup.
	left, err := h.Glob(ctx, path.Join(path.Dir(final), ".tls-*"+partialSuffix))
	if err != nil {
		return fmt.Errorf("back up: %w", err)
	}
	for _, p := range append(left, partial) {
		if err := removeTree(ctx, h, p); err != nil {
			return fmt.Errorf("back up: %w", err)
		}
	}
	wrote := false
	for _, c := range plan.Backups() {
		to := partial
		if c.To != final {
			to = path.Join(partial, strings.TrimPrefix(c.To, final+"/"))
		}
		var err error
		if c.Dir {
			err = copyTree(ctx, h, c.From, to, now)
		} else {
			err = copyNodeFile(ctx, h, c.From, to, now)
		}
		if err != nil {
			return fmt.Errorf("back up %s: %w", c.From, err)
		}
		wrote = true
	}
	if !wrote {
		// Nothing to copy: the dir is made all the same, as k3s makes it,
		// and tells a rerun the node was rotated.
		if _, err := h.WriteFile(ctx, path.Join(partial, ".k3sca-empty"), nil, remote.WriteOptions{Now: now, DirMode: 0o700}); err != nil {
			return fmt.Errorf("back up: %w", err)
		}
	}
	if err := h.Rename(ctx, partial, final); err != nil {
		return fmt.Errorf("back up: %w", err)
	}
	return nil
}

// copyTree copies the dir from to the new dir to, on the node; a symlink
// is refused, as pki's Apply refuses it.
func copyTree(ctx context.Context, h leafHost, from, to string, now time.Time) error {
	entries, err := h.Glob(ctx, path.Join(from, "*"))
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		_, err := h.WriteFile(ctx, path.Join(to, ".k3sca-empty"), nil, remote.WriteOptions{Now: now, DirMode: 0o700})
		return err
	}
	for _, e := range entries {
		fi, err := h.Stat(ctx, e)
		if err != nil {
			return err
		}
		target := path.Join(to, path.Base(e))
		switch {
		case fi.Symlink:
			return fmt.Errorf("%s: %w", e, remote.ErrSymlink)
		case !fi.Exists:
		case fi.Mode.IsDir():
			if err := copyTree(ctx, h, e, target, now); err != nil {
				return err
			}
		default:
			if err := copyNodeFile(ctx, h, e, target, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyNodeFile copies one file on the node to a new path, mode, owner
// and mtime kept; a missing file is skipped.
func copyNodeFile(ctx context.Context, h leafHost, from, to string, now time.Time) error {
	fi, err := h.Stat(ctx, from)
	if err != nil || !fi.Exists {
		return err
	}
	if fi.Symlink {
		return fmt.Errorf("%s: %w", from, remote.ErrSymlink)
	}
	b, err := h.ReadFile(ctx, from)
	if err != nil {
		return err
	}
	_, err = h.WriteFile(ctx, to, b, remote.WriteOptions{Now: now, Mode: fi.Mode.Perm(), Owner: &remote.Owner{UID: fi.UID, GID: fi.GID},
		ModTime: fi.ModTime, DirMode: 0o700})
	return err
}

// removeTree removes p and all under it; a missing p is no error.
func removeTree(ctx context.Context, h leafHost, p string) error {
	fi, err := h.Stat(ctx, p)
	if err != nil || (!fi.Exists && !fi.Symlink) {
		return err
	}
	if fi.Mode.IsDir() && !fi.Symlink {
		entries, err := h.Glob(ctx, path.Join(p, "*"))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := removeTree(ctx, h, e); err != nil {
				return err
			}
		}
	}
	return h.Remove(ctx, p)
}

// nodeLstat is pki.Lstat on the node h.
func nodeLstat(ctx context.Context, h leafHost) pki.Lstat {
	return func(p string) (bool, bool, error) {
		fi, err := h.Stat(ctx, p)
		if err != nil {
			return false, false, err
		}
		if fi.Symlink {
			return true, false, nil
		}
		return fi.Exists, fi.Exists && fi.Mode.IsDir(), nil
	}
}

// readIfExists is the content of the file p on the node; nil when the file
// is missing.
func readIfExists(ctx context.Context, h leafHost, p string) ([]byte, error) {
	fi, err := h.Stat(ctx, p)
	if err != nil || !fi.Exists {
		return nil, err
	}
	b, err := h.ReadFile(ctx, p)
	if b == nil && err == nil {
		b = []byte{}
	}
	return b, err
}

// firstCert is the first certificate of the PEM file p on the node; nil
// when the file is missing or holds no certificate.
func firstCert(ctx context.Context, h leafHost, p string) (*x509.Certificate, error) {
	b, err := readIfExists(ctx, h, p)
	if b == nil || err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertsPEM(b)
	if err != nil || len(certs) == 0 {
		return nil, nil
	}
	return certs[0], nil
}

// cachedServingCert is the certificate in a dynamiclistener cache file
// (a Secret with data tls.crt); nil when there is none.
func cachedServingCert(ctx context.Context, h leafHost, p string) (*x509.Certificate, error) {
	b, err := readIfExists(ctx, h, p)
	if b == nil || err != nil {
		return nil, err
	}
	var s struct {
		Data map[string][]byte `json:"data"`
	}
	if json.Unmarshal(b, &s) != nil {
		return nil, nil
	}
	certs, err := pki.ParseCertsPEM(s.Data["tls.crt"])
	if err != nil || len(certs) == 0 {
		return nil, nil
	}
	return certs[0], nil
}

// serialHex is a certificate's serial in hex.
func serialHex(c *x509.Certificate) string { return c.SerialNumber.Text(16) }

// ListenerChain is the ServingProbe of the supervisor at url
// (https://host:port): the chain its listener presents. It reads the
// chain only; that it chains to the cluster's CA is ServerCheck's.
func ListenerChain(url string) ServingProbe {
	return func(ctx context.Context) ([]*x509.Certificate, error) {
		addr := strings.TrimSuffix(strings.TrimPrefix(url, "https://"), "/")
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		// The certificate is read, not trusted: nothing is sent.
		d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // read only
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", url, err)
		}
		defer conn.Close()
		chain := conn.(*tls.Conn).ConnectionState().PeerCertificates
		if len(chain) == 0 {
			return nil, fmt.Errorf("%s presents no certificate", url)
		}
		return chain, nil
	}
}
