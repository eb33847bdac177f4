package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// RestoreInput configures a Restore.
type RestoreInput struct {
	// DataDir is the k3s data dir; BackupPath a file from ListBackups.
	DataDir, BackupPath string
	// Access chooses the datastore path (not ViaServer).
	Access AccessInput
	// Token, when it can be resolved, checks that the backup opens with it.
	Token string
	// Now stamps the safety backup of the value being replaced.
	Now time.Time
}

// Restore puts a backed-up bootstrap value back with a compare-and-swap,
// after saving the value it replaces, and reads it back.
type Restore struct {
	in     RestoreInput
	backup *Backup
	access Access
	// value is what is written: the backup re-stamped with the restore
	// time when the token opens it, so the datastore wins over the newer
	// files on every server at its next start (as after a load); the
	// backup as it is otherwise.
	value     []byte
	restamped bool
}

// NewRestore returns the restore step.
func NewRestore(in RestoreInput) *Restore { return &Restore{in: in} }

// Title implements Step.
func (r *Restore) Title() string { return "Restore a bootstrap backup" }

func (r *Restore) prepare(ctx context.Context) error {
	if r.backup != nil {
		return nil
	}
	b, err := ReadBackup(r.in.BackupPath)
	if err != nil {
		return err
	}
	_, pass, err := ResolvePassphrase(r.in.DataDir, r.in.Token)
	switch {
	case errors.Is(err, ErrNoTokenAvailable):
		// No token here: restore the backup as it is, unchecked.
	case err != nil:
		return err
	default:
		if datastore.StorageKey(pass) != b.Key {
			return fmt.Errorf("%w: the backup holds %s", ErrWrongToken, b.Key)
		}
		plain, err := datastore.Decrypt(pass, []byte(b.Value))
		if err != nil {
			return fmt.Errorf("backup %s does not decrypt with the token: %w", r.in.BackupPath, err)
		}
		if r.value, err = restamp(plain, pass, r.in.Now); err != nil {
			return fmt.Errorf("backup %s: %w", r.in.BackupPath, err)
		}
		r.restamped = true
	}
	if r.value == nil {
		r.value = []byte(b.Value)
	}
	acc, err := ChooseAccess(ctx, r.in.Access)
	if err != nil {
		return err
	}
	if acc.Via == ViaServer {
		return errors.New("restore needs direct datastore access (--via sqlite or etcd)")
	}
	r.backup, r.access = b, acc
	return nil
}

// Preview implements Step.
func (r *Restore) Preview(ctx context.Context) (*Plan, error) {
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	plan := &Plan{Title: r.Title(), Notes: []string{"datastore: " + r.access.Reason}}
	plan.Add(ActBackup, BackupDir(r.in.DataDir), "the value being replaced")
	plan.Add(ActDatastore, r.backup.Key, "compare-and-swap back to the value of revision %d from %s",
		r.backup.Revision, r.backup.Created.Format(time.RFC3339))
	plan.Add(ActWrite, pki.RegenerateTriggerPath(product.ServerDir(r.in.DataDir)), "empty trigger, 0600: the listener on 6443 issues its serving certificate again from the restored server CA at the next start")
	plan.Notes = append(plan.Notes, "every other server needs the same empty file "+pki.DynamicCertRegenerate+" (0600) in its server dir before its restart")
	if r.restamped {
		plan.Notes = append(plan.Notes, "every entry is stamped with the restore time, so each server takes the restored files at its next start")
	} else {
		plan.Notes = append(plan.Notes, "no token to open the backup: it is restored as it was saved, with its old timestamps; servers whose files are newer will refuse to start until those files are removed")
	}
	return plan, nil
}

// Run implements Step.
func (r *Restore) Run(ctx context.Context) (string, error) {
	if err := r.prepare(ctx); err != nil {
		return "", err
	}
	b, err := r.access.Open(ctx, false)
	if err != nil {
		return "", fmt.Errorf("open datastore (%s): %w", r.access.Via, err)
	}
	defer b.Close()
	cur, err := b.Get(ctx, r.backup.Key)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", r.backup.Key, err)
	}
	want := r.value
	if r.holdsBackup(cur.Value) {
		return "the datastore already holds the backup value; nothing written", nil
	}
	safety, err := writeBackup(ctx, r.in.DataDir, cur, r.access.Via, r.in.Now)
	if err != nil {
		return "", err
	}
	rev, err := b.Update(ctx, r.backup.Key, cur.ModRevision, want)
	if err != nil {
		return "", fmt.Errorf("restore %s: %w", r.backup.Key, err)
	}
	got, err := b.Get(ctx, r.backup.Key)
	if err != nil || !bytes.Equal(got.Value, want) {
		return "", fmt.Errorf("restored value does not read back (revision %d): %v", rev, err)
	}
	sum := fmt.Sprintf("restored %s at revision %d; the replaced value is saved in %s", r.backup.Key, rev, safety.Path)
	trigger, err := leaveRegenerateTrigger(r.in.DataDir, r.in.Now, sum)
	if err != nil {
		return "", err
	}
	return sum + "; wrote " + trigger, nil
}

// restamp sets every entry of a decrypted bootstrap value to now and
// encrypts it again.
func restamp(plain []byte, pass string, now time.Time) ([]byte, error) {
	b, err := datastore.DecodeBootstrap(plain)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	for k, e := range b {
		e.Timestamp = now
		b[k] = e
	}
	enc, err := b.Encode()
	if err != nil {
		return nil, err
	}
	return datastore.Encrypt(pass, enc)
}

// holdsBackup reports whether value is the backup: the same bytes, or,
// when the token opens both, the same content whatever the timestamps.
func (r *Restore) holdsBackup(value []byte) bool {
	if bytes.Equal(value, []byte(r.backup.Value)) {
		return true
	}
	if !r.restamped {
		return false
	}
	_, pass, err := ResolvePassphrase(r.in.DataDir, r.in.Token)
	if err != nil {
		return false
	}
	a, err1 := decodeValue(pass, value)
	b, err2 := decodeValue(pass, []byte(r.backup.Value))
	return err1 == nil && err2 == nil && len(a.Diff(b)) == 0
}

func decodeValue(pass string, value []byte) (datastore.Bootstrap, error) {
	plain, err := datastore.Decrypt(pass, value)
	if err != nil {
		return nil, err
	}
	return datastore.DecodeBootstrap(plain)
}
