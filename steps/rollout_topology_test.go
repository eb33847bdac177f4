package steps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/rollout"
)

// TestRolloutTopologySources: the nodes come from the inventory, else
// the Kubernetes API through the kubeconfig, else the --node flags; each
// fact says where it came from.
func TestRolloutTopologySources(t *testing.T) {
	api := testservers.StartKubeAPI(t, testkit.Now,
		testservers.KubeNode{Name: "k1", InternalIP: "127.0.0.11", Roles: []string{"control-plane", "etcd", "master"}, Ready: "True"},
		testservers.KubeNode{Name: "k2", InternalIP: "127.0.0.12", Ready: "True"})
	dir := t.TempDir()
	kc := filepath.Join(dir, "k3s.yaml")
	inv := filepath.Join(dir, "inventory.yml")
	for f, b := range map[string]string{kc: string(api.Kubeconfig),
		inv: "k3s_cluster:\n  children:\n    server:\n      hosts:\n        i1:\n          ansible_host: 127.0.0.21\n"} {
		if err := os.WriteFile(f, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	nodes := []string{"n1=127.0.0.31,role=server", "n2=127.0.0.32,role=agent"}
	tests := []struct {
		name string
		env  Env
		want string // name=role@address, rollout order
		src  string // in the first node's role source
	}{
		{"inventory first", Env{Inventory: inv, Kubeconfig: kc, Nodes: nodes}, "i1=server@127.0.0.21", "inventory"},
		{"then the API", Env{Kubeconfig: kc, Nodes: nodes}, "k1=server@127.0.0.11 k2=agent@127.0.0.12", "Kubernetes API at " + api.URL + " (kubeconfig " + kc + ") node k1 label"},
		{"then --node", Env{Nodes: nodes}, "n1=server@127.0.0.31 n2=agent@127.0.0.32", cluster.NodeFlagSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			env.Product, env.Now = product.K3s, testkit.Clock
			topo, err := newRun(env.WithDefaults()).topology(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range topo.RolloutOrder() {
				got = append(got, n.Name+"="+string(n.Role.Value)+"@"+n.Address.Value)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("nodes %v, want %s", got, tt.want)
			}
			if first := topo.RolloutOrder()[0]; !strings.Contains(first.Role.Source, tt.src) {
				t.Errorf("role from %q, want %q in it", first.Role.Source, tt.src)
			}
		})
	}
}

// TestNodeListMarks: the live view of a rollout, one node a line with its
// mark, in rollout order from the plan.
func TestNodeListMarks(t *testing.T) {
	l := newNodeList(&rollout.Report{Nodes: []rollout.NodeReport{{Name: "s1", Role: "server"}, {Name: "s2", Role: "server"}, {Name: "a1", Role: "agent"}, {Name: "a2", Role: "agent"}}})
	l.set(rollout.NodeReport{Name: "s1", Role: "server", State: rollout.StateDone})
	l.set(rollout.NodeReport{Name: "s2", Role: "server", State: rollout.StateFailed, Step: "check"})
	l.set(rollout.NodeReport{Name: "a1", Role: "agent", State: rollout.StateUntouched, Step: "restart"})
	want := "✓ s1 (server) done\n✗ s2 (server) failed at check\n▸ a1 (agent) restart\n· a2 (agent) not reached"
	if got := l.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
