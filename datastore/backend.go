// Package datastore reads and writes k3s bootstrap data: the codec (JSON,
// PBKDF2 and AES-GCM exactly as k3s) and the backends that hold it (kine's
// SQLite file, the etcd v3 API, a running k3s server).
package datastore

import (
	"context"
	"errors"
)

// BootstrapPrefix is the prefix k3s lists bootstrap keys under (no trailing slash).
const BootstrapPrefix = "/bootstrap"

// Backend errors shared by every backend.
var (
	// ErrKeyNotFound: the key has no live value.
	ErrKeyNotFound = errors.New("key not found")
	// ErrKeyExists: a create found the key already present (k3s: "key exists").
	ErrKeyExists = errors.New("key exists")
	// ErrRevisionMismatch: a compare-and-swap found another revision; nothing was written.
	ErrRevisionMismatch = errors.New("revision does not match; the datastore changed concurrently")
	// ErrUnreachable: the datastore could not be reached.
	ErrUnreachable = errors.New("datastore unreachable")
)

// MaxValueSize is the largest bootstrap value k3sca writes: every backend
// must accept it. etcd refuses a request over its default
// --max-request-bytes (1.5 MiB, which k3s's embedded etcd keeps), and kine's
// gRPC server receives at most the same 1.5 MiB plus framing; SQLite has no
// such limit. 1 MiB leaves room for the key and the transaction around it.
const MaxValueSize = 1 << 20

// ErrValueTooLarge refuses a value over MaxValueSize before it is written.
var ErrValueTooLarge = errors.New("the bootstrap value is larger than every datastore accepts")

// KV is one key's live value with its revisions.
type KV struct {
	// Key is the key, e.g. "/bootstrap/652c7dc687d9".
	Key string
	// Value is the stored bytes; empty for a k3s bootstrap lock.
	Value []byte
	// ModRevision is the revision of the last write (kine: the row id).
	ModRevision int64
	// CreateRevision is the revision that created the key.
	CreateRevision int64
}

// Backend is the small interface every datastore implements. All methods
// use only what both kine and etcd accept.
type Backend interface {
	// Name says which backend this is, for messages ("sqlite", "etcd").
	Name() string
	// Get returns the live value of key, or ErrKeyNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// List returns the live keys in [prefix, prefix+1), sorted by key.
	List(ctx context.Context, prefix string) ([]KV, error)
	// Create writes a new key, or fails with ErrKeyExists.
	Create(ctx context.Context, key string, value []byte) (int64, error)
	// Update replaces key's value if its ModRevision is still rev, returning
	// the new revision, or fails with ErrRevisionMismatch having written nothing.
	Update(ctx context.Context, key string, rev int64, value []byte) (int64, error)
	// Close releases the connection.
	Close() error
}
