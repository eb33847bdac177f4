package steps

import (
	"bytes"
	"context"
	"testing"

	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestSandboxReadableByShippedKine opens a new sandbox's state.db, and the
// same file after a k3sca load wrote it directly, with kine v0.16.4 (the
// kine k3s v1.36 pins, which cannot read a NULL create_revision) and reads
// the bootstrap key through it: what the datastore holds is what k3s as it
// ships today would read at its next start.
func TestSandboxReadableByShippedKine(t *testing.T) {
	sb := sandboxtest.New(t)
	seeded := stKV(t, sb)
	value, _, modRev := testservers.Kine016Get(t, sandboxtest.DBPath(sb), sb.Key)
	if !bytes.Equal(value, seeded.Value) || modRev != seeded.ModRevision {
		t.Fatalf("kine v0.16.4 read revision %d of the sandbox's key, want revision %d with the seeded value", modRev, seeded.ModRevision)
	}
	l := NewLoad(stInput(sb, sandboxtest.Stage(t, sb), ViaSQLite))
	if _, err := l.Run(context.Background()); err != nil {
		t.Fatalf("load: %v", err)
	}
	loaded := stKV(t, sb)
	value, _, modRev = testservers.Kine016Get(t, sandboxtest.DBPath(sb), sb.Key)
	if !bytes.Equal(value, loaded.Value) || modRev != l.Result().NewRevision {
		t.Fatalf("kine v0.16.4 read revision %d after the load, want %d with the loaded value", modRev, l.Result().NewRevision)
	}
}
