package testkit

import (
	"path/filepath"
	"runtime"
)

// RepoRoot is the repository's top directory, found from this source file
// so that a test of any package can reach the shared testdata/.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("testkit: no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Testdata is the path of rel under the repository's top-level testdata/,
// the fixtures several packages share.
func Testdata(rel string) string {
	return filepath.Join(RepoRoot(), "testdata", filepath.FromSlash(rel))
}

// KATPath is the project's copy of the known-answer vectors of the shared
// contract (shared/testvectors/bootstrap-kat.json).
func KATPath() string { return Testdata("kat/bootstrap-kat.json") }
