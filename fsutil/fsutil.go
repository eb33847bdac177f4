// Package fsutil writes files atomically with explicit modes and guards
// staging directories against symlinks and the live k3s tls directory.
package fsutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Modes k3sca writes: private keys and credentials 0600, certificates 0644.
const (
	ModeSecret fs.FileMode = 0o600
	ModePublic fs.FileMode = 0o644
	ModeDir    fs.FileMode = 0o700
)

// Errors for unsafe targets.
var (
	ErrSymlink    = errors.New("refusing to follow a symlink")
	ErrLiveTLSDir = errors.New("refusing to write into the live k3s tls directory")
	ErrNotEmpty   = errors.New("directory is not empty")
	// ErrNoMtime refuses a write without the caller's clock.
	ErrNoMtime = errors.New("no modification time given (the caller's clock)")
)

// WriteFile writes data to path atomically: a temp file in the same
// directory, fsync, chmod, mtime (and atime) set to mtime, rename, fsync of
// the directory. An existing symlink at path is refused rather than
// followed.
//
// mtime is required: k3s compares file mtimes with the datastore's
// timestamps at every start, so every file k3sca writes carries the time of
// the caller's clock (time.Now in production, the pinned clock in tests),
// never the wall clock behind its back. A zero mtime is an error.
func WriteFile(path string, data []byte, mode fs.FileMode, mtime time.Time) error {
	return WriteFileFrom(path, mode, mtime, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFileFrom is WriteFile for content that fill streams (an etcd
// snapshot, too big to hold in memory): fill writes into the temp file;
// when it fails nothing is renamed and the temp file is removed.
func WriteFileFrom(path string, mode fs.FileMode, mtime time.Time, fill func(io.Writer) error) error {
	tmp, err := writeTemp(path, mode, mtime, fill)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// File is one file for WriteFiles.
type File struct {
	// Path is where the file goes.
	Path string
	// Data is its content.
	Data []byte
	// Mode is its permission bits.
	Mode fs.FileMode
	// Mtime is its modification (and access) time; required, as for WriteFile.
	Mtime time.Time
}

// writeConcurrency bounds the temp files WriteFiles writes and syncs at
// once: concurrent fsyncs share the file system's journal commits.
const writeConcurrency = 16

// WriteFiles writes every file as WriteFile does, with the same modes,
// mtimes and atomic renames, faster: the temp files are written and synced
// concurrently, then renamed into place in the order of files, then each
// directory is synced once. When a temp file cannot be written, or ctx is
// cancelled before the renames, no file is renamed and the temp files are
// removed: nothing of files is written. The error is that of the first
// failing file in files order.
func WriteFiles(ctx context.Context, files []File) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tmps := make([]string, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, writeConcurrency)
	var wg sync.WaitGroup
	for i, f := range files {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return
			}
			tmps[i], errs[i] = writeTemp(f.Path, f.Mode, f.Mtime, func(w io.Writer) error {
				_, err := w.Write(f.Data)
				return err
			})
		}()
	}
	wg.Wait()
	removeTemps := func(from int) {
		for _, t := range tmps[from:] {
			if t != "" {
				_ = os.Remove(t)
			}
		}
	}
	for _, err := range errs {
		if err != nil {
			removeTemps(0)
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		removeTemps(0)
		return err
	}
	var dirs []string
	for i, f := range files {
		if err := os.Rename(tmps[i], f.Path); err != nil {
			removeTemps(i)
			return fmt.Errorf("rename %s: %w", f.Path, err)
		}
		if d := filepath.Dir(f.Path); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	derrs := make([]error, len(dirs))
	for i, d := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			derrs[i] = SyncDir(d)
		}()
	}
	wg.Wait()
	return errors.Join(derrs...)
}

// writeTemp writes what fill writes to a synced temp file beside path,
// with mode and mtime, and returns its name. An existing symlink at path is
// refused.
func writeTemp(path string, mode fs.FileMode, mtime time.Time, fill func(io.Writer) error) (string, error) {
	if mtime.IsZero() {
		return "", fmt.Errorf("write %s: %w", path, ErrNoMtime)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("write %s: %w", path, ErrSymlink)
	}
	if err := os.MkdirAll(dir, ModeDir); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return "", fmt.Errorf("chmod %s: %w", name, err)
	}
	if err := fill(tmp); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Chtimes(name, mtime, mtime); err != nil {
		return "", fmt.Errorf("set mtime of %s: %w", name, err)
	}
	ok = true
	return name, nil
}

// SyncDir makes a rename in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// IsWithin reports whether path is dir or lies inside it, after resolving
// symlinks of the parts that exist.
func IsWithin(path, dir string) bool {
	p, d := resolve(path), resolve(dir)
	if p == d {
		return true
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolve makes path absolute and resolves symlinks in its longest existing prefix.
func resolve(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	rest := ""
	for cur := abs; ; cur = filepath.Dir(cur) {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		if cur == filepath.Dir(cur) {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

// CheckStagingDir refuses a staging dir that is, lies inside or contains
// liveTLSDir (a staging root D would receive its files at D/tls, the live
// dir), that contains a symlink anywhere below it, or (unless overwrite) that
// exists and is not empty. A missing dir is fine; it will be created.
func CheckStagingDir(dir, liveTLSDir string, overwrite bool) error {
	if liveTLSDir != "" && (IsWithin(dir, liveTLSDir) || IsWithin(liveTLSDir, dir)) {
		return fmt.Errorf("staging dir %s: %w %s", dir, ErrLiveTLSDir, liveTLSDir)
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("staging dir %s: %w", dir, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("staging dir %s is a symlink: %w", dir, ErrSymlink)
	}
	if !fi.IsDir() {
		return fmt.Errorf("staging dir %s is not a directory", dir)
	}
	if err := RefuseSymlinks(dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("staging dir %s: %w", dir, err)
	}
	if len(entries) > 0 && !overwrite {
		return fmt.Errorf("staging dir %s: %w (use --overwrite to replace its files)", dir, ErrNotEmpty)
	}
	return nil
}

// RefuseSymlinks walks dir and fails on the first symlink inside it.
func RefuseSymlinks(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink: %w", p, ErrSymlink)
		}
		return nil
	})
}

// CopyDir copies src to the new dir dst, preserving permission bits of
// files and directories. It fails on an existing dst, on symlinks and on
// special files instead of following them.
func CopyDir(ctx context.Context, src, dst string) error {
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var dirs []dirMode
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("stat %s: %w", p, err)
			}
			if err := os.Mkdir(target, 0o700); err != nil {
				return fmt.Errorf("create %s: %w", target, err)
			}
			dirs = append(dirs, dirMode{target, fi.Mode().Perm()})
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s: %w", p, ErrSymlink)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file", p)
		}
		return CopyFile(p, target)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i].path, dirs[i].mode); err != nil {
			return fmt.Errorf("chmod %s: %w", dirs[i].path, err)
		}
	}
	return nil
}

// CopyFile copies a regular file to a new path with the same permission
// bits and modification time (k3s compares mtimes with the datastore, so a
// copy must not look newer than its source), refusing to follow a symlink
// at either end.
func CopyFile(src, dst string) error {
	lfi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if lfi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s: %w", src, ErrSymlink)
	}
	if !lfi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", src)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if !os.SameFile(lfi, fi) {
		return fmt.Errorf("%s changed while being copied", src)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		_ = out.Close()
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dst, err)
	}
	if err := os.Chtimes(dst, fi.ModTime(), fi.ModTime()); err != nil {
		return fmt.Errorf("set mtime of %s: %w", dst, err)
	}
	return nil
}
