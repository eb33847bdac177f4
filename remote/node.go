package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"
)

// Node is one machine of the cluster as a rollout reaches it: run a
// command, read, inspect, list and atomically rewrite files. Paths are
// absolute paths on the node. Implementations: *Local and *SSH.
type Node interface {
	// Endpoint says which node this is (host, user, or local).
	Endpoint() Endpoint
	// Run runs argv (argv[0] is the program) and returns its output. A
	// non-zero exit is an *ExitError carrying the exit code and stderr.
	Run(ctx context.Context, argv []string) (stdout, stderr []byte, err error)
	// ReadFile returns the contents of the file at path.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Stat describes path, following a final symlink. A missing path is
	// not an error: the FileInfo has Exists false.
	Stat(ctx context.Context, path string) (FileInfo, error)
	// Glob returns the paths matching pattern (filepath.Match syntax in
	// each path element, e.g. /etc/rancher/k3s/config.yaml.d/*.yaml),
	// sorted; no match is an empty result, not an error.
	Glob(ctx context.Context, pattern string) ([]string, error)
	// WriteFile replaces the file at path with data atomically, keeping
	// its mode and owner, after making a complete backup beside it; it
	// returns the backup's path ("" when there was no file to back up).
	// See WriteOptions.
	WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) (backup string, err error)
	// PutBack replaces the file at path atomically with the bytes of
	// backup (one of its own backups, path.k3sca-bak-…), with the
	// backup's mode, owner and mtime, if path still holds exactly
	// expect; else it is ErrChangedSince and path is left as it is. The
	// backup stays. See PutBackOptions.
	PutBack(ctx context.Context, path, backup string, expect []byte, opts PutBackOptions) error
	// Close releases the connection (a no-op for Local).
	Close() error
}

// Endpoint names a node: the local machine (with its sandbox root, if
// any) or an SSH login.
type Endpoint struct {
	// Local is true for the machine k3sca runs on.
	Local bool
	// Root is the sandbox root of the node's files ("" for the real root).
	Root string
	// Alias is the name the node was asked for (inventory or ssh config
	// alias); Host is the host name or address actually dialled.
	Alias, Host string
	// Port is the SSH port.
	Port int
	// User is the SSH login.
	User string
	// Sudo is true when commands and files go through sudo -n.
	Sudo bool
}

// String is "local", "local (root /tmp/x)" or "user@host:port", followed by
// " (alias)" when the alias differs from the host and " via sudo" when
// sudo is used.
func (e Endpoint) String() string {
	if e.Local {
		if e.Root != "" {
			return "local (root " + e.Root + ")"
		}
		return "local"
	}
	s := e.User + "@" + e.Host + ":" + strconv.Itoa(e.Port)
	if e.Alias != "" && e.Alias != e.Host {
		s += " (" + e.Alias + ")"
	}
	if e.Sudo {
		s += " via sudo"
	}
	if e.Root != "" {
		s += " (root " + e.Root + ")"
	}
	return s
}

// FileInfo describes a path on a node.
type FileInfo struct {
	// Path is the path asked about.
	Path string
	// Exists is false when nothing is at Path (or Path is a symlink to
	// nothing); the fields below are then zero.
	Exists bool
	// Symlink is true when Path itself is a symlink; the other fields
	// describe its target.
	Symlink bool
	// Mode holds the type bits and permissions.
	Mode fs.FileMode
	// Size is the length in bytes.
	Size int64
	// ModTime is the modification time (whole seconds over SFTP).
	ModTime time.Time
	// UID and GID are the numeric owner and group.
	UID, GID int
}

// Owner is a numeric owner and group.
type Owner struct {
	UID, GID int
}

// WriteOptions tune Node.WriteFile.
type WriteOptions struct {
	// Now is the caller's clock: the backup is named
	// <path>.k3sca-bak-<Now.Unix()> (".2", ".3", … appended if that
	// name is taken). Required: a zero Now is ErrNoClock.
	Now time.Time
	// Mode is the permission of a new file (when path does not exist);
	// 0 means 0600. An existing file keeps its own mode.
	Mode fs.FileMode
	// Owner is the owner of a new file; nil leaves it to the writer (root
	// over sudo). An existing file keeps its own owner.
	Owner *Owner
	// ModTime, when set, becomes the new file's modification time.
	ModTime time.Time
	// DirMode, when set, creates missing parent directories with this
	// mode; when 0 a missing parent directory is an error.
	DirMode fs.FileMode
	// Hook, when set, is called at each named point of the write:
	// "backup temp" (the backup's temp file written, before its link) and
	// "temp" (the new contents' temp file written, before the rename).
	// Tests kill the process there.
	Hook func(point string)
}

// PutBackOptions tune Node.PutBack.
type PutBackOptions struct {
	// Hook, when set, is called at "temp" (the backup's bytes written to
	// a temp file, before the rename). Tests kill the process there.
	Hook func(point string)
}

func (o PutBackOptions) hook(point string) {
	if o.Hook != nil {
		o.Hook(point)
	}
}

// Errors of WriteFile and of path checks.
var (
	// ErrNoClock refuses a WriteFile without the caller's clock.
	ErrNoClock = errors.New("no clock given (WriteOptions.Now)")
	// ErrSymlink refuses to replace a symlink (that would cut the link).
	ErrSymlink = errors.New("refusing to replace a symlink")
	// ErrNotRegular refuses to replace something that is not a regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrRelativePath refuses a path that is not absolute and clean.
	ErrRelativePath = errors.New("path must be absolute and clean")
)

// checkPath refuses relative or unclean paths: a node has no working
// directory k3sca could rely on.
func checkPath(p string) error {
	if !isAbsClean(p) {
		return fmt.Errorf("%q: %w", p, ErrRelativePath)
	}
	return nil
}
