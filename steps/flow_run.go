package steps

// The state one flow's tasks share (run) and what every flow does with
// it: build the Flow, its result, its leftovers and the node's state.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/rollout"
)

// run is the state one flow's tasks share: each task reads what the tasks
// before it left here.
type run struct {
	env    Env
	id     string // the flow's ID, set when the flow is assembled
	dryRun bool

	gen    *Generate
	staged string // the staged root holding tls/ (a private temp dir in a dry run)
	tmp    string // the dry run's private temp dir, removed by cleanup
	report *pki.Report
	force  bool // a new root of trust is accepted (rotate-custom-ca --root new)
	// forceAll accepts whatever k3s accepts with --force (validate
	// --force), not only a new root of trust.
	forceAll bool
	tokens   *TokenReport
	load     *Load
	// aheadRev is the revision the load's plan showed before k3s was
	// stopped; the load refuses a datastore that moved since (0: none shown).
	aheadRev int64
	backup   string // the backup the load wrote, for the ways out of a failed restart
	loaded   bool   // the load step wrote the datastore (any path)
	// restored says a restore wrote the datastore; restoredHash is the
	// CA hash of what it wrote ("" when unknown).
	restored     bool
	restoredHash string
	// restoreFrom is the backup the datastore flow restores; its
	// printed command is also the undo's resume. restoreHash is that
	// backup's CA hash as its plan read it, for a dry run ("" unknown).
	restoreFrom, restoreHash string
	// service says a task stops or starts k3s: the flow's report ends
	// with the state k3s is left in.
	service bool
	// generated says the generate step wrote the staged dir (not a dry
	// run, not the bootstrap's server dir); wroteSet that it wrote its set
	// (also into the bootstrap's server dir).
	generated, wroteSet bool
	// scope is which nodes the flow's rollout touches (servers only,
	// the nodes named for a leaf rotation): its preflight reads the
	// versions of those only.
	scope rollout.Options
}

func newRun(env Env) *run {
	env = env.WithDefaults()
	return &run{env: env, dryRun: env.DryRun}
}

func (r *run) server() string { return product.ServerDir(r.env.DataDir) }

func (r *run) unit() string { return r.env.Product.ServerUnit() }

// cleanup removes the dry run's temp dir and releases the datastore handle.
func (r *run) cleanup() {
	if r.load != nil {
		_ = r.load.Close()
	}
	if r.tmp != "" {
		_ = os.RemoveAll(r.tmp)
	}
}

// flow assembles a flow over r.
func (r *run) flow(id, title string, tasks ...*Task) *Flow {
	r.id = id
	f := &Flow{ID: id, Title: title, Tasks: tasks, DryRun: r.dryRun, Cleanup: r.cleanup, Log: r.env.Log}
	f.Lock = func(context.Context) (func(), error) {
		holder := r.env.Holder
		if holder == "" {
			holder = "k3sca"
		}
		return node.Lock(r.env.DataDir, holder+", flow "+id, r.env.Now())
	}
	if r.service && r.env.Services != nil {
		f.State = r.nodeState
	}
	f.Leftovers, f.Result = r.leftovers, r.result
	if _, ok := flowOps[id]; ok {
		// A rollout after other steps: its nodes' versions are read
		// before step 1 (a rollout that is step 1 reads them itself).
		late := false
		for i, t := range tasks {
			late = late || (i > 0 && t.ID == "rollout")
		}
		f.Preflight = r.preflight(id, late)
	}
	return f
}

// result gathers what the tasks of this run left in r.
func (r *run) result() *FlowResult {
	res := &FlowResult{Wrote: r.loaded}
	if r.wroteSet {
		// Only once the generate step wrote it: a flow refused or
		// declined before it staged nothing.
		res.StagedDir = r.staged
	}
	if r.load != nil {
		if lp := r.load.Plan(); lp != nil {
			res.Via, res.Key, res.Revision = string(lp.Access.Via), lp.Key, lp.Revision
		}
		lr := r.load.Result()
		res.Backup, res.NewRevision, res.RegenerateTrigger = lr.Backup, lr.NewRevision, lr.RegenerateTrigger
	}
	if r.tokens != nil {
		res.OldHash, res.NewHash = r.tokens.Current.Hash.Hex, r.tokens.Current.Hash.Hex
		st := r.tokens.Current
		if r.tokens.New != nil {
			st = *r.tokens.New
			res.NewHash = st.Hash.Hex
		}
		if st.Token != nil {
			res.Token = st.Token.Masked()
		}
	}
	if *res == (FlowResult{}) {
		return nil
	}
	return res
}

// RemoveLeftover removes what an unfinished flow left behind, after
// checking it is still a staged dir (it holds tls/), so that a path reused
// meanwhile for something else is refused.
func RemoveLeftover(l Leftover) error {
	if fi, err := os.Stat(filepath.Join(l.Path, pki.TLSDir)); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s no longer looks like a staged dir (no tls/): not removed", l.Path)
	}
	if err := os.RemoveAll(l.Path); err != nil {
		return fmt.Errorf("remove %s: %w", l.Path, err)
	}
	return nil
}

// leftovers is the staged dir this flow generated when nothing of it was
// loaded: it holds private keys (the new CAs', for a rotation the new
// roots') that nothing will use.
func (r *run) leftovers() []Leftover {
	if r.gen == nil || r.gen.Set() == nil || r.dryRun || r.loaded || !r.generated {
		return nil
	}
	if fi, err := os.Stat(r.staged); err != nil || !fi.IsDir() {
		return nil
	}
	return []Leftover{{Path: r.staged, What: "a staged set that was not loaded, with its private keys", Remove: "rm -rf " + r.staged}}
}

// nodeState reads whether k3s runs on this node now.
func (r *run) nodeState(ctx context.Context) *NodeState {
	st := &NodeState{Unit: r.unit()}
	active, err := r.env.Services.IsActive(ctx, r.unit())
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.Active = active
	if !active {
		st.Start = startCommand(r.env)
	}
	return st
}

// requireServer refuses a data dir without a server tls dir (an agent).
func requireServer(env Env) error {
	tls := filepath.Join(product.ServerDir(env.DataDir), pki.TLSDir)
	if fi, err := os.Stat(tls); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s has no server certificates (%s): run k3sca on a %s server node, or give its --data-dir", env.DataDir, tls, env.Product.Name())
	}
	if env.Services == nil {
		return errors.New("no service manager: cannot tell whether k3s runs")
	}
	return nil
}

// privateTempDir makes the dry run's scratch dir under root (see
// Env.ScratchRoot): 0700, removed when the flow ends.
func privateTempDir(root string) (string, error) {
	base := root
	if base == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
	}
	d, err := os.MkdirTemp(base, "k3sca-dryrun-")
	if err != nil {
		return "", fmt.Errorf("dry run scratch dir: %w", err)
	}
	return d, nil
}
