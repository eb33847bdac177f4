package datastore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// ErrNotBootstrapJSON marks decrypted data that is neither bootstrap format.
var ErrNotBootstrapJSON = errors.New("decrypted data is not k3s bootstrap JSON")

// Entry is one file of the bootstrap data, k3s's bootstrap.File: the JSON
// object {"Timestamp": RFC3339Nano, "Content": base64}. The field names and
// their order are part of the format; there are deliberately no JSON tags.
type Entry struct {
	// Timestamp is the file's time: its mtime when k3s saved it.
	Timestamp time.Time
	// Content is the file's bytes.
	Content []byte
}

// Bootstrap is the decrypted bootstrap data: field name (pki.BootstrapFields
// names, plus any unknown key found in a value) to entry.
type Bootstrap map[string]Entry

// Encode serializes b as k3s does (json.Encoder.Encode of a
// map[string]bootstrap.File): keys sorted bytewise, each entry as
// {"Timestamp","Content"} in that order, times in RFC3339Nano in their own
// location, and one trailing newline. A nil Content encodes as null, as in
// Go; files read from disk always have a non-nil Content.
func (b Bootstrap) Encode() ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(map[string]Entry(b)); err != nil {
		return nil, fmt.Errorf("encode bootstrap data: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeBootstrap parses decrypted bootstrap data in either format; see
// DecodeBootstrapFormat.
func DecodeBootstrap(data []byte) (Bootstrap, error) {
	b, _, err := DecodeBootstrapFormat(data)
	return b, err
}

// DecodeBootstrapFormat parses decrypted bootstrap data the way k3s does:
// the current format (map of {Timestamp, Content}) first, then the pre-2021
// flat map of base64 contents, whose entries get the zero Timestamp; legacy
// reports the latter. Unknown keys are kept.
func DecodeBootstrapFormat(data []byte) (b Bootstrap, legacy bool, err error) {
	var cur map[string]Entry
	curErr := json.Unmarshal(data, &cur)
	if curErr == nil {
		if cur == nil {
			cur = map[string]Entry{}
		}
		return Bootstrap(cur), false, nil
	}
	var flat map[string][]byte
	if err := json.Unmarshal(data, &flat); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrNotBootstrapJSON, curErr)
	}
	b = make(Bootstrap, len(flat))
	for k, v := range flat {
		b[k] = Entry{Content: v}
	}
	return b, true, nil
}

// ChangeKind says how a field differs between two bootstrap values.
type ChangeKind string

const (
	// ChangeAdded: the field is only in the new value.
	ChangeAdded ChangeKind = "added"
	// ChangeRemoved: the field is only in the old value.
	ChangeRemoved ChangeKind = "removed"
	// ChangeModified: the field's content differs.
	ChangeModified ChangeKind = "changed"
)

// FieldChange is one field whose content differs between two bootstrap values.
type FieldChange struct {
	// Field is the bootstrap field name.
	Field string
	// Kind says whether it was added, removed or changed.
	Kind ChangeKind
	// OldSHA256 and NewSHA256 are hex SHA-256 of the contents ("" when absent).
	OldSHA256, NewSHA256 string
	// OldSize and NewSize are the content lengths in bytes.
	OldSize, NewSize int
}

// String describes the change in one line without revealing content.
func (c FieldChange) String() string {
	short := func(h string) string {
		if len(h) > 12 {
			return h[:12]
		}
		return h
	}
	switch c.Kind {
	case ChangeAdded:
		return fmt.Sprintf("added (%d bytes, sha256 %s)", c.NewSize, short(c.NewSHA256))
	case ChangeRemoved:
		return fmt.Sprintf("removed (was %d bytes, sha256 %s)", c.OldSize, short(c.OldSHA256))
	}
	return fmt.Sprintf("changed: %d bytes sha256 %s -> %d bytes sha256 %s",
		c.OldSize, short(c.OldSHA256), c.NewSize, short(c.NewSHA256))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Diff lists the fields whose content differs from b (old) to other (new),
// by SHA-256 of the content, sorted by field name. Timestamps are ignored,
// as k3s's reconciliation ignores them for equal content.
func (b Bootstrap) Diff(other Bootstrap) []FieldChange {
	names := map[string]bool{}
	for k := range b {
		names[k] = true
	}
	for k := range other {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []FieldChange
	for _, k := range sorted {
		o, inOld := b[k]
		n, inNew := other[k]
		c := FieldChange{Field: k}
		if inOld {
			c.OldSHA256, c.OldSize = sha256Hex(o.Content), len(o.Content)
		}
		if inNew {
			c.NewSHA256, c.NewSize = sha256Hex(n.Content), len(n.Content)
		}
		switch {
		case !inOld:
			c.Kind = ChangeAdded
		case !inNew:
			c.Kind = ChangeRemoved
		case c.OldSHA256 != c.NewSHA256:
			c.Kind = ChangeModified
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}
