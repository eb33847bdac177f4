package datastore

import (
	"context"
	"fmt"
	"os"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
)

// WriteToDisk writes every entry with a known path under serverDir the way
// k3s's WriteToDiskFromStorage does when it reconciles at start, with the
// entry's Timestamp as atime and mtime. k3s calls os.WriteFile(path, data,
// 0600), which creates a missing file 0600 but keeps the mode of an existing
// one (a CA .crt stays 0644); so does WriteToDisk (the spec's "0600,
// certificates too" holds only for new files: TestWriteToDiskKeepsModes).
// Entries without a known path are skipped.
func (b Bootstrap) WriteToDisk(ctx context.Context, serverDir string) error {
	for _, f := range pki.BootstrapFields {
		e, ok := b[f.Name]
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		p := f.Abs(serverDir)
		mode := fsutil.ModeSecret
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			mode = fi.Mode().Perm()
		}
		if err := fsutil.WriteFile(p, e.Content, mode, e.Timestamp); err != nil {
			return fmt.Errorf("failed to write to %s: %w", p, err)
		}
	}
	return nil
}
