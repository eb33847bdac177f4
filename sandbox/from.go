package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// ErrNotServerDataDir refuses a --from source that has no server/tls: it is
// not a k3s server's data dir (an agent's, or no data dir at all).
var ErrNotServerDataDir = errors.New("has no server/tls: not the data dir of a k3s server")

// SkippedPath is a file or dir of the source that a sandbox copy left out.
type SkippedPath struct {
	// Path is relative to the source data dir, slash-separated.
	Path string
	// Why says why it was left out.
	Why string
}

// CopyReport says what CreateFrom took from the source.
type CopyReport struct {
	// Copied lists the copied entries of server/ with their file counts,
	// such as "server/tls (36 files)".
	Copied []string
	// Skipped lists what was left out and why.
	Skipped []SkippedPath
	// Datastore describes the sandbox's datastore: the SQLite copy, or none.
	Datastore string
}

// CreateFrom builds the sandbox data dir dataDir as a copy of the
// server part of a real node's data dir from, which it only reads: server/
// without embedded etcd data, sockets and symlinks, and server/db/state.db
// through SQLite's VACUUM INTO, so the copy is one consistent snapshot that
// includes the -wal of a running k3s. agent/ is never copied. The sandbox
// starts stopped. Copied files keep their mtimes, as k3s compares them with
// the datastore's stamps; now stamps the sandbox's own marker files.
func CreateFrom(ctx context.Context, from, dataDir string, now time.Time) (*Sandbox, *CopyReport, error) {
	src := product.ServerDir(from)
	if !fsutil.DirExists(filepath.Join(src, "tls")) {
		return nil, nil, fmt.Errorf("sandbox source %s %w", from, ErrNotServerDataDir)
	}
	if fsutil.IsWithin(dataDir, from) || fsutil.IsWithin(from, dataDir) {
		return nil, nil, fmt.Errorf("sandbox %s and its source %s overlap", dataDir, from)
	}
	if err := fsutil.CheckStagingDir(dataDir, "", false); err != nil {
		return nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	c := &serverCopy{src: src, dst: product.ServerDir(dataDir), counts: map[string]int{}, rep: &CopyReport{}}
	if fsutil.DirExists(filepath.Join(from, "agent")) {
		c.skip("agent", "an agent's files are never copied into a sandbox")
	}
	if err := c.run(ctx); err != nil {
		return nil, nil, err
	}
	c.finish()
	if err := markSandbox(dataDir, now); err != nil {
		return nil, nil, err
	}
	sb, err := Open(dataDir)
	if err != nil {
		return nil, nil, err
	}
	return sb, c.rep, nil
}

// serverCopy walks a source server/ dir into a sandbox's.
type serverCopy struct {
	src, dst string
	rep      *CopyReport
	order    []string
	counts   map[string]int
	dirs     []dirPerm
	stateDB  bool
}

type dirPerm struct {
	path string
	perm fs.FileMode
}

func (c *serverCopy) run(ctx context.Context) error {
	if err := filepath.WalkDir(c.src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(c.src, p)
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
		return c.entry(ctx, p, rel, d)
	}); err != nil {
		return fmt.Errorf("copy %s: %w", c.src, err)
	}
	for i := len(c.dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(c.dirs[i].path, c.dirs[i].perm); err != nil {
			return fmt.Errorf("chmod %s: %w", c.dirs[i].path, err)
		}
	}
	return nil
}

// entry copies or skips one walked path; rel is relative to server/.
func (c *serverCopy) entry(ctx context.Context, p, rel string, d fs.DirEntry) error {
	show := filepath.ToSlash(filepath.Join("server", rel))
	target := filepath.Join(c.dst, rel)
	inDB := strings.HasPrefix(filepath.ToSlash(rel), path.Dir(pki.DatastoreFile)+"/")
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		c.skip(show, "symlink, not followed")
		return nil
	case filepath.ToSlash(rel) == pki.DatastoreFile:
		if !d.Type().IsRegular() {
			c.skip(show, "not a regular file")
			return nil
		}
		return c.vacuum(ctx, p, target)
	case inDB:
		c.skip(show, dbSkipReason(filepath.Base(rel)))
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	case d.IsDir():
		return c.mkdir(p, target)
	case !d.Type().IsRegular():
		c.skip(show, "socket or special file")
		return nil
	}
	if err := fsutil.CopyFile(p, target); err != nil {
		return err
	}
	c.count(rel)
	return nil
}

func (c *serverCopy) mkdir(p, target string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	if err := os.MkdirAll(target, fsutil.ModeDir); err != nil {
		return fmt.Errorf("create %s: %w", target, err)
	}
	c.dirs = append(c.dirs, dirPerm{target, fi.Mode().Perm()})
	return nil
}

// vacuum writes a consistent copy of the kine database at p to target.
func (c *serverCopy) vacuum(ctx context.Context, p, target string) error {
	if err := datastore.CopySQLite(ctx, p, target); err != nil {
		return err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	if err := os.Chmod(target, fi.Mode().Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", target, err)
	}
	c.stateDB = true
	return nil
}

// dbSkipReason says why an entry of server/db other than state.db is left out.
func dbSkipReason(name string) string {
	base := path.Base(pki.DatastoreFile)
	switch {
	case name == "etcd":
		return "embedded etcd data: the sandbox has no datastore"
	case name == base+"-wal" || name == base+"-shm":
		return "SQLite journal, folded into the copy of " + base + " by VACUUM INTO"
	case name == "snapshots":
		return "etcd snapshots"
	}
	return "not part of a sandbox"
}

func (c *serverCopy) skip(rel, why string) {
	c.rep.Skipped = append(c.rep.Skipped, SkippedPath{Path: rel, Why: why})
}

// count adds a copied file to its top-level entry of server/.
func (c *serverCopy) count(rel string) {
	top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	if _, ok := c.counts[top]; !ok {
		c.order = append(c.order, top)
	}
	c.counts[top]++
}

// finish writes the copied list and the datastore line of the report.
func (c *serverCopy) finish() {
	for _, top := range c.order {
		n := c.counts[top]
		if n == 1 && !fsutil.DirExists(filepath.Join(c.src, top)) {
			c.rep.Copied = append(c.rep.Copied, "server/"+top)
			continue
		}
		c.rep.Copied = append(c.rep.Copied, fmt.Sprintf("server/%s (%d files)", top, n))
	}
	db := "server/" + pki.DatastoreFile
	switch {
	case c.stateDB:
		c.rep.Copied = append(c.rep.Copied, db+" (VACUUM INTO: one consistent snapshot, WAL included)")
		c.rep.Datastore = "sqlite (" + db + ", a copy)"
	case fsutil.DirExists(filepath.Join(c.src, "db", "etcd")):
		c.rep.Datastore = "none: the source runs embedded etcd, which is not copied; datastore commands and the simulated restart cannot work on this sandbox"
	default:
		c.rep.Datastore = "none: the source has no " + db + " (an external datastore?); datastore commands and the simulated restart cannot work on this sandbox"
	}
}
