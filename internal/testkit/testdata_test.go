package testkit

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestKATCopyMatchesContract keeps the project's copy of the known-answer
// vectors equal to the shared contract's when the contract is beside the
// clone (CI, a developer's machine); a plain clone has only the copy, which
// must exist and is what every known-answer test reads.
func TestKATCopyMatchesContract(t *testing.T) {
	own, err := os.ReadFile(KATPath())
	if err != nil {
		t.Fatalf("project copy of the vectors: %v", err)
	}
	contract := filepath.Join(RepoRoot(), "..", "shared", "testvectors", "bootstrap-kat.json")
	shared, err := os.ReadFile(contract)
	if errors.Is(err, fs.ErrNotExist) {
		t.Logf("no shared contract at %s (a plain clone): the copy is used as it is", contract)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(own, shared) {
		t.Fatalf("%s differs from the contract %s: copy the contract's vectors again", KATPath(), contract)
	}
}
