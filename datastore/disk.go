package datastore

import (
	"context"
	"fmt"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
)

// WriteToDisk writes every entry with a known path under serverDir the way
// k3s's WriteToDiskFromStorage does when it reconciles at start: mode 0600
// (certificates too), then the entry's Timestamp as atime and mtime.
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
		if err := fsutil.WriteFile(p, e.Content, fsutil.ModeSecret, e.Timestamp); err != nil {
			return fmt.Errorf("failed to write to %s: %w", p, err)
		}
	}
	return nil
}
