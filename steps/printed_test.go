package steps

import (
	"path/filepath"
	"testing"

	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestPrintedCommandsNameTheCluster: the undo and resume lines name where
// the nodes come from and the name that confirms them, so a copied line
// builds the same flow: --inventory (a sandbox cluster's own too),
// --kubeconfig or every --node, --cluster-name unless it is a sandbox's
// default, and the product when not k3s.
func TestPrintedCommandsNameTheCluster(t *testing.T) {
	sb := sandboxtest.New(t)
	plain := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		name    string
		env     Env
		restore string
		resume  string
	}{
		{"sandbox cluster's inventory, default name", Env{DataDir: sb.DataDir, Inventory: "/c/inventory.yml", ClusterName: "sandbox"},
			"k3sca run datastore --restore B -d " + sb.DataDir + " --inventory /c/inventory.yml --yes --confirm restore --confirm sandbox",
			"k3sca run rollout -d " + sb.DataDir + " --inventory /c/inventory.yml --yes --confirm sandbox"},
		{"another inventory, a given name", Env{DataDir: plain, Inventory: "/ops/hosts.yml", ClusterName: "prod"},
			"k3sca run datastore --restore B -d " + plain + " --inventory /ops/hosts.yml --cluster-name prod --yes --confirm restore --confirm prod",
			"k3sca run rollout -d " + plain + " --inventory /ops/hosts.yml --cluster-name prod --yes --confirm prod"},
		{"a sandbox named otherwise", Env{DataDir: sb.DataDir, Kubeconfig: "/etc/rancher/k3s/k3s.yaml", ClusterName: "lab"},
			"k3sca run datastore --restore B -d " + sb.DataDir + " --kubeconfig /etc/rancher/k3s/k3s.yaml --cluster-name lab --yes --confirm restore --confirm lab",
			"k3sca run rollout -d " + sb.DataDir + " --kubeconfig /etc/rancher/k3s/k3s.yaml --cluster-name lab --yes --confirm lab"},
		{"--node flags, rke2", Env{DataDir: plain, Product: product.RKE2, Nodes: []string{"s1=10.0.0.1,role=server", "a1=10.0.0.2,role=agent"}, ClusterName: "edge", Parallel: 2},
			"k3sca run datastore --restore B -d " + plain + " --product rke2 --node s1=10.0.0.1,role=server --node a1=10.0.0.2,role=agent --cluster-name edge --yes --confirm restore --confirm edge",
			"k3sca run rollout -d " + plain + " --product rke2 --node s1=10.0.0.1,role=server --node a1=10.0.0.2,role=agent --cluster-name edge --parallel 2 --yes --confirm edge"},
		{"no cluster", Env{DataDir: plain},
			"k3sca run datastore --restore B -d " + plain + " --yes --confirm restore", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env.Product.Name() == "" {
				tt.env.Product = product.K3s
			}
			if got := restoreCommand(tt.env, "B"); got != tt.restore {
				t.Errorf("restore\n got %s\nwant %s", got, tt.restore)
			}
			if tt.resume == "" {
				return
			}
			if got := (&run{env: tt.env}).resumeCommand(restartAll); got != tt.resume {
				t.Errorf("resume\n got %s\nwant %s", got, tt.resume)
			}
		})
	}
}
