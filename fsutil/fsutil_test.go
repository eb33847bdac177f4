package fsutil

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
)

func mkfile(t *testing.T, p string, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	old := syscall.Umask(0o077) // the mode must not depend on the umask
	defer syscall.Umask(old)
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir, p string)
		mode    fs.FileMode
		wantErr error
	}{
		{name: "new secret", mode: ModeSecret},
		{name: "new public despite umask", mode: ModePublic},
		{name: "replace with a new mode", mode: ModePublic, setup: func(t *testing.T, dir, p string) { mkfile(t, p, "old", 0o600) }},
		{name: "parent dirs created", mode: ModeSecret, setup: func(t *testing.T, dir, p string) {}},
		{name: "symlink refused", mode: ModeSecret, wantErr: ErrSymlink, setup: func(t *testing.T, dir, p string) {
			mkfile(t, filepath.Join(dir, "target"), "target", 0o644)
			if err := os.Symlink(filepath.Join(dir, "target"), p); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "dangling symlink refused", mode: ModeSecret, wantErr: ErrSymlink, setup: func(t *testing.T, dir, p string) {
			if err := os.Symlink(filepath.Join(dir, "nowhere"), p); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "sub", "f")
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if tt.name == "parent dirs created" {
				p = filepath.Join(dir, "a", "b", "f")
			}
			if tt.setup != nil {
				tt.setup(t, dir, p)
			}
			err := WriteFile(p, []byte("new"), tt.mode, testkit.Now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if b, _ := os.ReadFile(filepath.Join(dir, "target")); len(b) > 0 && string(b) != "target" {
					t.Fatal("symlink target was written")
				}
				if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
					t.Fatal("dangling symlink target was created")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			fi, serr := os.Lstat(p)
			if err != nil || serr != nil || string(b) != "new" || fi.Mode() != tt.mode {
				t.Fatalf("file = %q mode %v (%v %v)", b, fi.Mode(), err, serr)
			}
			if !fi.ModTime().Equal(testkit.Now) {
				t.Fatalf("mtime = %v, want the caller's clock %v", fi.ModTime(), testkit.Now)
			}
			if names := entries(t, filepath.Dir(p)); len(names) != 1 {
				t.Fatalf("leftover temp files: %v", names)
			}
		})
	}
}

// TestWriteFileAtomic shows the old inode is never written in place: a hard
// link to the old file keeps the old content.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	mkfile(t, p, "old", 0o644)
	if err := os.Link(p, filepath.Join(dir, "keep")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), ModePublic, testkit.Now); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keep")); string(b) != "old" {
		t.Fatalf("old inode rewritten: %q", b)
	}
	if err := WriteFile(p, []byte("x"), ModePublic, time.Time{}); !errors.Is(err, ErrNoMtime) {
		t.Fatalf("write without a clock: err = %v, want %v", err, ErrNoMtime)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("refused write changed the file: %q", b)
	}
	// a failed write leaves neither a temp file nor a changed target
	if err := os.Mkdir(filepath.Join(dir, "isdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "isdir"), []byte("x"), ModePublic, testkit.Now); err == nil {
		t.Fatal("rename over a directory succeeded")
	}
	if names := entries(t, dir); len(names) != 3 {
		t.Fatalf("leftovers after a failed write: %v", names)
	}
}

func TestCheckStagingDir(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, root, live string) string // returns the staging dir
		overwrite bool
		noLive    bool
		wantErr   error
		anyErr    bool
	}{
		{name: "missing dir is fine", setup: func(t *testing.T, root, live string) string { return filepath.Join(root, "stage") }},
		{name: "empty dir is fine", setup: func(t *testing.T, root, live string) string {
			p := filepath.Join(root, "stage")
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "the live tls dir", wantErr: ErrLiveTLSDir, overwrite: true, setup: func(t *testing.T, root, live string) string { return live }},
		{name: "inside the live tls dir", wantErr: ErrLiveTLSDir, setup: func(t *testing.T, root, live string) string { return filepath.Join(live, "new", "x") }},
		{name: "the server dir holding the live tls dir", wantErr: ErrLiveTLSDir, overwrite: true, setup: func(t *testing.T, root, live string) string { return filepath.Dir(live) }},
		{name: "through a symlinked path", wantErr: ErrLiveTLSDir, setup: func(t *testing.T, root, live string) string {
			link := filepath.Join(root, "link")
			if err := os.Symlink(filepath.Dir(live), link); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(link, "tls", "stage")
		}},
		{name: "dotdot into the live dir", wantErr: ErrLiveTLSDir, setup: func(t *testing.T, root, live string) string {
			return filepath.Join(root, "other", "..", "server", "tls", "x")
		}},
		{name: "sibling with a common prefix", setup: func(t *testing.T, root, live string) string { return live + "-1780315200" }},
		{name: "no live dir given", noLive: true, setup: func(t *testing.T, root, live string) string { return filepath.Join(live, "x") }},
		{name: "non-empty without overwrite", wantErr: ErrNotEmpty, setup: func(t *testing.T, root, live string) string {
			mkfile(t, filepath.Join(root, "stage", "tls", "server-ca.crt"), "x", 0o644)
			return filepath.Join(root, "stage")
		}},
		{name: "non-empty with overwrite", overwrite: true, setup: func(t *testing.T, root, live string) string {
			mkfile(t, filepath.Join(root, "stage", "tls", "server-ca.crt"), "x", 0o644)
			return filepath.Join(root, "stage")
		}},
		{name: "symlink inside", overwrite: true, wantErr: ErrSymlink, setup: func(t *testing.T, root, live string) string {
			mkfile(t, filepath.Join(root, "stage", "tls", "a"), "x", 0o644)
			if err := os.Symlink(filepath.Join(live, "server-ca.key"), filepath.Join(root, "stage", "tls", "server-ca.key")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(root, "stage")
		}},
		{name: "staging dir is a symlink", overwrite: true, wantErr: ErrSymlink, setup: func(t *testing.T, root, live string) string {
			if err := os.Mkdir(filepath.Join(root, "real"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(root, "real"), filepath.Join(root, "stage")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(root, "stage")
		}},
		{name: "a file", anyErr: true, setup: func(t *testing.T, root, live string) string {
			mkfile(t, filepath.Join(root, "file"), "x", 0o644)
			return filepath.Join(root, "file")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			live := filepath.Join(root, "server", "tls")
			mkfile(t, filepath.Join(live, "server-ca.key"), "secret", 0o600)
			dir := tt.setup(t, root, live)
			if tt.noLive {
				live = ""
			}
			err := CheckStagingDir(dir, live, tt.overwrite)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.anyErr:
				if err == nil {
					t.Fatal("accepted")
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestIsWithin(t *testing.T) {
	tests := []struct {
		path, dir string
		want      bool
	}{
		{"/a/b", "/a/b", true}, {"/a/b/c", "/a/b", true}, {"/a/bc", "/a/b", false},
		{"/a", "/a/b", false}, {"/a/b/../c", "/a/b", false}, {"/a/b/./c/", "/a/b", true},
	}
	for _, tt := range tests {
		if got := IsWithin(tt.path, tt.dir); got != tt.want {
			t.Errorf("IsWithin(%s, %s) = %v", tt.path, tt.dir, got)
		}
	}
}

func TestCopyDir(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, src, dst string)
		wantErr error
		anyErr  bool
	}{
		{name: "modes kept"},
		{name: "symlink refused", wantErr: ErrSymlink, setup: func(t *testing.T, src, dst string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(src, "sub", "link")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "existing dst refused", anyErr: true, setup: func(t *testing.T, src, dst string) {
			if err := os.Mkdir(dst, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			src, dst := filepath.Join(root, "src"), filepath.Join(root, "dst")
			mkfile(t, filepath.Join(src, "key"), "k", 0o600)
			mkfile(t, filepath.Join(src, "sub", "crt"), "c", 0o644)
			if tt.setup != nil {
				tt.setup(t, src, dst)
			}
			err := CopyDir(context.Background(), src, dst)
			switch {
			case tt.wantErr != nil || tt.anyErr:
				if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			for rel, want := range map[string]fs.FileMode{"key": 0o600, "sub/crt": 0o644} {
				fi, err := os.Stat(filepath.Join(dst, rel))
				if err != nil || fi.Mode().Perm() != want {
					t.Errorf("%s: %v %v, want mode %o", rel, fi, err, want)
				}
			}
		})
	}
}
