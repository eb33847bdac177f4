package steps

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// KubeconfigPath is the admin kubeconfig of the node whose data dir this
// is: /etc/rancher/<product>/<product>.yaml, under the node's root in a
// sandbox (see sandboxNodeRoot), so a sandbox never reads the machine's.
func KubeconfigPath(dataDir string, p product.Product) string {
	rel := filepath.FromSlash(p.AdminKubeconfig())
	if IsSandbox(dataDir) {
		return filepath.Join(sandboxNodeRoot(dataDir, p), rel)
	}
	return rel
}

// sandboxNodeRoot is the dir that stands for / on a sandbox node: a
// cluster node's root, whose data dir is <root>/var/lib/rancher/<product>
// and whose etc/rancher/<product> holds its config.yaml, else the dir
// that holds the data dir (<dir> of `k3sca sandbox --dir`, whose data dir
// is <dir>/data).
func sandboxNodeRoot(dataDir string, p product.Product) string {
	clean := filepath.Clean(dataDir)
	if suffix := filepath.FromSlash(p.DefaultDataDir()); strings.HasSuffix(clean, suffix) {
		return strings.TrimSuffix(clean, suffix)
	}
	return filepath.Dir(clean)
}

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
	// Never KubeconfigPath: before its marker is written a sandbox is not
	// yet one, and that would be the machine's own file.
	path := filepath.Join(sandboxNodeRoot(dataDir, p), filepath.FromSlash(p.AdminKubeconfig()))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return fsutil.WriteFile(path, []byte(body), fsutil.ModeSecret, now)
}

// inspectKubeconfig adds the node's admin kubeconfig to inv.
func inspectKubeconfig(inv *pki.Inventory, env Env, now time.Time) {
	path := KubeconfigPath(env.DataDir, env.Product)
	certs, err := pki.InspectKubeconfig(path, now, env.Window)
	inv.AddKubeconfig(path, certs, err)
}
