package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// run is the state one flow's tasks share: each task reads what the tasks
// before it left here.
type run struct {
	env    Env
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
	// service says a task stops or starts k3s: the flow's report ends
	// with the state k3s is left in.
	service bool
	// generated says the generate step wrote the staged dir (not a dry
	// run, not the bootstrap's server dir); wroteSet that it wrote its set
	// (also into the bootstrap's server dir).
	generated, wroteSet bool
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
	f := &Flow{ID: id, Title: title, Tasks: tasks, DryRun: r.dryRun, Cleanup: r.cleanup, Log: r.env.Log}
	f.Lock = func(context.Context) (func(), error) {
		holder := r.env.Holder
		if holder == "" {
			holder = "k3sca"
		}
		return Lock(r.env.DataDir, holder+", flow "+id, r.env.Now())
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

// privateTempDir makes the dry run's scratch dir: memory-backed /dev/shm
// when there is one, 0700, removed when the flow ends.
func privateTempDir() (string, error) {
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	d, err := os.MkdirTemp(base, "k3sca-dryrun-")
	if err != nil {
		return "", fmt.Errorf("dry run scratch dir: %w", err)
	}
	return d, nil
}

// generateTask stages gen's set. A dry run writes it to a private temp dir
// instead, so validation and the load preview read the same files.
func (r *run) generateTask(in GenerateInput) *Task {
	r.gen = NewGenerate(in)
	r.staged = in.Out
	return &Task{
		ID:      "generate",
		Title:   fmt.Sprintf("Generate the new %s set into %s", in.Kind, displayOut(in)),
		Writes:  true,
		Preview: r.gen.Preview,
		Run: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			progress("writing the staged files")
			sum, err := r.gen.Run(ctx)
			if err != nil {
				return nil, err
			}
			r.generated, r.wroteSet = !in.Initial, true
			out := &Outcome{Summary: sum, Details: r.gen.Set().NotesFor(false)}
			if in.Initial {
				// Its key notes were in the plan; the last step lists the keys.
				out.Details = nil
			}
			return out, nil
		},
		DryRun: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			if _, err := r.gen.Preview(ctx); err != nil {
				return nil, err
			}
			tmp, err := privateTempDir()
			if err != nil {
				return nil, err
			}
			r.tmp, r.staged = tmp, tmp
			progress("staging in a private scratch dir for the checks that follow")
			if err := r.gen.Set().Write(ctx, tmp, r.env.Now()); err != nil {
				return nil, fmt.Errorf("dry run scratch copy: %w", err)
			}
			return &Outcome{Summary: fmt.Sprintf("dry run: %d files would be written to %s (checked from a private scratch copy, removed at the end)", len(r.gen.Set().Files), in.Out)}, nil
		},
	}
}

func displayOut(in GenerateInput) string {
	if in.Initial {
		return filepath.Join(in.Out, pki.TLSDir)
	}
	return in.Out
}

// validateTask validates the staged set as k3s's rotate-ca does. allowNew
// accepts a refusal whose only cause is a new root of trust (forced).
func (r *run) validateTask(current func() string, allowNew bool) *Task {
	return &Task{
		ID:    "validate",
		Title: "Validate the staged set as k3s would",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			var (
				rep *pki.Report
				err error
			)
			cur := current()
			validate := func(force bool) (*pki.Report, error) {
				if cur == "" {
					return Validate(ctx, r.env.Product, r.env.DataDir, r.staged, force, r.env.Now())
				}
				return pki.Validate(ctx, pki.ValidateInput{CurrentDir: cur, StagedDir: r.staged, Now: r.env.Now(), Product: r.env.Product, Force: force})
			}
			if rep, err = validate(false); err != nil {
				return nil, err
			}
			if !rep.OK && (r.forceAll || allowNew && rep.Class == pki.ClassNewRoot) {
				// The operator chose --force or a new root: the report is
				// k3s's verdict with --force, its errors kept.
				if rep, err = validate(true); err != nil {
					return nil, err
				}
			}
			// Kept even when refused: the report says why.
			r.report = rep
			out := &Outcome{Data: rep, Warnings: rep.Warnings}
			switch {
			case cur != "" && rep.Accepted:
				// Checked against itself (before the first start): k3s's
				// verdict and class of a rotation do not apply.
				out.Summary = "the set is consistent: every CA matches its key and chains to its root, as k3s checks"
				out.Warnings, out.Data = nil, nil
			case rep.Accepted:
				out.Summary = fmt.Sprintf("k3s accepts it: %s", rep.Class)
			case allowNew && rep.Class == pki.ClassNewRoot:
				r.force = true
				out.Summary = pki.VerdictForced + ": a new root of trust"
				out.Warnings = append([]string{"Every node and every client that trusts the old CA loses trust until it gets the new CA and token."}, out.Warnings...)
			case r.forceAll && rep.OK:
				out.Summary = fmt.Sprintf("%s: %s", pki.VerdictForced, rep.Class)
			case rep.Class == pki.ClassNewRoot:
				return nil, fmt.Errorf("%w: %v; this set has a new root of trust: choose a new root (disruptive) to load it with --force", ErrRefused, rep.Err())
			default:
				return nil, fmt.Errorf("%w: %v", ErrRefused, rep.Err())
			}
			return out, nil
		},
	}
}

// tokenTask shows the CA hash before and after, and the full new token.
func (r *run) tokenTask() *Task {
	return &Task{
		ID:    "token",
		Title: "Show the new join-token CA hash",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			rep, err := Tokens(ctx, r.env.DataDir, r.staged, r.env.Now())
			if err != nil {
				return nil, err
			}
			r.tokens = rep
			return tokenOutcome(rep, r.env.Token), nil
		},
	}
}

func tokenOutcome(rep *TokenReport, given string) *Outcome {
	out := &Outcome{}
	old, nw := rep.Current.Hash.Hex, rep.Current.Hash.Hex
	if rep.New != nil {
		nw = rep.New.Hash.Hex
	}
	if old == nw {
		out.Summary = "the CA hash does not change: tokens stay valid"
	} else {
		out.Summary = "the CA hash changes: nodes joining with a full token need the new one"
	}
	out.Details = []string{"current CA hash: " + old, "new CA hash:     " + nw}
	out.Data = map[string]string{"currentHash": old, "newHash": nw}
	st := rep.Current
	if rep.New != nil {
		st = *rep.New
	}
	tok := st.Token
	if tok == nil && given != "" {
		if t, err := pki.ParseToken(given); err == nil {
			t = t.WithCAHash(st.Hash.Hex)
			tok = &t
		}
	}
	if tok != nil {
		out.Secret = []string{"new token: " + tok.String()}
		out.Masked = []string{"new token: " + tok.Masked()}
	}
	return out
}

// stopTask stops k3s on this server unless it is not running; onlyIf,
// when set, gives a further reason to skip. Its undo starts k3s again.
func (r *run) stopTask(restores, title, note string, onlyIf func(ctx context.Context) (string, error)) *Task {
	r.service = true
	return &Task{
		ID:         "stop",
		Restores:   restores,
		Title:      title,
		Writes:     true,
		Disruptive: true,
		Skip: func(ctx context.Context) (string, error) {
			active, err := r.env.Services.IsActive(ctx, r.unit())
			if err != nil {
				return "", fmt.Errorf("is %s running: %w", r.unit(), err)
			}
			if !active {
				return r.unit() + " is not running", nil
			}
			if onlyIf == nil {
				return "", nil
			}
			return onlyIf(ctx)
		},
		Preview: func(context.Context) (*Plan, error) {
			p := &Plan{Title: "Stop " + r.unit()}
			p.Add(ActService, r.unit(), "stop (%s)", r.env.Services.Name())
			if note != "" {
				p.Notes = []string{note}
			}
			return p, nil
		},
		Run: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			progress("stopping " + r.unit())
			if err := r.env.Services.Stop(ctx, r.unit()); err != nil {
				return nil, err
			}
			return &Outcome{Summary: r.unit() + " stopped"}, nil
		},
		Undo: func(ctx context.Context) error { return r.env.Services.Start(ctx, r.unit()) },
	}
}

// stopForWriteTask stops k3s only when the datastore can be written only
// with it stopped (SQLite without a live kine socket).
func (r *run) stopForWriteTask() *Task {
	return r.stopTask("restart", "Stop k3s for the datastore write",
		"k3s runs on SQLite without a kine socket: the datastore file is written directly, so k3s must be stopped; it is started again if a later step fails",
		func(ctx context.Context) (string, error) {
			acc, err := ChooseAccess(ctx, r.env.access())
			if errors.Is(err, ErrK3sRunning) {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s keeps running: %s", r.unit(), acc.Reason), nil
		})
}

// loadTask loads the staged set into the datastore (backup, compare and
// swap, read back). The confirmation word is "load", or the cluster's name
// when the operator chose a new root of trust (newRoot).
func (r *run) loadTask(newRoot bool) *Task {
	word := "load"
	if newRoot {
		word = clusterName(r.env)
	}
	return &Task{
		ID:     "load",
		Title:  "Load the staged set into the datastore",
		Writes: true,
		Word:   word,
		Preview: func(ctx context.Context) (*Plan, error) {
			if r.load != nil {
				_ = r.load.Close()
			}
			r.load = r.newLoad(r.dryRun)
			return r.load.Preview(ctx)
		},
		Ahead: func(ctx context.Context) (*Plan, error) {
			// Read-only, while k3s still runs: what the load will change.
			l := r.newLoad(true)
			defer l.Close()
			plan, err := l.Preview(ctx)
			if lp := l.Plan(); err == nil && lp != nil {
				r.aheadRev = lp.Revision
			}
			return plan, err
		},
		Run: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			progress("backing up, writing and reading back the bootstrap data")
			sum, err := r.load.Run(ctx)
			if err != nil {
				return nil, err
			}
			r.loaded = r.load.Result().Wrote()
			out := &Outcome{Summary: sum, Warnings: r.load.Plan().Warnings}
			if res := r.load.Result(); res.Backup != "" {
				r.backup = res.Backup
				out.Details = append(out.Details, "backup: "+res.Backup, "undo with: "+restoreCommand(r.env, res.Backup))
			}
			if d := r.load.Result().Copy.restoreDetail(); d != "" {
				out.Details = append(out.Details, d)
			}
			return out, nil
		},
	}
}

// rotateTask backs up the tls dir and removes the leaf certificates of
// services (all when empty), as k3s certificate rotate does; k3s re-issues
// them when it starts.
func (r *run) rotateTask(services []string) *Task {
	var leaf *LeafRotate
	return &Task{
		ID:     "rotate",
		Title:  "Back up and remove the certificates",
		Writes: true,
		Preview: func(ctx context.Context) (*Plan, error) {
			var err error
			if leaf, err = NewLeafRotate(r.env.Product, r.env.DataDir, services, r.env.Now()); err != nil {
				return nil, err
			}
			return leaf.Preview(ctx)
		},
		Run: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			progress("copying the tls dir, then removing the certificates")
			sum, err := leaf.Run(ctx)
			if err != nil {
				return nil, err
			}
			return &Outcome{Summary: sum}, nil
		},
	}
}

// restoreTask puts backup back into the datastore (compare-and-swap, the
// replaced value saved first); confirmed by typing "restore". It is
// skipped when no backup is chosen. Its plan is shown before k3s is
// stopped (Ahead, read-only); its outcome says the CA hash it moves the
// cluster to and offers the token with it.
func (r *run) restoreTask(backup string) *Task {
	var restore *Restore
	input := func(readOnly bool) RestoreInput {
		acc := r.env.access()
		acc.ReadOnly = readOnly
		return RestoreInput{DataDir: r.env.DataDir, BackupPath: backup, Access: acc, Token: r.env.Token, Now: r.env.Now(), Hook: r.env.Hook}
	}
	return &Task{
		ID:     "restore",
		Title:  "Restore " + backup,
		Writes: true,
		Word:   "restore",
		Skip: func(context.Context) (string, error) {
			if backup == "" {
				return "no backup chosen", nil
			}
			return "", nil
		},
		Ahead: func(ctx context.Context) (*Plan, error) {
			// Read-only, while k3s still runs: what the restore changes.
			return NewRestore(input(true)).Preview(ctx)
		},
		Preview: func(ctx context.Context) (*Plan, error) {
			restore = NewRestore(input(false))
			return restore.Preview(ctx)
		},
		Run: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			progress("saving the current value, then writing the backup")
			sum, err := restore.Run(ctx)
			if err != nil {
				return nil, err
			}
			r.restoredHash, r.restored = restore.CAHash(), true
			out := &Outcome{Summary: sum}
			if saved := restore.Saved(); saved != "" {
				// As after a load: the backup of what was replaced, and
				// the command that puts it back.
				out.Details = append(out.Details, "backup: "+saved, "undo with: "+restoreCommand(r.env, saved))
			}
			if rep := restore.Tokens(); rep != nil {
				r.tokens = rep
				tok := tokenOutcome(rep, r.env.Token)
				out.Details = append(append(out.Details, tok.Summary), tok.Details...)
				if restore.hashChanges() {
					out.Secret, out.Masked = tok.Secret, tok.Masked
				}
			}
			return out, nil
		},
	}
}

// newLoad is the load of the staged set; readOnly opens the datastore
// read-only and writes nothing.
func (r *run) newLoad(readOnly bool) *Load {
	return NewLoad(LoadInput{
		DataDir: r.env.DataDir, Staged: r.staged, Token: r.env.Token, Now: r.env.Now(), Product: r.env.Product,
		Force: r.force, DryRun: readOnly, Access: r.env.access(), ServerURL: r.env.ServerURL, Revision: r.aheadRev,
		Hook: r.env.Hook,
	})
}

// startTask starts (or restarts) k3s on this server so it takes the new
// files from the datastore. A sandbox's service manager simulates what k3s
// does at start.
func (r *run) startTask(id, title string) *Task {
	r.service = true
	return &Task{
		ID:     id,
		Title:  title,
		Writes: true,
		Preview: func(ctx context.Context) (*Plan, error) {
			active, err := r.env.Services.IsActive(ctx, r.unit())
			if err != nil {
				return nil, fmt.Errorf("is %s running: %w", r.unit(), err)
			}
			p := &Plan{Title: title}
			if active {
				p.Add(ActService, r.unit(), "restart (%s)", r.env.Services.Name())
			} else {
				p.Add(ActService, r.unit(), "start (%s)", r.env.Services.Name())
			}
			p.Notes = []string{"at start k3s takes the bootstrap files from the datastore and re-issues leaf certificates that need it"}
			if url, ok := r.supervisorURL(); ok {
				p.Add(ActCheck, url+"/cacerts", "wait up to %s until it serves the expected CA hash and its certificate chains to that CA", r.env.RestartTimeout)
			}
			return p, nil
		},
		Run: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			active, err := r.env.Services.IsActive(ctx, r.unit())
			if err != nil {
				return nil, err
			}
			want := r.expectedHash()
			if active {
				progress("stopping " + r.unit())
				if err := r.env.Services.Stop(ctx, r.unit()); err != nil {
					return nil, err
				}
			}
			progress("starting " + r.unit())
			if err := r.env.Services.Start(ctx, r.unit()); err != nil {
				return nil, r.notReady(ctx, err)
			}
			out := &Outcome{Summary: r.unit() + " started"}
			if active {
				out.Summary = r.unit() + " restarted"
			}
			if url, ok := r.supervisorURL(); ok {
				progress("waiting for " + url + "/cacerts")
				if err := waitReady(ctx, url, want, r.env.RestartTimeout, r.env.Now); err != nil {
					return nil, r.notReady(ctx, err)
				}
				if want == "" {
					out.Details = append(out.Details, fmt.Sprintf("%s/cacerts answers and the serving certificate chains to its bundle (the CA hash to expect is not known)", url))
				} else {
					out.Details = append(out.Details, fmt.Sprintf("%s/cacerts serves CA hash %s and the serving certificate chains to it", url, want))
				}
			}
			if h, err := currentHash(r.server(), r.env.Now()); err == nil {
				out.Details = append(out.Details, "CA hash on disk now: "+h)
			}
			return out, nil
		},
	}
}

// supervisorURL is where the started server is probed; ok false when the
// service manager has nothing to probe (a fake).
func (r *run) supervisorURL() (string, bool) {
	loc, ok := r.env.Services.(node.SupervisorLocator)
	if !ok {
		return "", false
	}
	url, ok := loc.SupervisorURL(r.unit())
	if ok && url == "" {
		url = r.env.ServerURL
	}
	return url, ok && url != ""
}

// expectedHash is the CA hash the server must serve after the start: the
// staged set's when this flow loaded one, else the one on disk now.
func (r *run) expectedHash() string {
	if r.loaded && r.tokens != nil && r.tokens.New != nil {
		return r.tokens.New.Hash.Hex
	}
	if r.restored {
		// The backup's CA; "" (not known) checks only the chain.
		return r.restoredHash
	}
	h, _ := currentHash(r.server(), r.env.Now())
	return h
}

// notReady builds the report of a start after which k3s did not come back.
func (r *run) notReady(ctx context.Context, cause error) error {
	e := &NotReadyError{Err: cause}
	if lr, ok := r.env.Services.(node.ErrorLogReader); ok {
		if lines, err := lr.ErrorLog(ctx, r.unit(), 10); err == nil {
			e.Log = lines
		}
		e.LogCommand = lr.ErrorLogCommand(r.unit())
	}
	restart := restartCommand(r.env)
	if r.loaded {
		e.State = append(e.State, "the datastore holds the new CA set; this server did not come back on it")
	}
	trigger := pki.RegenerateTriggerPath(r.server())
	e.FixForward = triggerCommand(trigger) + " && " + restart
	if r.backup != "" {
		e.PutBack = restoreCommand(r.env, r.backup)
	}
	return e
}

// restartCommand is the command that restarts k3s on this node.
func restartCommand(env Env) string { return serviceCommand(env, "restart") }

// startCommand is the command that starts k3s on this node.
func startCommand(env Env) string { return serviceCommand(env, "start") }

// serviceCommand is the command of the node's service manager that does
// verb to the server unit; systemctl's when the manager names none.
func serviceCommand(env Env, verb string) string {
	unit := env.Product.ServerUnit()
	if c, ok := env.Services.(node.Commander); ok {
		return c.Command(verb, unit)
	}
	return node.Systemd{}.Command(verb, unit)
}

// restoreCommand puts backup back into this node's datastore: the
// datastore flow, which stops k3s when the write needs it, restores, and
// starts k3s again (then rolls the old CA out when the cluster's
// inventory is known, confirmed by the cluster's name).
func restoreCommand(env Env, backup string) string {
	cmd := fmt.Sprintf("k3sca run datastore --restore %s -d %s%s --yes --confirm restore", backup, env.DataDir, clusterArgs(env))
	if env.ClusterKnown() {
		cmd += " --confirm " + clusterName(env)
	}
	return cmd
}

// currentHash is the CA hash of the server CA on disk.
func currentHash(server string, now time.Time) (string, error) {
	f, _ := pki.Field("ServerCA")
	b, err := os.ReadFile(f.Abs(server))
	if err != nil {
		return "", err
	}
	h, err := pki.HashCA(b, now)
	if err != nil {
		return "", err
	}
	return h.Hex, nil
}

// clusterName is the word that confirms a disruptive change.
func clusterName(env Env) string {
	if env.ClusterName != "" {
		return env.ClusterName
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return strings.ToLower(h)
	}
	return "cluster"
}
