package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
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
	// TLSCopy is the copy of server/tls made with it.
	TLSCopy string `json:"tlsCopy"`
	// Path is the backup file itself (not stored).
	Path string `json:"-"`
}

// BackupDir is where backups of a data dir live.
func BackupDir(dataDir string) string {
	return filepath.Join(product.ServerDir(dataDir), BackupDirName)
}

// writeBackup saves kv and a copy of server/tls, both private.
func writeBackup(ctx context.Context, dataDir string, kv datastore.KV, via Via, now time.Time) (*Backup, error) {
	dir := BackupDir(dataDir)
	base := freeBackupName(dir, fmt.Sprintf("%d-%d", now.Unix(), kv.ModRevision))
	b := &Backup{
		Key: kv.Key, Revision: kv.ModRevision, Value: string(kv.Value), Created: now.UTC(), Via: string(via),
		TLSCopy: filepath.Join(dir, base+"-tls"), Path: filepath.Join(dir, base+".json"),
	}
	if err := os.MkdirAll(dir, fsutil.ModeDir); err != nil {
		return nil, fmt.Errorf("create backup dir: %w", err)
	}
	if err := fsutil.CopyDir(ctx, filepath.Join(product.ServerDir(dataDir), pki.TLSDir), b.TLSCopy); err != nil {
		return nil, fmt.Errorf("back up tls dir: %w", err)
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode backup: %w", err)
	}
	if err := fsutil.WriteFile(b.Path, append(data, '\n'), fsutil.ModeSecret, now); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	return b, nil
}

// freeBackupName returns base, or base-2, base-3... when a backup of the
// same second and revision exists (a load re-run after a crash).
func freeBackupName(dir, base string) string {
	name := base
	for i := 2; ; i++ {
		_, errJSON := os.Lstat(filepath.Join(dir, name+".json"))
		_, errTLS := os.Lstat(filepath.Join(dir, name+"-tls"))
		if errJSON != nil && errTLS != nil {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// ReadBackup loads a backup file.
func ReadBackup(path string) (*Backup, error) {
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
	return &b, nil
}

// ListBackups returns the backups of a data dir, newest first.
func ListBackups(dataDir string) ([]*Backup, error) {
	matches, err := filepath.Glob(filepath.Join(BackupDir(dataDir), "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Backup
	for _, m := range matches {
		b, err := ReadBackup(m)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}
