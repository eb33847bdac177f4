package testkit

import (
	"os"
	"path/filepath"
	"testing"
)

// StubJournalctl puts a journalctl first on PATH (for the rest of the
// test) that prints the file journal, as the lines a stand-in server
// logged, and records its arguments, one a line, in argsFile.
func StubJournalctl(t *testing.T, journal string) (argsFile string) {
	t.Helper()
	bin := t.TempDir()
	argsFile = filepath.Join(bin, "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argsFile + "\ncat " + journal + " 2>/dev/null\n"
	if err := os.WriteFile(filepath.Join(bin, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return argsFile
}
