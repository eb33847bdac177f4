package datastore

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
)

// TestWriteToDiskKeepsModes pins what k3s's reconciliation does to modes:
// WriteToDiskFromStorage calls os.WriteFile(path, data, 0600), and Go's
// os.WriteFile keeps the mode of an existing file. So after a start that
// took new CAs from the datastore, a CA .crt that was 0644 is still 0644,
// and only a file that was missing is created 0600. The first case of the
// table shows os.WriteFile itself behaving so (the spec's §2.3 "0600, .crt
// files too" holds only for new files).
func TestWriteToDiskKeepsModes(t *testing.T) {
	t.Run("os.WriteFile keeps an existing file's mode", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(p, []byte("a"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("b"), 0o600); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
			t.Fatalf("os.WriteFile changed the mode to %v", fi.Mode().Perm())
		}
	})
	tests := []struct {
		name     string
		existing fs.FileMode // 0: the file is missing
		want     fs.FileMode
	}{
		{"existing certificate stays 0644", 0o644, 0o644},
		{"existing key stays 0600", 0o600, 0o600},
		{"missing file is created 0600", 0, 0o600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "tls", "server-ca.crt")
			if tc.existing != 0 {
				bWrite(t, dir, "tls/server-ca.crt", "old", testkit.Now)
				if err := os.Chmod(p, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			b := Bootstrap{"ServerCA": {Timestamp: testkit.Now, Content: []byte("new")}}
			if err := b.WriteToDisk(t.Context(), dir); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.want || !fi.ModTime().Equal(testkit.Now) {
				t.Fatalf("mode %v mtime %v, want %v and %v", fi.Mode().Perm(), fi.ModTime(), tc.want, testkit.Now)
			}
			if got, _ := os.ReadFile(p); string(got) != "new" {
				t.Fatalf("content %q", got)
			}
		})
	}
}
