package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/k3sca/k3sca/kube"
)

// ErrRoleUnknown is an API node whose role labels do not say what it runs.
var ErrRoleUnknown = errors.New("the node's role labels do not say what it runs")

// Server role labels k3s sets on a server node: control-plane and master
// on every server, etcd on a member of the embedded etcd (an etcd-only
// server has etcd alone). An agent has none of them.
const (
	LabelControlPlane = "node-role.kubernetes.io/control-plane"
	LabelMaster       = "node-role.kubernetes.io/master"
	LabelEtcd         = "node-role.kubernetes.io/etcd"
)

// TopologyFromAPI is the topology of the nodes the Kubernetes API lists
// (source names the API and the kubeconfig, for every fact): a node with a
// server role label is a server, one with none of them an agent; its
// address is its InternalIP. A role label whose value is not "true", or a
// node without an InternalIP, is refused rather than guessed. SSH user and
// port are not in the API: they are left to the SSH client (~/.ssh/config).
func TopologyFromAPI(nodes []kube.Node, source string) (*Topology, error) {
	var out []Node
	for _, kn := range nodes {
		name := kn.Name()
		src := fmt.Sprintf("%s node %s", source, name)
		role, roleSrc, err := apiRole(kn, src)
		if err != nil {
			return nil, fmt.Errorf("node %q: %w", name, err)
		}
		ip := kn.InternalIP()
		if ip == "" {
			return nil, fmt.Errorf("node %q: no InternalIP address in the API (%s)", name, src)
		}
		n := Node{
			Name:     name,
			Declared: src,
			Address:  Fact[string]{Value: ip, Source: src + " status.addresses InternalIP"},
			User:     Fact[string]{Source: source + " (not in the API: the SSH client's default)"},
			Port:     Fact[int]{Value: DefaultSSHPort, Source: source + " (not in the API: the SSH default 22)"},
			Role:     Fact[Role]{Value: role, Source: roleSrc},
		}
		switch {
		case role == RoleAgent:
			n.Datastore = agentDatastore(roleSrc)
		case kn.Metadata.Labels[LabelEtcd] == "true":
			n.Datastore = Fact[Datastore]{Value: DatastoreEtcd, Source: src + " label " + LabelEtcd + "=true"}
		default:
			n.Datastore = unknownDatastore()
		}
		out = append(out, n)
	}
	return NewTopology(out)
}

// apiRole reads a node's role from its node-role labels.
func apiRole(kn kube.Node, src string) (Role, string, error) {
	var set, odd []string
	for _, l := range []string{LabelControlPlane, LabelMaster, LabelEtcd} {
		v, ok := kn.Metadata.Labels[l]
		switch {
		case !ok:
		case v == "true":
			set = append(set, l+"=true")
		default:
			odd = append(odd, fmt.Sprintf("%s=%q", l, v))
		}
	}
	if len(odd) > 0 {
		return "", "", fmt.Errorf("%w: %s (k3s sets \"true\"); give its role in an inventory or a --node flag", ErrRoleUnknown, strings.Join(odd, ", "))
	}
	if len(set) > 0 {
		slices.Sort(set)
		return RoleServer, src + " label " + strings.Join(set, ", "), nil
	}
	return RoleAgent, src + " (no control-plane, master or etcd role label)", nil
}
