package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/internal/words"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// BackupDirName is the folder under the server dir that holds k3sca backups.
const BackupDirName = "k3sca-backups"

// Backup is one saved bootstrap value, written before every datastore write.
type Backup struct {
	// Key and Revision identify the value that was live.
	Key      string `json:"key"`
	Revision int64  `json:"revision"`
	// Value is the encrypted value as stored (ASCII "salt:base64").
	Value string `json:"value"`
	// Created is when the backup was made.
	Created time.Time `json:"created"`
	// Via is the backend it was read from.
	Via string `json:"via"`
	// TLSCopy is the copy of server/tls made with it: relative to the
	// backup's folder as stored ("tls"), absolute once read.
	TLSCopy string `json:"tlsCopy"`
	// DatastoreCopy is the copy of the whole datastore taken with it: an
	// etcd snapshot, a copy of state.db in the backup's folder, or none
	// and why (nil in backups of earlier versions).
	DatastoreCopy *DatastoreCopy `json:"datastoreCopy,omitempty"`
	// CAHash is the join-token CA hash of the server CA in the saved
	// value, recorded when the run that made the backup could decrypt it
	// ("" otherwise, and in backups made before it was recorded).
	CAHash string `json:"caHash,omitempty"`
	// Flow is the flow that made it (a flow ID such as rotate-ca, or the
	// single-step command's: load, restore); "" in backups made before it
	// was recorded.
	Flow string `json:"flow,omitempty"`
	// Write is what became of the datastore write the backup was taken
	// before, recorded when that write ended (written, not-written,
	// unknown); "" when the run that made it ended first (killed) or
	// predates the record: then `k3sca datastore show` or a dry run of the same
	// load tells what the datastore holds.
	Write WriteState `json:"write,omitempty"`
	// Path is the backup file itself (not stored).
	Path string `json:"-"`
	// Removed are the incomplete backups removed before it was written
	// (not stored).
	Removed []string `json:"-"`
}

// BackupDir is where backups of a data dir live.
func BackupDir(dataDir string) string {
	return filepath.Join(product.ServerDir(dataDir), BackupDirName)
}

// BackupFile is the file inside a backup's folder that holds the value;
// it is written last, so a folder with it is complete.
const BackupFile = "backup.json"

// incompletePrefix names a backup being written (or one a killed run left).
const incompletePrefix = ".incomplete-"

// writeBackup removes the pieces of backups a killed run left (see
// IncompleteBackups), then saves kv, a copy of server/tls and, for a
// planned SQLite copy, a copy of state.db; dc (nil for none) and caHash
// ("" when unknown) and the flow making it are recorded.
// The caller holds the data dir's lock, so no other run is writing a
// backup.
func writeBackup(ctx context.Context, dataDir string, kv datastore.KV, caHash, flow string, via Via, now time.Time, dc *DatastoreCopy) (*Backup, error) {
	removed, err := RemoveIncompleteBackups(dataDir)
	if err != nil {
		return nil, err
	}
	b, err := saveBackup(ctx, dataDir, kv, caHash, flow, via, now, dc)
	if err != nil {
		return nil, err
	}
	b.Removed = removed
	return b, nil
}

// saveBackup writes one backup, private, as a folder <unix>-<revision>
// (then -2, -3... for a name taken) holding the value in backup.json and a
// copy of server/tls in tls/. The folder is filled under a temporary name
// and renamed complete: a kill leaves either a complete backup or a
// ".incomplete-" folder, never a tls copy that looks like a backup. The
// rename is the create-exclusive step: it fails on a name another backup
// holds, and the next name is tried. A planned SQLite copy is written in
// the folder as state.db, 0600, before backup.json.
func saveBackup(ctx context.Context, dataDir string, kv datastore.KV, caHash, flow string, via Via, now time.Time, dc *DatastoreCopy) (*Backup, error) {
	dir := BackupDir(dataDir)
	if err := os.MkdirAll(dir, fsutil.ModeDir); err != nil {
		return nil, fmt.Errorf("create backup dir: %w", err)
	}
	base := fmt.Sprintf("%d-%d", now.Unix(), kv.ModRevision)
	tmp, err := os.MkdirTemp(dir, incompletePrefix+base+"-")
	if err != nil {
		return nil, fmt.Errorf("create backup: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := fsutil.CopyDir(ctx, filepath.Join(product.ServerDir(dataDir), pki.TLSDir), filepath.Join(tmp, pki.TLSDir)); err != nil {
		return nil, fmt.Errorf("back up tls dir: %w", err)
	}
	b := &Backup{Key: kv.Key, Revision: kv.ModRevision, Value: string(kv.Value), Created: now.UTC(), Via: string(via), TLSCopy: pki.TLSDir, CAHash: caHash, Flow: flow}
	if dc != nil {
		stored := *dc
		if dc.Kind == CopySQLite {
			if stored.Size, err = copyStateDB(ctx, dc.source, filepath.Join(tmp, sqliteCopyFile), now); err != nil {
				return nil, err
			}
			stored.Path, stored.Taken, stored.Restore, stored.HowToRestore = sqliteCopyFile, true, "", ""
		}
		b.DatastoreCopy = &stored
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode backup: %w", err)
	}
	if err := fsutil.WriteFile(filepath.Join(tmp, BackupFile), append(data, '\n'), fsutil.ModeSecret, now); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	for i := 1; ; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		if _, err := os.Lstat(filepath.Join(dir, name+".json")); err == nil {
			continue // a backup of the earlier layout holds the name
		}
		final := filepath.Join(dir, name)
		err := os.Rename(tmp, final)
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("complete backup %s: %w", final, err)
		}
		done = true
		if err := fsutil.SyncDir(dir); err != nil {
			return nil, err
		}
		return ReadBackup(filepath.Join(final, BackupFile))
	}
}

// ReadBackup loads a backup: its backup.json, or its folder, or a .json
// file of the earlier layout (<unix>-<rev>.json beside <unix>-<rev>-tls).
func ReadBackup(path string) (*Backup, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, BackupFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read backup: %w", err)
	}
	var b Backup
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("backup %s is not a k3sca backup: %w", path, err)
	}
	if !strings.HasPrefix(b.Key, datastore.BootstrapPrefix+"/") || b.Value == "" {
		return nil, fmt.Errorf("backup %s has no bootstrap key or value", path)
	}
	b.Path = path
	if b.TLSCopy != "" && !filepath.IsAbs(b.TLSCopy) {
		b.TLSCopy = filepath.Join(filepath.Dir(path), b.TLSCopy)
	}
	if c := b.DatastoreCopy; c != nil && c.Kind == CopySQLite && c.Path != "" && !filepath.IsAbs(c.Path) {
		// <data-dir>/server/k3sca-backups/<backup>/state.db
		c.Path = filepath.Join(filepath.Dir(path), c.Path)
		c.restoreSQLiteCopy(filepath.Dir(filepath.Dir(filepath.Dir(path))))
	}
	return &b, nil
}

// sqliteCopyFile is the name of the copy of state.db in a backup's folder.
const sqliteCopyFile = "state.db"

// copyStateDB writes a consistent copy of the SQLite database src to dst
// (VACUUM INTO), 0600 with mtime now, and returns its size.
func copyStateDB(ctx context.Context, src, dst string, now time.Time) (int64, error) {
	if err := datastore.CopySQLite(ctx, src, dst); err != nil {
		return 0, fmt.Errorf("copy state.db before the write: %w", err)
	}
	if err := os.Chmod(dst, fsutil.ModeSecret); err != nil {
		return 0, fmt.Errorf("chmod %s: %w", dst, err)
	}
	if err := os.Chtimes(dst, now, now); err != nil {
		return 0, fmt.Errorf("set mtime of %s: %w", dst, err)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", dst, err)
	}
	return fi.Size(), nil
}

// ListBackups returns the complete backups of a data dir, newest first
// (IncompleteBackups lists the rest).
func ListBackups(dataDir string) ([]*Backup, error) {
	dir := BackupDir(dataDir)
	current, err := filepath.Glob(filepath.Join(dir, "*", BackupFile))
	if err != nil {
		return nil, err
	}
	earlier, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Backup
	for _, m := range append(current, earlier...) {
		if strings.HasPrefix(filepath.Base(filepath.Dir(m)), ".") {
			continue
		}
		b, err := ReadBackup(m)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].Revision > out[j].Revision // the same second: the later write's first
	})
	return out, nil
}

// IncompleteBackups lists what killed runs left in the backup dir: backups
// never completed (".incomplete-" folders, a folder without backup.json,
// a tls copy of the earlier layout without its .json) and temporary files;
// and the temporary file of an etcd snapshot never completed in k3s's
// default snapshot dir. Each may hold copies of private keys.
func IncompleteBackups(dataDir string) ([]string, error) {
	// fsutil's temp name for server/db/snapshots/k3sca-<node>-<unix>.
	snaps, err := filepath.Glob(filepath.Join(product.ServerDir(dataDir), "db", "snapshots", ".k3sca-*.tmp-*"))
	if err != nil {
		return nil, err
	}
	dir := BackupDir(dataDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return snaps, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var out []string
	for _, e := range entries {
		name, p := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case strings.HasPrefix(name, "."):
			out = append(out, p) // an .incomplete- folder, a temporary file
		case e.IsDir() && strings.HasSuffix(name, "-tls"):
			if _, err := os.Lstat(filepath.Join(dir, strings.TrimSuffix(name, "-tls")+".json")); err != nil {
				out = append(out, p)
			}
		case e.IsDir():
			if _, err := os.Lstat(filepath.Join(p, BackupFile)); err != nil {
				out = append(out, p)
			}
		}
	}
	return append(out, snaps...), nil
}

// IncompleteNote says what an incomplete backup is and what removes it.
func IncompleteNote(path string) string {
	return fmt.Sprintf("incomplete backup %s: a killed run left it, it may hold copies of private keys and cannot be restored; the next load or restore removes it (or: rm -r %s)", path, path)
}

// removedNote is the summary's word on the incomplete backups removed.
func removedNote(removed []string) string {
	if len(removed) == 0 {
		return ""
	}
	return fmt.Sprintf("; removed %s a killed run left: %s", words.Plural(len(removed), "incomplete backup"), strings.Join(removed, ", "))
}

// RemoveIncompleteBackups deletes what IncompleteBackups lists and returns
// it. The caller holds the data dir's lock: nothing it lists is being
// written.
func RemoveIncompleteBackups(dataDir string) ([]string, error) {
	list, err := IncompleteBackups(dataDir)
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("remove the incomplete backup %s: %w", p, err)
		}
	}
	return list, nil
}

// recordWrite stores in b's backup.json what became of the write b was
// taken before. The file is rewritten whole and atomically, so a kill
// leaves the record as it was (Write ""). An error is returned for the
// caller to report; the backup itself stays restorable either way.
func recordWrite(b *Backup, state WriteState, now time.Time) error {
	data, err := os.ReadFile(b.Path)
	if err != nil {
		return fmt.Errorf("record the write in %s: %w", b.Path, err)
	}
	var stored Backup // as stored: TLSCopy relative to the folder
	if err := json.Unmarshal(data, &stored); err != nil {
		return fmt.Errorf("record the write in %s: %w", b.Path, err)
	}
	stored.Write = state
	out, err := json.MarshalIndent(stored, "", "  ")
	if err != nil {
		return fmt.Errorf("record the write in %s: %w", b.Path, err)
	}
	if err := fsutil.WriteFile(b.Path, append(out, '\n'), fsutil.ModeSecret, now); err != nil {
		return fmt.Errorf("record the write in %s: %w", b.Path, err)
	}
	b.Write = state
	return nil
}

// withRecord adds a failure to record the write's outcome in its backup
// (recordErr) to what the write reports: the write's own result stands.
func withRecord(out string, err, recordErr error) (string, error) {
	switch {
	case recordErr == nil:
		return out, err
	case err != nil:
		return out, fmt.Errorf("%w; also: %v", err, recordErr)
	}
	return out + "; " + recordErr.Error() + " (the backup is complete; only its note of the outcome is missing)", nil
}
