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
	ErrConcurrent   = errors.New("the bootstrap value changed since the plan was read; nothing was written")
)

// Preview is the task's preview: it prepares (validation, datastore read, new
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
	for _, w := range lp.Warnings {
		plan.Notes = append(plan.Notes, "warning: "+w)
	}
	if lp.Access.Via == ViaServer {
		plan.Add(ActDatastore, l.in.ServerURL+l.in.Product.CACertsPath(), "PUT %d staged fields, force=%t", len(lp.next), l.in.Force)
		return plan, nil
	}
	plan.Add(ActBackup, BackupDir(l.in.DataDir), "value of %s at revision %d and a copy of server/tls", lp.Key, lp.Revision)
	addCopyToPlan(plan, lp.Copy, l.in.DataDir)
	plan.Add(ActDatastore, lp.Key, "compare-and-swap at revision %d, %d bytes of plaintext", lp.Revision, len(lp.nextPlain))
	addFieldChanges(plan, lp.Key, lp.Changes)
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

// Run performs the plan: backup, compare-and-swap, read-back verification.
// Result().State says what is in place afterwards, whatever the error: a
// write whose reply is lost is read back before anything is reported.
func (l *Load) Run(ctx context.Context) (out string, err error) {
	if l.in.DryRun {
		return "", errors.New("dry run: refusing to write")
	}
	lp, err := l.Prepare(ctx)
	if err != nil {
		return "", err
	}
	l.result.State = WriteNone
	if lp.Access.Via == ViaServer {
		return l.runServer(ctx)
	}
	defer l.Close()
	if len(lp.Changes) == 0 {
		return fmt.Sprintf("the datastore already holds this set at revision %d; nothing written", lp.Revision), nil
	}
	dc := lp.Copy
	if dc.Kind == CopyEtcdSnapshot {
		l.hook("before-snapshot")
		if dc, err = takeSnapshot(ctx, dc, l.backend, l.in.Now); err != nil {
			return "", err
		}
		l.result.Copy = dc
	}
	backup, err := writeBackup(ctx, l.in.DataDir, lp.current.KV, bootstrapCAHash(lp.current.Data, l.in.Now), l.in.Flow, lp.Access.Via, l.in.Now, dc)
	if err != nil {
		if dc.Taken {
			return "", fmt.Errorf("back up before the write: %w; nothing was written (the etcd snapshot %s was taken and stays)", err, dc.Path)
		}
		return "", fmt.Errorf("back up before the write: %w; nothing was written", err)
	}
	l.result.Backup, l.result.Copy = backup.Path, backup.DatastoreCopy
	defer func() { out, err = withRecord(out, err, recordWrite(backup, l.result.State, l.in.Now)) }()
	l.hook("after-backup")
	value, err := datastore.Encrypt(lp.passphrase, lp.nextPlain)
	if err != nil {
		return "", err
	}
	l.hook("before-write")
	rev, err := l.backend.Update(ctx, lp.Key, lp.Revision, value)
	lost := err != nil
	switch {
	case errors.Is(err, datastore.ErrRevisionMismatch):
		return "", fmt.Errorf("%w: %w", ErrConcurrent, err)
	case err != nil:
		// No reply (a reset connection, a failed commit): the datastore
		// may have applied the write. Only the value read back tells.
		state, kv, rerr := readBack(ctx, l.backend, l.reopen, lp.Key, l.holdsNew)
		switch state {
		case WriteUnknown:
			l.result.State = WriteUnknown
			return "", &UnknownOutcomeError{Key: lp.Key, Write: err, Read: rerr, Check: l.checkCommand()}
		case WriteNone:
			return "", fmt.Errorf("write %s: %w; read back: the datastore holds %s: nothing was written", lp.Key, lp.Access.hint(err), l.describe(kv))
		}
		rev = kv.ModRevision
	}
	l.hook("after-write")
	if !lost {
		// A lost reply was already read back: the value is the new one.
		if err := l.verify(ctx, rev); err != nil {
			return "", err
		}
	}
	l.hook("after-verify")
	l.result.NewRevision, l.result.State = rev, WriteDone
	sum := fmt.Sprintf("wrote %s at revision %d (was %d), verified; backup %s; restart the servers one at a time to pick it up",
		lp.Key, rev, lp.Revision, backup.Path)
	if lost {
		sum = fmt.Sprintf("wrote %s at revision %d (was %d): the reply was lost, the value read back is the new one; backup %s; restart the servers one at a time to pick it up",
			lp.Key, rev, lp.Revision, backup.Path)
	}
	sum += "; " + backup.DatastoreCopy.copyLine()
	sum += removedNote(backup.Removed)
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

// holdsNew reports whether kv is the value this load writes: it opens with
// the token to exactly the new plaintext (every encryption has its own salt).
func (l *Load) holdsNew(kv datastore.KV) bool {
	plain, err := datastore.Decrypt(l.plan.passphrase, kv.Value)
	return err == nil && bytes.Equal(plain, l.plan.nextPlain)
}

// describe names what a read back found instead of the new value.
func (l *Load) describe(kv datastore.KV) string {
	lp := l.plan
	switch {
	case kv.Key == "":
		return "no such key"
	case kv.ModRevision == lp.Revision && bytes.Equal(kv.Value, lp.current.KV.Value):
		return fmt.Sprintf("the old value at revision %d", kv.ModRevision)
	}
	return fmt.Sprintf("another value at revision %d (another writer)", kv.ModRevision)
}

// reopen opens a fresh connection to the datastore, for a read back after
// the connection of the write broke.
func (l *Load) reopen(ctx context.Context) (datastore.Backend, error) {
	return l.plan.Access.Open(ctx, false)
}

// checkCommand is the command that tells whether this load's value is in
// place: a dry run of the same load says the datastore already holds it.
func (l *Load) checkCommand() string {
	return fmt.Sprintf("k3sca load --path %s -d %s%s --dry-run (\"the datastore already holds this set\" means it was written)",
		l.in.Staged, l.in.DataDir, accessFlags(l.in.Access))
}

// accessFlags spells the datastore flags of in for a printed command.
func accessFlags(in AccessInput) string {
	var b strings.Builder
	if in.Product.Name() != product.K3s.Name() {
		b.WriteString(" --product " + in.Product.Name())
	}
	if in.Via != "" && in.Via != ViaAuto {
		b.WriteString(" --via " + string(in.Via))
	}
	if len(in.Etcd.Endpoints) > 0 {
		b.WriteString(" --etcd-endpoints " + strings.Join(in.Etcd.Endpoints, ","))
	}
	return b.String()
}

// verify reads the key back and compares it with what was written; on a
// mismatch it puts the backup value back with a compare-and-swap.
func (l *Load) verify(ctx context.Context, rev int64) error {
	lp := l.plan
	got, err := l.backend.Get(ctx, lp.Key)
	if err != nil && !errors.Is(err, datastore.ErrKeyNotFound) {
		// Acknowledged, but the read failed: try a fresh connection.
		state, kv, rerr := readBack(ctx, l.backend, l.reopen, lp.Key, l.holdsNew)
		if state == WriteUnknown {
			l.result.State = WriteUnknown
			return &UnknownOutcomeError{Key: lp.Key, Write: fmt.Errorf("acknowledged at revision %d, then not readable: %w", rev, err), Read: rerr, Check: l.checkCommand()}
		}
		got, err = kv, nil
	}
	if err == nil && got.ModRevision == rev && l.holdsNew(got) {
		return nil
	}
	cause := err
	if cause == nil {
		cause = fmt.Errorf("revision %d or content differs", got.ModRevision)
	}
	if _, rerr := l.backend.Update(ctx, lp.Key, got.ModRevision, lp.current.KV.Value); rerr != nil {
		return fmt.Errorf("verify failed (%v) AND restoring the backup failed: %w; restore it with k3sca datastore restore %s -d %s --yes --confirm restore",
			cause, rerr, l.result.Backup, l.in.DataDir)
	}
	return fmt.Errorf("%w: %w", ErrVerifyFailed, cause)
}

func (l *Load) hook(point string) {
	if l.in.Hook != nil {
		l.in.Hook(point)
	}
}
