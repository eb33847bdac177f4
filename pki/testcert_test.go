package pki

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// tcEpoch is the pinned clock of this helper's tests.
var tcEpoch = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// tcWrite writes data to root/rel with mode, creating parent dirs.
func tcWrite(t testing.TB, root, rel string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatalf("chmod %s: %v", p, err)
	}
	return p
}
