package cluster

import (
	"errors"
	"strings"
	"testing"
)

func TestTopologyOrderAndNotes(t *testing.T) {
	topo := readInventory(t, "named.yml")
	if got := len(topo.Servers()); got != 3 {
		t.Errorf("servers %d", got)
	}
	if got := len(topo.Agents()); got != 2 {
		t.Errorf("agents %d", got)
	}
	if n, ok := topo.Node("s2"); !ok || n.SSHAddress() != "192.0.2.12:2222" {
		t.Errorf("Node(s2) = %v, %v", n, ok)
	}
	if n, _ := topo.Node("s3"); n.SSHAddress() != "[2001:db8::13]:22" {
		t.Errorf("IPv6 SSH address %q", n.SSHAddress())
	}
	if _, ok := topo.Node("nope"); ok {
		t.Error("Node(nope) found")
	}
	s := topo.String()
	for _, want := range []string{"1. s1 server (datastore unknown) admin@192.0.2.11:22", "5. a2 agent root@192.0.2.22:2022",
		"note: s1: datastore unknown until the node is probed"} {
		if !strings.Contains(s, want) {
			t.Errorf("String lacks %q:\n%s", want, s)
		}
	}
	if err := topo.SetDatastore("s1", DatastoreEtcd, "operator"); err != nil {
		t.Fatal(err)
	}
	if n, _ := topo.Node("s1"); n.Datastore.Value != DatastoreEtcd || n.Datastore.Source != "operator" {
		t.Errorf("SetDatastore: %+v", n.Datastore)
	}
	if strings.Contains(strings.Join(topo.Notes(), "\n"), "s1: datastore unknown") {
		t.Error("s1 still noted unknown")
	}
	if err := topo.SetDatastore("a1", DatastoreEtcd, "x"); err == nil {
		t.Error("SetDatastore on an agent")
	}
	if err := topo.SetDatastore("zz", DatastoreEtcd, "x"); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("SetDatastore unknown: %v", err)
	}
}

func TestTopologySharedAddress(t *testing.T) {
	a, _ := ParseNodeFlag("s1=192.0.2.1,role=server")
	b, _ := ParseNodeFlag("s2=192.0.2.1,role=server")
	topo, err := NewTopology([]Node{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(topo.Notes(), "\n"), "s1 and s2 are both reached at 192.0.2.1:22") {
		t.Errorf("notes %q", topo.Notes())
	}
}

func TestNewTopologyChecks(t *testing.T) {
	good, _ := ParseNodeFlag("s1=192.0.2.1,role=server")
	noAddr, noRole, badPort := good, good, good
	noAddr.Address.Value = ""
	noRole.Role.Value = ""
	badPort.Port.Value = 0
	for name, nodes := range map[string][]Node{"no address": {noAddr}, "no role": {noRole}, "bad port": {badPort}, "empty": nil} {
		if _, err := NewTopology(nodes); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestApplyProbe(t *testing.T) {
	topo, err := ParseNodeFlags([]string{"s1=192.0.2.1,role=server", "a1=192.0.2.2,role=agent"})
	if err != nil {
		t.Fatal(err)
	}
	server := probeFixture(t, "server-installsh")
	agent := probeFixture(t, "agent-ansible")
	if err := topo.ApplyProbe("s1", server); err != nil {
		t.Fatal(err)
	}
	n, _ := topo.Node("s1")
	if n.Datastore.Value != DatastoreEtcd || !strings.Contains(n.Datastore.Source, "--cluster-init in ExecStart of /etc/systemd/system/k3s.service") {
		t.Errorf("datastore after probe: %+v", n.Datastore)
	}
	if err := topo.ApplyProbe("a1", agent); err != nil {
		t.Fatal(err)
	}
	if err := topo.ApplyProbe("a1", server); !errors.Is(err, ErrRoleMismatch) {
		t.Errorf("agent probed as server: %v", err)
	}
	if err := topo.ApplyProbe("s1", agent); !errors.Is(err, ErrRoleMismatch) {
		t.Errorf("server probed as agent: %v", err)
	}
	if err := topo.ApplyProbe("s1", probeFixture(t, "both-roles")); err != nil {
		t.Errorf("mixed evidence is a problem of the probe, not a mismatch: %v", err)
	}
	if err := topo.ApplyProbe("zz", agent); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("unknown node: %v", err)
	}
}
