package pki

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/fsutil"
)

// RegenerateTriggerPath is the trigger file under serverDir that makes the
// supervisor listener on 6443 issue a new serving certificate from the
// current server CA at the next start (spec §6.2, §8 step 6).
func RegenerateTriggerPath(serverDir string) string {
	return filepath.Join(serverDir, filepath.FromSlash(DynamicCertRegenerate))
}

// WriteRegenerateTrigger writes the empty trigger file (0600, mtime now),
// as k3s's rotate-ca handler does after saving new CAs and its `certificate
// rotate -s k3s-server` does. Without it a server keeps its cached serving
// certificate (tls/dynamic-cert.json), signed by the old server CA: with a
// new root the server's own /cacerts check then fails at every start.
func WriteRegenerateTrigger(serverDir string, now time.Time) (string, error) {
	p := RegenerateTriggerPath(serverDir)
	if err := fsutil.WriteFile(p, nil, fsutil.ModeSecret, now); err != nil {
		return "", fmt.Errorf("write the listener's regenerate trigger: %w", err)
	}
	return p, nil
}
