package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExists: DirExists is true only for a directory (also through a
// symlink), FileExists only for a regular file (also through a symlink);
// neither for what is missing.
func TestExists(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	mkfile(t, file, "x", 0o600)
	sub := filepath.Join(dir, "d")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	linkDir, linkFile, dangling := filepath.Join(dir, "ld"), filepath.Join(dir, "lf"), filepath.Join(dir, "dangling")
	for link, target := range map[string]string{linkDir: sub, linkFile: file, dangling: filepath.Join(dir, "none")} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path       string
		dir, isReg bool
	}{
		{sub, true, false},
		{linkDir, true, false},
		{file, false, true},
		{linkFile, false, true},
		{dangling, false, false},
		{filepath.Join(dir, "missing"), false, false},
		{filepath.Join(file, "under-a-file"), false, false},
	}
	for _, tc := range tests {
		if got := DirExists(tc.path); got != tc.dir {
			t.Errorf("DirExists(%s) = %t, want %t", tc.path, got, tc.dir)
		}
		if got := FileExists(tc.path); got != tc.isReg {
			t.Errorf("FileExists(%s) = %t, want %t", tc.path, got, tc.isReg)
		}
	}
}
