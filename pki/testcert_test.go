package pki

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

// tcEpoch is the pinned clock of this helper's tests.
var tcEpoch = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// tcWrite writes data to root/rel with mode, creating parent dirs.
func tcWrite(t testing.TB, root, rel string, data []byte, mode os.FileMode) string {
	t.Helper()
	return testkit.WriteFile(t, filepath.Join(root, filepath.FromSlash(rel)), data, mode)
}
