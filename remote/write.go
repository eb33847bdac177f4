package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// backupSuffix is put between a file's name and the Unix time of the
// caller's clock to name its backup.
const backupSuffix = ".k3sca-bak-"

// BackupName is the first backup name WriteFile tries for p at Unix time
// unix: p.k3sca-bak-<unix>. A taken name gets ".2", ".3", … appended.
func BackupName(p string, unix int64) string {
	return p + backupSuffix + strconv.FormatInt(unix, 10)
}

// writeAtomic is WriteFile on any fileSystem:
//
//  1. path is checked: absolute, not a symlink, a regular file if it
//     exists; its parent directory exists (or is made with opts.DirMode).
//  2. An existing file is backed up first: its bytes go to a temp file
//     beside it that gets the file's mode, owner and mtime, is fsynced and
//     is then hard-linked to the backup name (a hard link never replaces an
//     existing name, so no earlier backup is overwritten and the backup
//     name only ever appears complete).
//  3. The new contents go to another temp file in the same directory:
//     created empty and private, chowned to the existing (or asked) owner,
//     chmodded to the existing (or asked) mode, written, fsynced, closed,
//     given opts.ModTime if set, then renamed over path, and the directory
//     is synced.
//
// Temp names are .<name>.k3sca-tmp-<random>: hidden, and not ending in
// .yaml, so k3s never loads one from config.yaml.d. A failure before the
// rename leaves the file untouched and removes the temp file. Temp files
// of path that a writer killed mid-write left behind (that name, 12 hex
// digits) are removed first: a rerun cleans up after the killed run.
func writeAtomic(ctx context.Context, f fileSystem, p string, data []byte, opts WriteOptions) (string, error) {
	if err := checkPath(p); err != nil {
		return "", err
	}
	if opts.Now.IsZero() {
		return "", ErrNoClock
	}
	cur, err := f.lstat(p)
	if err != nil {
		return "", err
	}
	if cur.Exists && cur.Symlink {
		return "", fmt.Errorf("%s: %w", p, ErrSymlink)
	}
	if cur.Exists && !cur.Mode.IsRegular() {
		return "", fmt.Errorf("%s (%s): %w", p, cur.Mode.Type(), ErrNotRegular)
	}
	dir := path.Dir(p)
	if err := ensureDir(f, dir, opts.DirMode); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := removeStaleTemps(f, p); err != nil {
		return "", err
	}

	mode, owner := opts.Mode.Perm(), opts.Owner
	if mode == 0 {
		mode = 0o600
	}
	backup := ""
	if cur.Exists {
		mode, owner = cur.Mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), &Owner{cur.UID, cur.GID}
		old, err := f.readFile(p)
		if err != nil {
			return "", err
		}
		if backup, err = makeBackup(ctx, f, p, old, cur, opts.Now.Unix(), opts.hook); err != nil {
			return "", fmt.Errorf("back up: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return backup, err
	}
	tmp, err := writeTemp(f, p, data, mode, owner)
	if err != nil {
		return backup, err
	}
	opts.hook("temp")
	if !opts.ModTime.IsZero() {
		if err := f.chtimes(tmp, opts.ModTime, opts.ModTime); err != nil {
			_ = f.remove(tmp)
			return backup, fmt.Errorf("set mtime of %s: %w", tmp, err)
		}
	}
	if err := ctx.Err(); err != nil {
		_ = f.remove(tmp)
		return backup, err
	}
	if err := f.rename(tmp, p); err != nil {
		_ = f.remove(tmp)
		return backup, fmt.Errorf("rename %s to %s: %w", tmp, p, err)
	}
	if err := f.syncDir(dir); err != nil {
		return backup, fmt.Errorf("sync %s: %w", dir, err)
	}
	return backup, nil
}

// ensureDir checks that dir is a directory, making it (and its missing
// parents) with mode when mode is not 0.
func ensureDir(f fileSystem, dir string, mode fs.FileMode) error {
	fi, err := statFollow(f, dir)
	if err != nil {
		return err
	}
	if fi.Exists {
		if !fi.Mode.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if mode == 0 {
		return fmt.Errorf("directory %s: %w (no DirMode given to create it)", dir, fs.ErrNotExist)
	}
	if dir == "/" {
		return fmt.Errorf("directory /: %w", fs.ErrNotExist)
	}
	if err := ensureDir(f, path.Dir(dir), mode); err != nil {
		return err
	}
	if err := f.mkdir(dir, mode.Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	// mkdir is subject to the umask; the mode asked for is the mode wanted.
	if err := f.chmod(dir, mode.Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return nil
}

// makeBackup writes old (the contents of p, described by cur) to the first
// free backup name beside p, complete and durable before it gets that name.
// A backup beside p that already holds old with p's mode is kept instead
// of a second one: a writer stopped between the backup and the rename
// (killed, say) left it, and the file was not changed since.
func makeBackup(ctx context.Context, f fileSystem, p string, old []byte, cur FileInfo, unix int64, hook func(string)) (string, error) {
	if name, err := sameBackup(f, p, old, cur); err != nil || name != "" {
		return name, err
	}
	tmp, err := writeTemp(f, p, old, cur.Mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), &Owner{cur.UID, cur.GID})
	if err != nil {
		return "", err
	}
	defer func() { _ = f.remove(tmp) }()
	if err := f.chtimes(tmp, cur.ModTime, cur.ModTime); err != nil {
		return "", fmt.Errorf("set mtime of %s: %w", tmp, err)
	}
	hook("backup temp")
	base := BackupName(p, unix)
	for n := 1; n <= 1000; n++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		name := base
		if n > 1 {
			name = base + "." + strconv.Itoa(n)
		}
		fi, err := f.lstat(name)
		if err != nil {
			return "", err
		}
		if fi.Exists {
			continue
		}
		if err := f.link(tmp, name); err != nil {
			// Taken in between? Then try the next name; else give up.
			if fi, serr := f.lstat(name); serr == nil && fi.Exists {
				continue
			}
			return "", fmt.Errorf("link %s to %s: %w", tmp, name, err)
		}
		return name, nil
	}
	return "", fmt.Errorf("no free backup name for %s", base)
}

// sameBackup returns a backup of p holding old with cur's mode, if one
// exists.
func sameBackup(f fileSystem, p string, old []byte, cur FileInfo) (string, error) {
	names, err := f.readDirNames(path.Dir(p))
	if err != nil {
		return "", err
	}
	prefix := path.Base(p) + backupSuffix
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		name := path.Join(path.Dir(p), n)
		fi, err := f.lstat(name)
		if err != nil || !fi.Exists || !fi.Mode.IsRegular() || fi.Mode != cur.Mode || fi.Size != int64(len(old)) {
			continue
		}
		if b, err := f.readFile(name); err == nil && bytes.Equal(b, old) {
			return name, nil
		}
	}
	return "", nil
}

// tempInfix is put between a file's hidden name and the random part of
// its temp files' names: .<name>.k3sca-tmp-<12 hex digits>.
const tempInfix = ".k3sca-tmp-"

// tempName is a temp file name beside p with random part rnd.
func tempName(p string, rnd []byte) string {
	return path.Join(path.Dir(p), "."+path.Base(p)+tempInfix+hex.EncodeToString(rnd))
}

// isTempOf reports whether name (a base name in p's directory) is one of
// writeTemp's temp files for p.
func isTempOf(name, p string) bool {
	rest, ok := strings.CutPrefix(name, "."+path.Base(p)+tempInfix)
	if !ok || len(rest) != 12 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil && strings.ToLower(rest) == rest
}

// removeStaleTemps removes p's temp files (isTempOf) that a writer killed
// mid-write left beside it. A temp file is only ever renamed or removed
// by the writer that made it, so one that is still there is either stale
// or in use by a concurrent writer of the same file; that writer's rename
// then fails and it leaves the file as it was.
func removeStaleTemps(f fileSystem, p string) error {
	names, err := f.readDirNames(path.Dir(p))
	if err != nil {
		return err
	}
	for _, n := range names {
		if !isTempOf(n, p) {
			continue
		}
		name := path.Join(path.Dir(p), n)
		if fi, err := f.lstat(name); err != nil || !fi.Exists || !fi.Mode.IsRegular() {
			continue
		}
		if err := f.remove(name); err != nil && !isNotExist(err) {
			return fmt.Errorf("remove the stale temp file %s: %w", name, err)
		}
	}
	return nil
}

// hook calls Hook at point, if set.
func (o WriteOptions) hook(point string) {
	if o.Hook != nil {
		o.Hook(point)
	}
}

// writeTemp writes data to a new temp file beside p with mode and owner
// (nil: the writer's), fsynced and closed, and returns its path.
func writeTemp(f fileSystem, p string, data []byte, mode fs.FileMode, owner *Owner) (string, error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("temp name: %w", err)
	}
	tmp := tempName(p, rnd[:])
	w, err := f.createExcl(tmp)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", tmp, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = w.Close()
			_ = f.remove(tmp)
		}
	}()
	if owner != nil {
		fi, err := f.lstat(tmp)
		if err != nil {
			return "", err
		}
		// chown only when it changes something: an unprivileged writer may
		// still write a file it owns itself.
		if fi.UID != owner.UID || fi.GID != owner.GID {
			if err := f.chown(tmp, owner.UID, owner.GID); err != nil {
				return "", fmt.Errorf("keep owner %d:%d on %s: %w", owner.UID, owner.GID, tmp, err)
			}
		}
	}
	// After chown, which clears setuid/setgid bits.
	if err := f.chmod(tmp, mode); err != nil {
		return "", fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := w.Write(data); err != nil {
		return "", fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := w.Sync(); err != nil {
		return "", fmt.Errorf("fsync %s: %w", tmp, err)
	}
	ok = true
	if err := w.Close(); err != nil {
		_ = f.remove(tmp)
		return "", fmt.Errorf("close %s: %w", tmp, err)
	}
	return tmp, nil
}

// isNotExist reports a missing path.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist)
}
