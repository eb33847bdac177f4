package sandbox

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/product"
)

// writeKubeconfig writes the sandbox's admin kubeconfig as a k3s server
// does at every start (clientaccess.WriteClientKubeConfig): the server CA
// bundle, the admin client certificate (with its chain) and key embedded,
// cluster, user and context named "default", mode 0600 (the default of
// --write-kubeconfig-mode).
func writeKubeconfig(dataDir string, p product.Product, now time.Time) error {
	server := product.ServerDir(dataDir)
	var data [3][]byte
	for i, rel := range []string{"tls/server-ca.crt", "tls/client-admin.crt", "tls/client-admin.key"} {
		b, err := os.ReadFile(filepath.Join(server, filepath.FromSlash(rel)))
		if err != nil {
			return fmt.Errorf("kubeconfig: %w", err)
		}
		data[i] = b
	}
	enc := base64.StdEncoding.EncodeToString
	body := fmt.Sprintf(`apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: %s
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: %s
    client-key-data: %s
`, enc(data[0]), enc(data[1]), enc(data[2]))
	// Never node.KubeconfigPath: before its marker is written a sandbox is not
	// yet one, and that would be the machine's own file.
	path := filepath.Join(node.SandboxRoot(dataDir, p), filepath.FromSlash(p.AdminKubeconfig()))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return fsutil.WriteFile(path, []byte(body), fsutil.ModeSecret, now)
}
