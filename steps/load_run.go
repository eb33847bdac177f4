package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// Errors of the write phase.
var (
	ErrVerifyFailed = errors.New("the value read back differs from what was written; the backup was restored")
	ErrConcurrent   = errors.New("the bootstrap value changed since it was read; nothing was written")
)

// Preview implements Step: it prepares (validation, datastore read, new
// value) and describes the write. For a refused set it returns the error;
// Plan() then still holds the validation report.
func (l *Load) Preview(ctx context.Context) (*Plan, error) {
	lp, err := l.Prepare(ctx)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Title: l.Title()}
	plan.Add(ActCheck, "validation", "class %s; %d errors, %d warnings", lp.Validation.Class, len(lp.Validation.Errors), len(lp.Validation.Warnings))
	plan.Notes = append(plan.Notes, "datastore: "+lp.Access.Reason)
	if lp.Access.Via == ViaServer {
		plan.Add(ActDatastore, l.in.ServerURL+l.in.Product.CACertsPath(), "PUT %d staged fields, force=%t", len(lp.next), l.in.Force)
		return plan, nil
	}
	plan.Add(ActBackup, BackupDir(l.in.DataDir), "value of %s at revision %d and a copy of server/tls", lp.Key, lp.Revision)
	plan.Add(ActDatastore, lp.Key, "compare-and-swap at revision %d, %d bytes of plaintext", lp.Revision, len(lp.nextPlain))
	for _, c := range lp.Changes {
		plan.Add(ActDatastore, lp.Key+" "+c.Field, "%s", c.String())
	}
	if lp.ServerCAChanges() {
		plan.Add(ActWrite, pki.RegenerateTriggerPath(product.ServerDir(l.in.DataDir)), "empty trigger, 0600: at its next start this server's listener on 6443 issues a new serving certificate from the new server CA, as after k3s's rotate-ca")
		plan.Notes = append(plan.Notes, "every other server needs the same empty file "+pki.DynamicCertRegenerate+" (0600) in its server dir before its restart, or its listener keeps a certificate signed by the old server CA")
	}
	plan.Notes = append(plan.Notes,
		fmt.Sprintf("every entry is stamped %s (the time of the load), newer than the files on every server, so k3s takes the datastore side at restart", l.in.Now.UTC().Format("2006-01-02T15:04:05Z")))
	for _, c := range lp.Unstaged {
		plan.Notes = append(plan.Notes, fmt.Sprintf("%s is not staged, but this server's file differs from the datastore's and would replace it; "+
			"run the load on a server whose files match the datastore, or stage the file", c.Field))
	}
	if len(lp.Changes) == 0 {
		plan.Notes = append(plan.Notes, "the datastore already holds this set: nothing will be written")
	}
	if len(lp.NewerOnDisk) > 0 {
		plan.Notes = append(plan.Notes, fmt.Sprintf("%s: modified 3 s or more after the load time (clock skew?); "+
			"k3s on this server would refuse to start with \"newer than datastore\" until the files are removed or the clock fixed",
			strings.Join(lp.NewerOnDisk, ", ")))
	}
	if lp.Tokens.New != nil && lp.Tokens.New.Hash.Hex != lp.Tokens.Current.Hash.Hex {
		plan.Notes = append(plan.Notes, "the join-token CA hash changes: give agents the new token (k3sca token --path ...)")
	}
	return plan, nil
}

// Run implements Step: backup, compare-and-swap, read-back verification.
func (l *Load) Run(ctx context.Context) (string, error) {
	if l.in.DryRun {
		return "", errors.New("dry run: refusing to write")
	}
	lp, err := l.Prepare(ctx)
	if err != nil {
		return "", err
	}
	if lp.Access.Via == ViaServer {
		return l.runServer(ctx)
	}
	defer l.Close()
	if len(lp.Changes) == 0 {
		return fmt.Sprintf("the datastore already holds this set at revision %d; nothing written", lp.Revision), nil
	}
	backup, err := writeBackup(ctx, l.in.DataDir, lp.current.KV, lp.Access.Via, l.in.Now)
	if err != nil {
		return "", err
	}
	l.result.Backup = backup.Path
	l.hook("after-backup")
	value, err := datastore.Encrypt(lp.passphrase, lp.nextPlain)
	if err != nil {
		return "", err
	}
	rev, err := l.backend.Update(ctx, lp.Key, lp.Revision, value)
	if errors.Is(err, datastore.ErrRevisionMismatch) {
		return "", fmt.Errorf("%w: %w", ErrConcurrent, err)
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", lp.Key, err)
	}
	l.hook("after-write")
	if err := l.verify(ctx, rev); err != nil {
		return "", err
	}
	l.hook("after-verify")
	l.result.NewRevision, l.result.Wrote = rev, true
	sum := fmt.Sprintf("wrote %s at revision %d (was %d), verified; backup %s; restart the servers one at a time to pick it up",
		lp.Key, rev, lp.Revision, backup.Path)
	if lp.ServerCAChanges() {
		trigger, err := leaveRegenerateTrigger(l.in.DataDir, l.in.Now, sum)
		if err != nil {
			return "", err
		}
		l.result.RegenerateTrigger = trigger
		sum += "; wrote " + trigger
	}
	return sum, nil
}

// verify reads the key back and compares it with what was written; on a
// mismatch it puts the backup value back with a compare-and-swap.
func (l *Load) verify(ctx context.Context, rev int64) error {
	lp := l.plan
	got, err := l.backend.Get(ctx, lp.Key)
	if err == nil && got.ModRevision == rev {
		var plain []byte
		if plain, err = datastore.Decrypt(lp.passphrase, got.Value); err == nil && bytes.Equal(plain, lp.nextPlain) {
			return nil
		}
	}
	cause := err
	if cause == nil {
		cause = fmt.Errorf("revision %d or content differs", got.ModRevision)
	}
	if _, rerr := l.backend.Update(ctx, lp.Key, got.ModRevision, lp.current.KV.Value); rerr != nil {
		return fmt.Errorf("verify failed (%v) AND restoring the backup failed: %w; restore it with k3sca datastore restore %s",
			cause, rerr, l.result.Backup)
	}
	return fmt.Errorf("%w: %w", ErrVerifyFailed, cause)
}

func (l *Load) hook(point string) {
	if l.in.Hook != nil {
		l.in.Hook(point)
	}
}
