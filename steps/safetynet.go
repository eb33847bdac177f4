package steps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// CopyKind names the copy of the whole datastore a write takes first.
type CopyKind string

// Kinds of datastore copies.
const (
	// CopyEtcdSnapshot is a snapshot of the embedded etcd in k3s's
	// snapshot dir, as `k3s etcd-snapshot save` writes it.
	CopyEtcdSnapshot CopyKind = "etcd-snapshot"
	// CopySQLite is a consistent copy of state.db in the backup's folder.
	CopySQLite CopyKind = "sqlite-copy"
	// CopyNone: only the bootstrap value is backed up; Skipped says why.
	CopyNone CopyKind = "none"
)

// ErrSafetyNet stops a write whose copy of the datastore failed.
var ErrSafetyNet = errors.New("the copy of the datastore taken before the write failed: no backup was made and nothing was written")

// DatastoreCopy is the copy of the whole datastore that a load takes
// before it writes the bootstrap value: planned by Prepare (Taken false),
// made by Run, recorded in the backup.
type DatastoreCopy struct {
	// Kind is etcd-snapshot, sqlite-copy or none.
	Kind CopyKind `json:"kind"`
	// Product is the product whose datastore it is (k3s, rke2).
	Product string `json:"product,omitempty"`
	// Taken says the copy exists (false in a plan and when skipped).
	Taken bool `json:"taken"`
	// Name is an etcd snapshot's name, as `k3s etcd-snapshot ls` lists it.
	Name string `json:"name,omitempty"`
	// Path is the copy: absolute once read (a SQLite copy is stored
	// relative to its backup's folder).
	Path string `json:"path,omitempty"`
	// Size is the copy's size in bytes, once taken.
	Size int64 `json:"size,omitempty"`
	// SHA256 is an etcd snapshot's integrity hash, checked when written.
	SHA256 string `json:"sha256,omitempty"`
	// DBSize is the datastore's size when planned: etcd's reported db
	// size, or state.db with its -wal.
	DBSize int64 `json:"dbSize,omitempty"`
	// Limit is the SQLite copy limit in bytes (negative: never copy).
	Limit int64 `json:"limit,omitempty"`
	// Skipped says why no copy is taken.
	Skipped string `json:"skipped,omitempty"`
	// Restore is the command that puts the copy back.
	Restore string `json:"restore,omitempty"`
	// HowToRestore says how to restore the copy, Restore included.
	HowToRestore string `json:"howToRestore,omitempty"`

	// source is the state.db a SQLite copy is taken of.
	source string
	// node, product and dataDir name an etcd snapshot and its restore.
	node    string
	product product.Product
	dataDir string
}

// snapshotName is the name k3s gives `etcd-snapshot save --name k3sca`
// on node: <name>-<node>-<unix seconds> (k3s pkg/etcd/snapshot.go). k3s's
// retention prunes only its own prefix (etcd-snapshot by default), and
// `k3s etcd-snapshot ls` lists the file.
func snapshotName(node string, now time.Time) string {
	return fmt.Sprintf("k3sca-%s-%d", node, now.Round(time.Second).Unix())
}

// nodeName is what k3s names this node by default: the host name, lower
// case.
func nodeName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "node"
	}
	return strings.ToLower(h)
}

// planCopy decides the copy of the whole datastore behind acc that a
// write through b takes first. It reads sizes and asks etcd for its
// status; it writes nothing. An embedded etcd that cannot be snapshotted
// (its status unreadable, a learner) is an error wrapping ErrSafetyNet:
// the write would stop there.
func planCopy(ctx context.Context, acc Access, b datastore.Backend, node string, now time.Time) (*DatastoreCopy, error) {
	c, err := planCopyOf(ctx, acc, b, node, now)
	if err != nil {
		return nil, err
	}
	c.Product = acc.Product.Name()
	return c, nil
}

func planCopyOf(ctx context.Context, acc Access, b datastore.Backend, node string, now time.Time) (*DatastoreCopy, error) {
	only := "only the bootstrap value and server/tls are backed up: "
	switch acc.Store {
	case StoreSQLite:
		db := acc.SQLitePath
		if db == "" {
			db = filepath.Join(product.ServerDir(acc.DataDir), filepath.FromSlash(pki.DatastoreFile))
		}
		c := &DatastoreCopy{Kind: CopySQLite, DBSize: sqliteSize(db), Limit: acc.SQLiteCopyLimit, source: db}
		switch {
		case c.Limit < 0:
			c.Kind, c.Skipped = CopyNone, only+"the copy of state.db is turned off (--sqlite-copy-limit 0)"
		case c.DBSize > c.Limit:
			c.Kind, c.Skipped = CopyNone, fmt.Sprintf("%sstate.db is %s, over the copy limit of %s (--sqlite-copy-limit)", only, sizeOf(c.DBSize), sizeOf(c.Limit))
		}
		return c, nil
	case StoreEmbeddedEtcd:
		e, ok := b.(*datastore.Etcd)
		if !ok {
			return nil, fmt.Errorf("%w: the embedded etcd is not reached through etcd's API", ErrSafetyNet)
		}
		st, err := e.Status(ctx)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: no snapshot can be taken: %w", ErrSafetyNet, err)
		case !st.IsEtcd():
			return &DatastoreCopy{Kind: CopyNone, Skipped: only + "the endpoint answers as kine (no etcd member ID), which has no snapshot"}, nil
		case st.IsLearner:
			return nil, fmt.Errorf("%w: this etcd member is a learner, which serves no snapshot (it is still joining the cluster); load on a voting member", ErrSafetyNet)
		}
		name := snapshotName(node, now)
		path := filepath.Join(acc.SnapshotDir, name)
		cmd := etcdRestoreCommand(acc.Product, acc.DataDir, path)
		return &DatastoreCopy{Kind: CopyEtcdSnapshot, Name: name, Path: path, DBSize: st.DBSize, Restore: cmd,
			HowToRestore: etcdHowToRestore(acc.Product, cmd), node: node, product: acc.Product, dataDir: acc.DataDir}, nil
	case StoreExternalEtcd:
		return &DatastoreCopy{Kind: CopyNone, Skipped: only + "the datastore is an external etcd: k3s neither snapshots nor restores it (--cluster-reset-restore-path is for embedded etcd); take one with its own tools (etcdctl snapshot save) before loading"}, nil
	case StoreExternalSQL:
		return &DatastoreCopy{Kind: CopyNone, Skipped: only + "the datastore is an external SQL database behind kine, which k3sca cannot copy consistently; back it up with the database's own tools (pg_dump, mysqldump) before loading"}, nil
	}
	return &DatastoreCopy{Kind: CopyNone, Skipped: only + "kine's socket answers but neither server/db/state.db nor an external datastore-endpoint says where it stores"}, nil
}

// sqliteSize is the size of a SQLite database with its -wal: what a copy
// may hold at most.
func sqliteSize(db string) int64 {
	var n int64
	for _, p := range []string{db, db + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// sizeOf spells a byte count for the operator: "12 MiB (12582912 bytes)".
func sizeOf(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%s (%d bytes)", humanize.IBytes(uint64(n)), n)
}

// etcdRestoreCommand is how k3s restores an embedded etcd snapshot on a
// stopped server: `k3s server --cluster-reset
// --cluster-reset-restore-path=<path>`, with the data dir when it is not
// the product's default.
func etcdRestoreCommand(p product.Product, dataDir, path string) string {
	argv := []string{p.Name(), "server", "--cluster-reset", "--cluster-reset-restore-path=" + path}
	if abs, err := filepath.Abs(dataDir); err == nil && abs != p.DefaultDataDir() {
		argv = append(argv, "--data-dir="+abs)
	}
	return remote.ShellQuote(argv)
}

// etcdHowToRestore says how k3s's etcd snapshot restore goes, with cmd.
func etcdHowToRestore(p product.Product, cmd string) string {
	n := p.Name()
	return fmt.Sprintf("stop %s on every server, then on this one run: %s; start %s here, then on each other server remove its server/db and start %s (k3s's etcd snapshot restore)", n, cmd, n, n)
}

// sqliteRestoreCommand puts a copy of state.db back in place of db: the
// -wal and -shm of the replaced database go first, or SQLite would replay
// them onto the copy.
func sqliteRestoreCommand(copyPath, db string) string {
	return remote.ShellQuote([]string{"rm", "-f", db + "-wal", db + "-shm"}) + " && " +
		remote.ShellQuote([]string{"cp", copyPath, db})
}

// restoreSQLiteCopy fills in how to restore a SQLite copy at c.Path over
// this server's state.db (serverDir/db/state.db).
func (c *DatastoreCopy) restoreSQLiteCopy(serverDir string) {
	db := filepath.Join(serverDir, filepath.FromSlash(pki.DatastoreFile))
	c.Restore = sqliteRestoreCommand(c.Path, db)
	c.HowToRestore = fmt.Sprintf("stop %s on this server, then run: %s; every write since the copy is lost", c.Product, c.Restore)
}

// takeSnapshot writes the planned etcd snapshot through b, 0600. The copy
// is returned taken, or an error wrapping ErrSafetyNet.
func takeSnapshot(ctx context.Context, c *DatastoreCopy, b datastore.Backend, now time.Time) (*DatastoreCopy, error) {
	e, ok := b.(*datastore.Etcd)
	if !ok {
		return nil, fmt.Errorf("%w: no etcd connection", ErrSafetyNet)
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), fsutil.ModeDir); err != nil {
		return nil, fmt.Errorf("%w: create %s: %w", ErrSafetyNet, filepath.Dir(c.Path), err)
	}
	taken := *c
	// Never over an earlier snapshot (two writes in one second): the next
	// second's name, which k3s still reads the time from.
	for at := now; ; at = at.Add(time.Second) {
		if _, err := os.Lstat(taken.Path); errors.Is(err, fs.ErrNotExist) {
			break
		}
		taken.Name = snapshotName(taken.node, at.Add(time.Second))
		taken.Path = filepath.Join(filepath.Dir(c.Path), taken.Name)
		taken.Restore = etcdRestoreCommand(taken.product, taken.dataDir, taken.Path)
		taken.HowToRestore = etcdHowToRestore(taken.product, taken.Restore)
	}
	snap, err := e.SaveSnapshot(ctx, taken.Path, fsutil.ModeSecret, now)
	if err != nil {
		return nil, fmt.Errorf("%w: etcd snapshot %s: %w", ErrSafetyNet, taken.Path, err)
	}
	taken.Taken, taken.Size, taken.SHA256 = true, snap.Size, snap.SHA256
	return &taken, nil
}

// addCopyToPlan shows the copy of the whole datastore a write takes first.
func addCopyToPlan(plan *Plan, c *DatastoreCopy, dataDir string) {
	switch c.Kind {
	case CopyEtcdSnapshot:
		plan.Add(ActBackup, c.Path, "etcd snapshot %s of the whole datastore (etcd reports %s), through the same connection as the write, 0600, integrity hash checked", c.Name, sizeOf(c.DBSize))
		plan.Notes = append(plan.Notes, "to restore the whole datastore from the snapshot: "+c.HowToRestore)
	case CopySQLite:
		plan.Add(ActBackup, BackupDir(dataDir), "consistent copy of state.db by VACUUM INTO, beside the bootstrap backup, 0600: %s with its -wal, the copy limit is %s", sizeOf(c.DBSize), sizeOf(c.Limit))
	default:
		plan.Notes = append(plan.Notes, "no copy of the whole datastore: "+c.Skipped)
	}
}

// copyLine says what a write's copy of the datastore is, for a summary;
// HowToRestore says how to put it back.
func (c *DatastoreCopy) copyLine() string {
	switch {
	case c == nil:
		return ""
	case c.Kind == CopyNone:
		return c.Skipped
	case c.Kind == CopyEtcdSnapshot:
		return fmt.Sprintf("etcd snapshot %s (%s, sha256 %s)", c.Path, sizeOf(c.Size), c.SHA256)
	}
	return fmt.Sprintf("copy of state.db %s (%s)", c.Path, sizeOf(c.Size))
}

// restoreDetail is the outcome line that says how to restore a taken
// copy, "" for none.
func (c *DatastoreCopy) restoreDetail() string {
	if c == nil || !c.Taken {
		return ""
	}
	return "to restore the whole datastore: " + c.HowToRestore
}
