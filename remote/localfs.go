package remote

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// osFS is the local file system (under a root: underRoot).
type osFS struct{}

var _ fileSystem = osFS{}

func (o osFS) host(p string) string { return filepath.FromSlash(p) }

func (o osFS) lstat(p string) (FileInfo, error) {
	fi, err := os.Lstat(o.host(p))
	// A path through a file (ENOTDIR) does not exist either.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return FileInfo{Path: p}, nil
	}
	if err != nil {
		return FileInfo{}, err
	}
	return localInfo(p, fi), nil
}

func (o osFS) stat(p string) (FileInfo, error) {
	fi, err := os.Stat(o.host(p))
	if err != nil {
		return FileInfo{}, err
	}
	return localInfo(p, fi), nil
}

func localInfo(p string, fi fs.FileInfo) FileInfo {
	out := FileInfo{Path: p, Exists: true, Symlink: fi.Mode()&fs.ModeSymlink != 0, Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.UID, out.GID = int(st.Uid), int(st.Gid)
	}
	return out
}

func (o osFS) readFile(p string) ([]byte, error) { return os.ReadFile(o.host(p)) }

func (o osFS) readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(o.host(dir))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

func (o osFS) createExcl(p string) (fileWriter, error) {
	return os.OpenFile(o.host(p), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func (o osFS) chown(p string, uid, gid int) error { return os.Lchown(o.host(p), uid, gid) }

func (o osFS) chmod(p string, mode fs.FileMode) error { return os.Chmod(o.host(p), mode) }

func (o osFS) chtimes(p string, atime, mtime time.Time) error {
	return os.Chtimes(o.host(p), atime, mtime)
}

func (o osFS) link(oldp, newp string) error { return os.Link(o.host(oldp), o.host(newp)) }

func (o osFS) rename(oldp, newp string) error { return os.Rename(o.host(oldp), o.host(newp)) }

func (o osFS) remove(p string) error { return os.Remove(o.host(p)) }

func (o osFS) mkdir(p string, mode fs.FileMode) error { return os.Mkdir(o.host(p), mode) }

func (o osFS) syncDir(dir string) error {
	d, err := os.Open(o.host(dir))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
