package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

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
}

// ShowDatastore reads and decrypts the bootstrap data without writing.
func ShowDatastore(ctx context.Context, access AccessInput, token string) (*DatastoreReport, error) {
	_, pass, err := ResolvePassphrase(access.DataDir, token)
	if err != nil {
		return nil, err
	}
	acc, err := ChooseAccess(ctx, access)
	if err != nil {
		return nil, err
	}
	b, err := acc.Open(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("open datastore (%s): %w", acc.Via, err)
	}
	defer b.Close()
	cur, err := ReadBootstrap(ctx, b, pass)
	if err != nil {
		return nil, err
	}
	rep := &DatastoreReport{Via: acc.Via, Reason: acc.Reason, Key: cur.KV.Key, Revision: cur.KV.ModRevision}
	for _, kv := range cur.Keys {
		rep.Keys = append(rep.Keys, KeyInfo{Key: kv.Key, Revision: kv.ModRevision, Size: len(kv.Value), Opens: kv.Key == cur.KV.Key})
	}
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
