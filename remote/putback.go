package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// ErrChangedSince refuses a put-back: the file no longer holds what the
// caller expects (what the rollout wrote); someone changed it since.
var ErrChangedSince = errors.New("the file changed since it was read")

// ErrNotABackup refuses a put-back from a path that is not one of the
// file's own backups (p.k3sca-bak-…, beside it).
var ErrNotABackup = errors.New("not a k3sca backup of the file")

// BackupGlob is the pattern matching every backup WriteFile made of p.
func BackupGlob(p string) string { return p + backupSuffix + "*" }

// isBackupOf reports whether backup is named as one of p's backups.
func isBackupOf(backup, p string) bool {
	rest, ok := strings.CutPrefix(backup, p+backupSuffix)
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// putBackAtomic is PutBack on any fileSystem: p (a regular file, not a
// symlink, holding exactly expect) is replaced by backup's bytes with
// backup's mode, owner and mtime (a backup keeps those of the file it was
// made of), through a temp file beside p that is fsynced and renamed over
// p; the directory is synced. The backup stays. p is read again right
// before the rename: a change in between is refused too, and leaves p as
// it is.
func putBackAtomic(ctx context.Context, f fileSystem, p, backup string, expect []byte, hook func(string)) error {
	if err := checkPath(p); err != nil {
		return err
	}
	if err := checkPath(backup); err != nil {
		return err
	}
	if !isBackupOf(backup, p) {
		return fmt.Errorf("%s: %w %s", backup, ErrNotABackup, p)
	}
	bi, err := f.lstat(backup)
	if err != nil {
		return err
	}
	if !bi.Exists {
		return fmt.Errorf("backup %s: %w", backup, fs.ErrNotExist)
	}
	if bi.Symlink || !bi.Mode.IsRegular() {
		return fmt.Errorf("backup %s: %w", backup, ErrNotRegular)
	}
	cur, err := f.lstat(p)
	if err != nil {
		return err
	}
	if cur.Exists && cur.Symlink {
		return fmt.Errorf("%s: %w", p, ErrSymlink)
	}
	if cur.Exists && !cur.Mode.IsRegular() {
		return fmt.Errorf("%s (%s): %w", p, cur.Mode.Type(), ErrNotRegular)
	}
	same := func() error {
		b, err := f.readFile(p)
		if isNotExist(err) || (err == nil && !bytes.Equal(b, expect)) {
			return fmt.Errorf("%s: %w", p, ErrChangedSince)
		}
		return err
	}
	if err := same(); err != nil {
		return err
	}
	data, err := f.readFile(backup)
	if err != nil {
		return err
	}
	if err := removeStaleTemps(f, p); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tmp, err := writeTemp(f, p, data, bi.Mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), &Owner{bi.UID, bi.GID})
	if err != nil {
		return err
	}
	if err := f.chtimes(tmp, bi.ModTime, bi.ModTime); err != nil {
		_ = f.remove(tmp)
		return fmt.Errorf("set mtime of %s: %w", tmp, err)
	}
	hook("temp")
	if err := ctx.Err(); err != nil {
		_ = f.remove(tmp)
		return err
	}
	if err := same(); err != nil {
		_ = f.remove(tmp)
		return err
	}
	if err := f.rename(tmp, p); err != nil {
		_ = f.remove(tmp)
		return fmt.Errorf("rename %s to %s: %w", tmp, p, err)
	}
	if err := f.syncDir(path.Dir(p)); err != nil {
		return fmt.Errorf("sync %s: %w", path.Dir(p), err)
	}
	return nil
}
