package remote

import (
	"io"
	"io/fs"
	"time"
)

// fileSystem is what the shared file algorithms (atomic write, backup,
// glob, stat) need from a node: the local file system (under a root) or an
// SFTP session. Paths are absolute node paths. A missing path is reported
// with an error matching fs.ErrNotExist, except by lstat, which returns a
// FileInfo with Exists false.
type fileSystem interface {
	lstat(p string) (FileInfo, error)
	stat(p string) (FileInfo, error)
	readFile(p string) ([]byte, error)
	readDirNames(dir string) ([]string, error)
	// createExcl creates a new file (failing if p exists) with
	// permissions no wider than 0600 until chmod.
	createExcl(p string) (fileWriter, error)
	chown(p string, uid, gid int) error
	chmod(p string, mode fs.FileMode) error
	chtimes(p string, atime, mtime time.Time) error
	// link makes newp a hard link to oldp and fails if newp exists.
	link(oldp, newp string) error
	// rename replaces newp by oldp atomically.
	rename(oldp, newp string) error
	remove(p string) error
	mkdir(p string, mode fs.FileMode) error
	// syncDir makes a rename in dir durable where the file system can.
	syncDir(dir string) error
}

// fileWriter is a file being written.
type fileWriter interface {
	io.Writer
	Sync() error
	Close() error
}

// statFollow is Stat of Node: lstat, then stat of the target of a symlink.
func statFollow(f fileSystem, p string) (FileInfo, error) {
	fi, err := f.lstat(p)
	if err != nil || !fi.Exists || !fi.Symlink {
		return fi, err
	}
	target, err := f.stat(p)
	if err != nil {
		if isNotExist(err) {
			return FileInfo{Path: p, Symlink: true}, nil
		}
		return FileInfo{}, err
	}
	target.Path, target.Symlink = p, true
	return target, nil
}
