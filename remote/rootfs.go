package remote

import (
	"io/fs"
	"path"
	"time"
)

// rootFS is a fileSystem whose node paths live under root on the
// underlying one: a sandbox node, locally or over SSH. It maps paths
// lexically; it is a sandbox, not a security boundary. The one way to put
// a node under a root (Local.Root, SSHOptions.Root).
type rootFS struct {
	fs   fileSystem
	root string
}

// underRoot is f with its paths under root ("": f itself).
func underRoot(f fileSystem, root string) fileSystem {
	if root == "" || root == "/" {
		return f
	}
	return rootFS{fs: f, root: root}
}

func (r rootFS) at(p string) string { return path.Join(r.root, p) }

func (r rootFS) lstat(p string) (FileInfo, error) {
	fi, err := r.fs.lstat(r.at(p))
	fi.Path = p
	return fi, err
}

func (r rootFS) stat(p string) (FileInfo, error) {
	fi, err := r.fs.stat(r.at(p))
	fi.Path = p
	return fi, err
}

func (r rootFS) readFile(p string) ([]byte, error)         { return r.fs.readFile(r.at(p)) }
func (r rootFS) readDirNames(dir string) ([]string, error) { return r.fs.readDirNames(r.at(dir)) }
func (r rootFS) createExcl(p string) (fileWriter, error)   { return r.fs.createExcl(r.at(p)) }
func (r rootFS) chown(p string, uid, gid int) error        { return r.fs.chown(r.at(p), uid, gid) }
func (r rootFS) chmod(p string, mode fs.FileMode) error    { return r.fs.chmod(r.at(p), mode) }
func (r rootFS) link(oldp, newp string) error              { return r.fs.link(r.at(oldp), r.at(newp)) }
func (r rootFS) rename(oldp, newp string) error            { return r.fs.rename(r.at(oldp), r.at(newp)) }
func (r rootFS) remove(p string) error                     { return r.fs.remove(r.at(p)) }
func (r rootFS) mkdir(p string, mode fs.FileMode) error    { return r.fs.mkdir(r.at(p), mode) }
func (r rootFS) syncDir(dir string) error                  { return r.fs.syncDir(r.at(dir)) }
func (r rootFS) chtimes(p string, atime, mtime time.Time) error {
	return r.fs.chtimes(r.at(p), atime, mtime)
}
