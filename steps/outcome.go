package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/k3sca/k3sca/datastore"
)

// WriteState is what a datastore write left in place, as k3sca knows it:
// the value read back, not the reply to the write (a reply can be lost
// after the datastore applied the write).
type WriteState string

// Write states.
const (
	// WriteNone: nothing was written (or what was written was put back):
	// the datastore does not hold the new value.
	WriteNone WriteState = "not-written"
	// WriteDone: the datastore holds the new value, read back.
	WriteDone WriteState = "written"
	// WriteUnknown: the reply to the write was lost and the key could not
	// be read back; the new value may or may not be in place.
	WriteUnknown WriteState = "unknown"
)

// ErrOutcomeUnknown marks a write whose outcome k3sca could not learn
// (exit 4); UnknownOutcomeError names the command that finds out.
var ErrOutcomeUnknown = errors.New("the outcome of the write is unknown")

// UnknownOutcomeError is a write whose reply was lost and whose key could
// not be read back.
type UnknownOutcomeError struct {
	// Key is the key written.
	Key string
	// Write is the error the write returned; Read the read-back's.
	Write, Read error
	// Check is the command that tells whether the new value is in place.
	Check string
}

// Error implements error.
func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("%v: writing %s failed (%v) and reading it back failed (%v): the new value may or may not be in place; find out with: %s",
		ErrOutcomeUnknown, e.Key, e.Write, e.Read, e.Check)
}

// Unwrap returns ErrOutcomeUnknown and the write's error.
func (e *UnknownOutcomeError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.Write} }

// readBack reads key after a write whose reply is unknown (an error other
// than a refused compare-and-swap) and reports what is in place: WriteDone
// when isNew accepts the live value, WriteNone otherwise (the old value,
// or another writer's). A failed read on b is tried once more on a fresh
// connection from reopen (a reset connection, a broken SQLite handle); when
// that fails too the state is WriteUnknown and err the read's error.
func readBack(ctx context.Context, b datastore.Backend, reopen func(context.Context) (datastore.Backend, error),
	key string, isNew func(datastore.KV) bool) (WriteState, datastore.KV, error) {
	ctx = context.WithoutCancel(ctx)
	kv, err := b.Get(ctx, key)
	if err != nil && !errors.Is(err, datastore.ErrKeyNotFound) && reopen != nil {
		if fresh, oerr := reopen(ctx); oerr == nil {
			kv, err = fresh.Get(ctx, key)
			_ = fresh.Close()
		}
	}
	switch {
	case errors.Is(err, datastore.ErrKeyNotFound):
		return WriteNone, datastore.KV{}, nil
	case err != nil:
		return WriteUnknown, datastore.KV{}, err
	case isNew(kv):
		return WriteDone, kv, nil
	}
	return WriteNone, kv, nil
}
