package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
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
	// Flow names the flow running the restore, recorded in the backup.
	Flow string
	// Hook, when set, is called at each named point of Run (tests kill the
	// process there, or lose the reply of the write).
	Hook func(point string)
	// NodeName names this node in an etcd snapshot's name ("": the host
	// name in lower case, k3s's default).
	NodeName string
}

// ErrOtherCluster refuses a backup whose bootstrap key is not live in this
// datastore: it was made on another cluster (or with another token).
var ErrOtherCluster = errors.New("this backup belongs to another cluster")

// Restore puts a backed-up bootstrap value back with a compare-and-swap,
// after saving the value it replaces, and reads it back.
type Restore struct {
	in     RestoreInput
	backup *Backup
	access Access
	// cur is the live value the plan replaces; the compare-and-swap is at
	// its revision, so a datastore that moved since the plan is refused.
	cur datastore.KV
	// value is what is written: the backup re-stamped with the restore
	// time when the token opens it, so the datastore wins over the newer
	// files on every server at its next start (as after a load); the
	// backup as it is otherwise.
	value     []byte
	restamped bool
	// holds says the datastore already holds the backup.
	holds bool
	// caHash is the CA hash of the backup's server CA ("" when the token
	// does not open it): what servers serve after the restore.
	caHash string
	// curHash is the CA hash of the live value's server CA (what servers
	// serve before the restore), "" when the token does not open it.
	curHash string
	// changes are the fields the restore changes, live value to backup
	// (as a load's plan lists them); known when the token opens both.
	changes      []datastore.FieldChange
	changesKnown bool
	// raw is the token the backup opened with.
	raw string
	// pass is the token's passphrase when one opens the backup: the
	// safety backup of the value replaced records its CA hash with it.
	pass  string
	state WriteState
	// copy is the copy of the whole datastore Run takes before it writes;
	// taken is it once taken.
	copy, taken *DatastoreCopy
	// saved is the backup of the value Run replaced ("" until it wrote).
	saved string
}

// NewRestore returns the restore step.
func NewRestore(in RestoreInput) *Restore { return &Restore{in: in} }

// Title is the title of its plan.
func (r *Restore) Title() string { return "Restore a bootstrap backup" }

// State says what the datastore holds after Run: the backup (written), not,
// or unknown.
func (r *Restore) State() WriteState { return r.state }

func (r *Restore) prepare(ctx context.Context) error {
	if r.backup != nil {
		return nil
	}
	b, err := ReadBackup(r.in.BackupPath)
	if err != nil {
		return err
	}
	acc, err := ChooseAccess(ctx, r.in.Access)
	if err != nil {
		return err
	}
	if acc.Via == ViaServer {
		return errors.New("restore needs direct datastore access (--via sqlite or etcd)")
	}
	cur, dc, err := liveKey(ctx, acc, b, r.in.NodeName, r.in.Now)
	if err != nil {
		return err
	}
	r.copy = dc
	raw, pass, err := ResolvePassphrase(r.in.DataDir, r.in.Token)
	switch {
	case errors.Is(err, ErrNoTokenAvailable):
		// No token here: restore the backup as it is, unchecked.
	case err != nil:
		return err
	default:
		if datastore.StorageKey(pass) != b.Key {
			return fmt.Errorf("%w: the backup holds %s, the token names %s", ErrWrongToken, b.Key, datastore.StorageKey(pass))
		}
		plain, err := datastore.Decrypt(pass, []byte(b.Value))
		if err != nil {
			return fmt.Errorf("backup %s does not decrypt with the token: %w", r.in.BackupPath, err)
		}
		if r.value, err = restamp(plain, pass, r.in.Now); err != nil {
			return fmt.Errorf("backup %s: %w", r.in.BackupPath, err)
		}
		r.restamped, r.pass, r.raw = true, pass, raw
		r.caHash = plainCAHash(plain, r.in.Now)
		if back, err := datastore.DecodeBootstrap(plain); err == nil {
			if live, err := decodeValue(pass, cur.Value); err == nil {
				r.changes, r.changesKnown = live.Diff(back), true
				r.curHash = bootstrapCAHash(live, r.in.Now)
			}
		}
	}
	if r.value == nil {
		r.value = []byte(b.Value)
	}
	r.backup, r.access, r.cur = b, acc, cur
	r.holds = r.holdsBackup(cur.Value)
	return nil
}

// liveKey reads the live value of the backup's key, read-only, refuses a
// backup of another cluster, and plans the copy of the datastore taken
// before the restore writes.
func liveKey(ctx context.Context, acc Access, b *Backup, node string, now time.Time) (datastore.KV, *DatastoreCopy, error) {
	ro, err := acc.Open(ctx, true)
	if err != nil {
		return datastore.KV{}, nil, fmt.Errorf("open datastore (%s): %w", acc.Via, err)
	}
	defer ro.Close()
	keys, err := ro.List(ctx, datastore.BootstrapPrefix)
	if err != nil {
		return datastore.KV{}, nil, fmt.Errorf("list %s: %w", datastore.BootstrapPrefix, acc.hint(err))
	}
	var names []string
	for _, kv := range keys {
		if kv.Key == b.Key {
			if node == "" {
				node = nodeName()
			}
			dc, err := planCopy(ctx, acc, ro, node, now)
			return kv, dc, err
		}
		names = append(names, kv.Key)
	}
	if len(names) == 0 {
		return datastore.KV{}, nil, fmt.Errorf("%w; nothing to restore over", ErrNoBootstrapData)
	}
	return datastore.KV{}, nil, fmt.Errorf("%w (bootstrap key %s, this cluster's is %s); nothing was written",
		ErrOtherCluster, b.Key, strings.Join(names, ", "))
}

// Copy is the copy of the whole datastore: planned after Preview, taken
// after Run (nil when Run wrote nothing).
func (r *Restore) Copy() *DatastoreCopy {
	if r.taken != nil {
		return r.taken
	}
	return r.copy
}

// Saved is the backup of the value the restore replaced: restoring it
// undoes the restore ("" until Run wrote).
func (r *Restore) Saved() string { return r.saved }

// CAHash is the join-token CA hash servers have after the restore, ""
// when it cannot be known (no token opens the backup).
func (r *Restore) CAHash() string { return r.caHash }

// OldCAHash is the join-token CA hash of the value the restore replaces,
// "" when it cannot be known.
func (r *Restore) OldCAHash() string { return r.curHash }

// hashChanges says the restore moves the cluster to another CA hash:
// every full token (K10<hash>::...) must get the restored one.
func (r *Restore) hashChanges() bool {
	return r.caHash != "" && r.curHash != "" && r.caHash != r.curHash
}

// Tokens are the CA hash and token before and after the restore (the
// token keeps its password, bound to each hash), as a load's token step
// reports them; nil when the hashes are not known.
func (r *Restore) Tokens() *TokenReport {
	if r.caHash == "" || r.curHash == "" {
		return nil
	}
	rep := &TokenReport{Current: TokenState{Hash: pki.CAHash{Hex: r.curHash}}, New: &TokenState{Hash: pki.CAHash{Hex: r.caHash}}}
	if tok, err := pki.ParseToken(r.raw); err == nil {
		old, nw := tok.WithCAHash(r.curHash), tok.WithCAHash(r.caHash)
		rep.Current.Token, rep.New.Token = &old, &nw
	}
	return rep
}

// Preview computes the plan without side effects (the task's preview).
func (r *Restore) Preview(ctx context.Context) (*Plan, error) {
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	plan := &Plan{Title: r.Title(), Notes: []string{"datastore: " + r.access.Reason}}
	if r.holds {
		plan.Notes = append(plan.Notes, fmt.Sprintf("the datastore already holds the backup value at revision %d: nothing will be written", r.cur.ModRevision))
		return plan, nil
	}
	plan.Add(ActBackup, BackupDir(r.in.DataDir), "the value being replaced (revision %d)", r.cur.ModRevision)
	addCopyToPlan(plan, r.copy, r.in.DataDir)
	plan.Add(ActDatastore, r.backup.Key, "compare-and-swap at revision %d back to the value of revision %d from %s",
		r.cur.ModRevision, r.backup.Revision, r.backup.Created.Format(time.RFC3339))
	addFieldChanges(plan, r.backup.Key, r.changes)
	switch {
	case !r.changesKnown:
		plan.Notes = append(plan.Notes, "no token opens both the backup and the live value: the fields that change and the CA hash after the restore are not known")
	case r.hashChanges():
		plan.Notes = append(plan.Notes, fmt.Sprintf("the join-token CA hash changes from %s (now) to %s (the backup's): "+
			"every node joining with a full token (K10<hash>::...) needs the token with the restored hash before its restart", r.curHash, r.caHash))
	case r.caHash != "":
		plan.Notes = append(plan.Notes, fmt.Sprintf("the join-token CA hash stays %s: tokens stay valid", r.caHash))
	}
	plan.Add(ActWrite, pki.RegenerateTriggerPath(product.ServerDir(r.in.DataDir)), "empty trigger, 0600: the listener on 6443 issues its serving certificate again from the restored server CA at the next start")
	plan.Notes = append(plan.Notes, "every other server needs the same empty file "+pki.DynamicCertRegenerate+" (0600) in its server dir before its restart")
	if r.restamped {
		plan.Notes = append(plan.Notes, "every entry is stamped with the restore time, so each server takes the restored files at its next start")
	} else {
		plan.Notes = append(plan.Notes, "no token to open the backup: it is restored as it was saved, with its old timestamps; servers whose files are newer will refuse to start until those files are removed")
	}
	return plan, nil
}

// Run performs the plan: the compare-and-swap is at the revision the plan
// showed; a write whose reply is lost is read back.
func (r *Restore) Run(ctx context.Context) (out string, err error) {
	if err := r.prepare(ctx); err != nil {
		return "", err
	}
	r.state = WriteNone
	if r.holds {
		return "the datastore already holds the backup value; nothing written", nil
	}
	b, err := r.access.Open(ctx, false)
	if err != nil {
		return "", fmt.Errorf("open datastore (%s): %w", r.access.Via, err)
	}
	defer b.Close()
	key := r.backup.Key
	cur, err := b.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", key, r.access.hint(err))
	}
	if cur.ModRevision != r.cur.ModRevision {
		return "", fmt.Errorf("%w: %s moved to revision %d since the plan showed revision %d; run the restore again to see the new plan",
			ErrConcurrent, key, cur.ModRevision, r.cur.ModRevision)
	}
	dc := r.copy
	if dc.Kind == CopyEtcdSnapshot {
		r.hook("before-snapshot")
		if dc, err = takeSnapshot(ctx, dc, b, r.in.Now); err != nil {
			return "", err
		}
	}
	caHash := ""
	if r.pass != "" {
		if plain, err := datastore.Decrypt(r.pass, cur.Value); err == nil {
			caHash = plainCAHash(plain, r.in.Now)
		}
	}
	safety, err := writeBackup(ctx, r.in.DataDir, cur, caHash, r.in.Flow, r.access.Via, r.in.Now, dc)
	if err != nil {
		if dc.Taken {
			return "", fmt.Errorf("back up before the write: %w; nothing was written (the etcd snapshot %s was taken and stays)", err, dc.Path)
		}
		return "", fmt.Errorf("back up before the write: %w; nothing was written", err)
	}
	r.taken, r.saved = safety.DatastoreCopy, safety.Path
	defer func() { out, err = withRecord(out, err, recordWrite(safety, r.state, r.in.Now)) }()
	r.hook("after-backup")
	want := r.value
	r.hook("before-write")
	rev, err := b.Update(ctx, key, cur.ModRevision, want)
	holdsWant := func(kv datastore.KV) bool { return bytes.Equal(kv.Value, want) }
	switch {
	case errors.Is(err, datastore.ErrRevisionMismatch):
		return "", fmt.Errorf("%w: %w", ErrConcurrent, err)
	case err != nil:
		state, kv, rerr := readBack(ctx, b, func(ctx context.Context) (datastore.Backend, error) { return r.access.Open(ctx, false) }, key, holdsWant)
		switch state {
		case WriteUnknown:
			r.state = WriteUnknown
			return "", &UnknownOutcomeError{Key: key, Write: err, Read: rerr,
				Check: fmt.Sprintf("k3sca datastore restore %s -d %s%s --dry-run (\"already holds the backup value\" means it was written)",
					r.in.BackupPath, r.in.DataDir, accessFlags(r.in.Access))}
		case WriteNone:
			return "", fmt.Errorf("restore %s: %w; read back: revision %d, not the backup: nothing was written", key, r.access.hint(err), kv.ModRevision)
		}
		rev = kv.ModRevision
	default:
		got, err := b.Get(ctx, key)
		if err != nil || !holdsWant(got) {
			return "", fmt.Errorf("restored value does not read back (revision %d): %v", rev, err)
		}
	}
	r.hook("after-write")
	r.state = WriteDone
	sum := fmt.Sprintf("restored %s at revision %d; the replaced value is saved in %s; %s", key, rev, safety.Path, safety.DatastoreCopy.copyLine()) + removedNote(safety.Removed)
	trigger, err := leaveRegenerateTrigger(r.in.DataDir, r.in.Now, sum)
	if err != nil {
		return "", err
	}
	return sum + "; wrote " + trigger, nil
}

// addFieldChanges lists the fields a datastore write changes under key,
// one action each (a load's and a restore's plan alike).
func addFieldChanges(plan *Plan, key string, changes []datastore.FieldChange) {
	for _, c := range changes {
		plan.Add(ActDatastore, key+" "+c.Field, "%s", c.String())
	}
}

func (r *Restore) hook(point string) {
	if r.in.Hook != nil {
		r.in.Hook(point)
	}
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

// plainCAHash is the join-token CA hash of the server CA in a decrypted
// bootstrap value, "" when it holds none that hashes.
func plainCAHash(plain []byte, now time.Time) string {
	bs, err := datastore.DecodeBootstrap(plain)
	if err != nil {
		return ""
	}
	return bootstrapCAHash(bs, now)
}

// bootstrapCAHash is the join-token CA hash of a bootstrap value's server
// CA, "" when it holds none that hashes.
func bootstrapCAHash(bs datastore.Bootstrap, now time.Time) string {
	e, ok := bs["ServerCA"]
	if !ok {
		return ""
	}
	h, err := pki.HashCA(e.Content, now)
	if err != nil {
		return ""
	}
	return h.Hex
}
