package node

import (
	"path/filepath"

	"github.com/k3sca/k3sca/product"
)

// KubeconfigPath is the admin kubeconfig of the node whose data dir this
// is: /etc/rancher/<product>/<product>.yaml, under the node's root in a
// sandbox (see SandboxRoot), so a sandbox never reads the machine's.
func KubeconfigPath(dataDir string, p product.Product) string {
	rel := filepath.FromSlash(p.AdminKubeconfig())
	if IsSandbox(dataDir) {
		return filepath.Join(SandboxRoot(dataDir, p), rel)
	}
	return rel
}
