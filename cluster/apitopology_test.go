package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/kube"
)

// apiNodes lists the nodes of a k3s-shaped API server.
func apiNodes(t *testing.T, nodes ...testservers.KubeNode) []kube.Node {
	t.Helper()
	api := testservers.StartKubeAPI(t, testkit.Now, nodes...)
	kc, err := kube.ParseKubeconfig(api.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kube.NewClient(kc, 3*time.Second, testkit.Clock)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestTopologyFromAPI: roles from k3s's node-role labels (agent: none of
// them), addresses from InternalIP, every fact naming the API; etcd
// members are embedded-etcd servers, other servers' datastore unknown.
func TestTopologyFromAPI(t *testing.T) {
	nodes := apiNodes(t,
		testservers.KubeNode{Name: "s1", InternalIP: "10.0.0.1", Roles: []string{"control-plane", "etcd", "master"}, Ready: "True"},
		testservers.KubeNode{Name: "a1", InternalIP: "10.0.0.4", Ready: "True"},
		testservers.KubeNode{Name: "s2", InternalIP: "10.0.0.2", Roles: []string{"control-plane", "master"}, Ready: "True"},
		testservers.KubeNode{Name: "e1", InternalIP: "10.0.0.3", Roles: []string{"etcd"}, Ready: "True"},
	)
	topo, err := TopologyFromAPI(nodes, "Kubernetes API (k3s.yaml)")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, n := range topo.RolloutOrder() {
		order = append(order, n.Name+"="+string(n.Role.Value)+"@"+n.Address.Value+"/"+string(n.Datastore.Value))
	}
	want := "s1=server@10.0.0.1/embedded etcd s2=server@10.0.0.2/unknown e1=server@10.0.0.3/embedded etcd a1=agent@10.0.0.4/none (agent)"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("topology\n got %s\nwant %s", got, want)
	}
	s1, _ := topo.Node("s1")
	if s1.Role.Source != "Kubernetes API (k3s.yaml) node s1 label node-role.kubernetes.io/control-plane=true, node-role.kubernetes.io/etcd=true, node-role.kubernetes.io/master=true" {
		t.Errorf("role source %q", s1.Role.Source)
	}
	if s1.Address.Source != "Kubernetes API (k3s.yaml) node s1 status.addresses InternalIP" {
		t.Errorf("address source %q", s1.Address.Source)
	}
	a1, _ := topo.Node("a1")
	if !strings.Contains(a1.Role.Source, "no control-plane, master or etcd role label") {
		t.Errorf("agent role source %q", a1.Role.Source)
	}
}

// TestTopologyFromAPIRefusesToGuess: a role label k3s would not set, or a
// node without an InternalIP, is refused.
func TestTopologyFromAPIRefusesToGuess(t *testing.T) {
	odd := apiNodes(t, testservers.KubeNode{Name: "x", InternalIP: "10.0.0.9", Labels: map[string]string{LabelControlPlane: "false"}, Ready: "True"})
	if _, err := TopologyFromAPI(odd, "API"); !errors.Is(err, ErrRoleUnknown) || !strings.Contains(err.Error(), `node-role.kubernetes.io/control-plane="false"`) {
		t.Errorf("odd label: %v", err)
	}
	noIP := apiNodes(t, testservers.KubeNode{Name: "y", Ready: "True"})
	if _, err := TopologyFromAPI(noIP, "API"); err == nil || !strings.Contains(err.Error(), "no InternalIP") {
		t.Errorf("no InternalIP: %v", err)
	}
}
