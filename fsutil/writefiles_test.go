package fsutil

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
)

// TestWriteFiles: every file gets its content, mode and mtime, with no temp
// file left; when one file cannot be written, or ctx is cancelled, no file
// of the call is written and no temp file is left.
func TestWriteFiles(t *testing.T) {
	now := testkit.Now
	tests := []struct {
		name    string
		cancel  bool
		setup   func(t *testing.T, root string) // before the call
		files   func(root string) []File
		wantErr error
	}{
		{"writes all", false, nil, func(root string) []File {
			return []File{
				{Path: filepath.Join(root, "ca/root.key"), Data: []byte("k"), Mode: ModeSecret, Mtime: now},
				{Path: filepath.Join(root, "tls/a.crt"), Data: []byte("a"), Mode: ModePublic, Mtime: now},
				{Path: filepath.Join(root, "tls/etcd/b.crt"), Data: []byte("b"), Mode: ModePublic, Mtime: now},
				{Path: filepath.Join(root, "tls/a.key"), Data: []byte("ak"), Mode: ModeSecret, Mtime: now},
			}
		}, nil},
		{"a symlink among them", false, func(t *testing.T, root string) {
			if err := os.MkdirAll(filepath.Join(root, "tls"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/etc/passwd", filepath.Join(root, "tls/b.crt")); err != nil {
				t.Fatal(err)
			}
		}, func(root string) []File {
			return []File{
				{Path: filepath.Join(root, "tls/a.crt"), Data: []byte("a"), Mode: ModePublic, Mtime: now},
				{Path: filepath.Join(root, "tls/b.crt"), Data: []byte("b"), Mode: ModePublic, Mtime: now},
			}
		}, ErrSymlink},
		{"no mtime", false, nil, func(root string) []File {
			return []File{
				{Path: filepath.Join(root, "tls/a.crt"), Data: []byte("a"), Mode: ModePublic, Mtime: now},
				{Path: filepath.Join(root, "tls/b.crt"), Data: []byte("b"), Mode: ModePublic},
			}
		}, ErrNoMtime},
		{"cancelled", true, nil, func(root string) []File {
			return []File{{Path: filepath.Join(root, "tls/a.crt"), Data: []byte("a"), Mode: ModePublic, Mtime: now}}
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, root)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			files := tt.files(root)
			err := WriteFiles(ctx, files)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("WriteFiles = %v, want %v", err, tt.wantErr)
			}
			_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.Contains(d.Name(), ".tmp-") {
					t.Errorf("temp file left: %s", p)
				}
				return nil
			})
			for _, f := range files {
				fi, err := os.Lstat(f.Path)
				if tt.wantErr != nil {
					if err == nil && fi.Mode().IsRegular() {
						t.Errorf("%s written by a failed WriteFiles", f.Path)
					}
					continue
				}
				data, rerr := os.ReadFile(f.Path)
				if err != nil || rerr != nil || string(data) != string(f.Data) || fi.Mode().Perm() != f.Mode || !fi.ModTime().Equal(f.Mtime) {
					t.Errorf("%s: %v %v, %q mode %v mtime %v; want %q %v %v", f.Path, err, rerr, data, fi.Mode(), fi.ModTime(), f.Data, f.Mode, f.Mtime)
				}
			}
		})
	}
}
