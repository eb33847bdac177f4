package node

import (
	"path/filepath"
	"testing"

	"github.com/k3sca/k3sca/product"
)

func TestKubeconfigPath(t *testing.T) {
	tests := []struct {
		dataDir string
		p       product.Product
		want    string
	}{
		{"/var/lib/rancher/k3s", product.K3s, "/etc/rancher/k3s/k3s.yaml"},
		{"/srv/k3s", product.K3s, "/etc/rancher/k3s/k3s.yaml"},
		{"/var/lib/rancher/rke2", product.RKE2, "/etc/rancher/rke2/rke2.yaml"},
	}
	for _, tc := range tests {
		if got := KubeconfigPath(tc.dataDir, tc.p); got != filepath.FromSlash(tc.want) {
			t.Errorf("KubeconfigPath(%s, %s) = %s, want %s", tc.dataDir, tc.p, got, tc.want)
		}
	}
	// A sandbox node's root: a cluster node's, or the dir of <dir>/data.
	for dd, want := range map[string]string{"/r/nodes/s1/var/lib/rancher/k3s": "/r/nodes/s1", "/r/sb/data": "/r/sb"} {
		if got := SandboxRoot(filepath.FromSlash(dd), product.K3s); got != filepath.FromSlash(want) {
			t.Errorf("SandboxRoot(%s) = %s, want %s", dd, got, want)
		}
	}
}
