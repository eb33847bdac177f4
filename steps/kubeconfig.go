package steps

import (
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// KubeconfigPath is the admin kubeconfig of the node whose data dir this
// is: /etc/rancher/<product>/<product>.yaml, under the node's root in a
// sandbox (see node.SandboxRoot), so a sandbox never reads the machine's.
func KubeconfigPath(dataDir string, p product.Product) string {
	rel := filepath.FromSlash(p.AdminKubeconfig())
	if node.IsSandbox(dataDir) {
		return filepath.Join(node.SandboxRoot(dataDir, p), rel)
	}
	return rel
}

// inspectKubeconfig adds the node's admin kubeconfig to inv.
func inspectKubeconfig(inv *pki.Inventory, env Env, now time.Time) {
	path := KubeconfigPath(env.DataDir, env.Product)
	certs, err := pki.InspectKubeconfig(path, now, env.Window)
	inv.AddKubeconfig(path, certs, err)
}
