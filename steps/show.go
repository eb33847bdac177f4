package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/product"
)

// KeyInfo describes one live /bootstrap key.
type KeyInfo struct {
	// Key is the key name.
	Key string `json:"key"`
	// Revision is its ModRevision.
	Revision int64 `json:"revision"`
	// Size is the encrypted value's length; 0 is a lock.
	Size int `json:"size"`
	// Opens is true for the key this token names.
	Opens bool `json:"opensWithToken"`
}

// FieldInfo describes one bootstrap entry against the file on disk.
type FieldInfo struct {
	// Field is the bootstrap field name.
	Field string `json:"field"`
	// Timestamp is the entry's datastore timestamp.
	Timestamp time.Time `json:"timestamp"`
	// Size is the content length.
	Size int `json:"size"`
	// SHA256 is the content's hash.
	SHA256 string `json:"sha256"`
	// Disk is equal, differs, missing, unknown-field or error.
	Disk string `json:"disk"`
	// AtNextStart is what k3s would do with it at its next start.
	AtNextStart string `json:"atNextStart"`
}

// DatastoreReport is what `k3sca datastore show` prints.
type DatastoreReport struct {
	// Via and Reason say how the datastore was reached.
	Via    Via    `json:"via"`
	Reason string `json:"reason"`
	// Keys are all live /bootstrap keys.
	Keys []KeyInfo `json:"keys"`
	// Key is the key this token opens, Revision its revision.
	Key      string `json:"key"`
	Revision int64  `json:"revision"`
	// Fields are the decrypted entries, compared with the disk.
	Fields []FieldInfo `json:"fields"`
	// Notes explain what could not be shown (no key for this token, a lock,
	// several keys).
	Notes []string `json:"notes,omitempty"`
}

// ShowDatastore lists every /bootstrap key and decrypts the one this token
// names, comparing its fields with the disk. It writes nothing, and still
// reports the keys when the token opens none or there are several.
func ShowDatastore(ctx context.Context, access AccessInput, token string) (*DatastoreReport, error) {
	_, pass, err := ResolvePassphrase(access.DataDir, token)
	if err != nil {
		return nil, err
	}
	access.ReadOnly = true
	acc, err := ChooseAccess(ctx, access)
	if err != nil {
		return nil, err
	}
	b, err := acc.Open(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("open datastore (%s): %w", acc.Via, err)
	}
	defer b.Close()
	keys, err := b.List(ctx, datastore.BootstrapPrefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", datastore.BootstrapPrefix, err)
	}
	rep := &DatastoreReport{Via: acc.Via, Reason: acc.Reason, Keys: []KeyInfo{}, Fields: []FieldInfo{}}
	want := datastore.StorageKey(pass)
	var mine *datastore.KV
	for i, kv := range keys {
		rep.Keys = append(rep.Keys, KeyInfo{Key: kv.Key, Revision: kv.ModRevision, Size: len(kv.Value), Opens: kv.Key == want})
		if kv.Key == want {
			mine = &keys[i]
		}
	}
	if len(keys) > 1 {
		rep.Notes = append(rep.Notes, ErrMultipleKeys.Error())
	}
	switch {
	case mine == nil:
		rep.Notes = append(rep.Notes, fmt.Sprintf("this token names %s, which the datastore does not hold", want))
		return rep, nil
	case len(mine.Value) == 0:
		rep.Notes = append(rep.Notes, ErrBootstrapLocked.Error())
		return rep, nil
	}
	cur, err := openBootstrap(*mine, pass, keys)
	if err != nil {
		return nil, err
	}
	rep.Key, rep.Revision = cur.KV.Key, cur.KV.ModRevision
	for _, st := range cur.Data.CompareDisk(product.ServerDir(access.DataDir)) {
		e := cur.Data[st.Field]
		sum := sha256.Sum256(e.Content)
		rep.Fields = append(rep.Fields, FieldInfo{
			Field: st.Field, Timestamp: e.Timestamp, Size: len(e.Content), SHA256: hex.EncodeToString(sum[:]),
			Disk: string(st.State), AtNextStart: string(st.Outcome),
		})
	}
	return rep, nil
}
