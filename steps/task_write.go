package steps

// Tasks several flows share that write: load a set into the datastore,
// remove leaf certificates, restore a backup.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/k3sca/k3sca/pki"
)

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
		return RestoreInput{DataDir: r.env.DataDir, BackupPath: backup, Access: acc, Token: r.env.Token, Now: r.env.Now(), Hook: r.env.Hook, Flow: r.id}
	}
	r.restoreFrom = backup
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
			plan, err := restore.Preview(ctx)
			r.restoreHash = restore.CAHash()
			return plan, err
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
		Force: r.force, Flow: r.id, DryRun: readOnly, Access: r.env.access(), ServerURL: r.env.ServerURL, Revision: r.aheadRev,
		Hook: r.env.Hook,
	})
}

// restoreCommand puts backup back into this node's datastore: the
// datastore flow, which stops k3s when the write needs it, restores, and
// starts k3s again (then, when the cluster's nodes are known, puts back
// each token file a rollout rewrote from the backup it made and restarts
// the nodes in order, confirmed by the cluster's name). Run again after a
// stop, it writes nothing and does what is left.
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
