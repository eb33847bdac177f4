package rollout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/remote"
)

// ErrNoBackup refuses to put a token file back: none of its backups holds
// what a rollout replaced, so the file was changed since a rollout wrote
// it (or was never written by one). k3sca leaves it as it is.
var ErrNoBackup = errors.New("no backup of it holds what the rollout replaced")

// putBackPlan is the undo's plan for a probed node: each token file whose
// full tokens pin a CA hash other than target is put back from the backup
// a rollout made of it (its bytes, mode, owner and mtime). That backup is the one holding exactly what the
// rollout replaced: the live file with the CA hash of each of its full
// tokens set back to target (cluster.PlanEdits(probe, target).New) — a
// rollout changes nothing else, so a live file changed by anyone since
// has no such backup and is refused (ErrNoBackup) rather than clobbered.
// Of several backups holding those bytes, the newest name is taken. Each
// edit's Backup names it; its New is the backup's bytes.
func putBackPlan(ctx context.Context, h Host, probe *cluster.ProbeResult, target string) (*cluster.Plan, error) {
	plan, err := cluster.PlanEdits(probe, target)
	if err != nil {
		return nil, err
	}
	for i, e := range plan.Edits {
		names, err := h.Glob(ctx, remote.BackupGlob(e.Path))
		if err != nil {
			return nil, fmt.Errorf("the backups of %s: %w", e.Path, err)
		}
		sort.Sort(sort.Reverse(byBackupAge(names)))
		found := ""
		for _, n := range names {
			b, err := h.ReadFile(ctx, n)
			if err != nil {
				return nil, fmt.Errorf("read the backup %s: %w", n, err)
			}
			if bytes.Equal(b, e.New) {
				found = n
				break
			}
		}
		if found == "" {
			return nil, &NoBackupError{Path: e.Path, Hash: e.Places[0].CAHash, Target: target, Backups: names}
		}
		plan.Edits[i].Backup = found
	}
	return plan, nil
}

// NoBackupError is a token file the undo cannot put back (ErrNoBackup).
type NoBackupError struct {
	// Path is the file; Hash the CA hash its tokens hold; Target the one
	// the undo puts back.
	Path, Hash, Target string
	// Backups are its backups, none holding what the rollout replaced.
	Backups []string
}

// Error implements error.
func (e *NoBackupError) Error() string {
	seen := "it has no backup (" + remote.BackupGlob(e.Path) + ")"
	if len(e.Backups) > 0 {
		seen = "none of its backups (" + strings.Join(e.Backups, ", ") + ") holds it with CA hash " + e.Target + " put back"
	}
	return fmt.Sprintf("%s (CA hash %s) changed since the rollout wrote it, or was not written by one: %s (%s); k3sca leaves it as it is: check it, put the right backup back by hand or set the token's CA hash to %s, then run the undo again",
		e.Path, e.Hash, seen, ErrNoBackup, e.Target)
}

// Unwrap returns ErrNoBackup.
func (e *NoBackupError) Unwrap() error { return ErrNoBackup }

// byBackupAge orders backup names oldest first: by the Unix time in the
// name, then by the ".2", ".3", … a taken name got.
type byBackupAge []string

func (b byBackupAge) Len() int      { return len(b) }
func (b byBackupAge) Swap(i, j int) { b[i], b[j] = b[j], b[i] }
func (b byBackupAge) Less(i, j int) bool {
	ti, ni := backupStamp(b[i])
	tj, nj := backupStamp(b[j])
	if ti != tj {
		return ti < tj
	}
	return ni < nj
}

// backupStamp is the Unix time and the number of a backup name
// (….k3sca-bak-<unix>[.<n>]); n is 1 without a number.
func backupStamp(name string) (unix, n int64) {
	i := strings.LastIndex(name, ".k3sca-bak-")
	if i < 0 {
		return 0, 0
	}
	rest := name[i+len(".k3sca-bak-"):]
	t, num, _ := strings.Cut(rest, ".")
	_, _ = fmt.Sscan(t, &unix)
	n = 1
	if num != "" {
		_, _ = fmt.Sscan(num, &n)
	}
	return unix, n
}

// putBack writes one put-back edit: e.Backup over e.Path if the file
// still holds what was probed (e.Old).
func putBack(ctx context.Context, h Host, e cluster.FileEdit) error {
	if err := h.PutBack(ctx, e.Path, e.Backup, e.Old, remote.PutBackOptions{}); err != nil {
		if errors.Is(err, remote.ErrChangedSince) {
			return fmt.Errorf("%s: %w", e.Path, ErrChangedMeanwhile)
		}
		return err
	}
	return nil
}
