package cluster

import (
	"fmt"
	"strings"
)

// Topology is the nodes of one cluster in declaration order, with notes
// about what is not known yet.
type Topology struct {
	nodes []Node
	notes []string
}

// NewTopology checks nodes (non-empty, unique names, an address, a role, a
// valid port) and returns their topology. notes are kept for Notes.
func NewTopology(nodes []Node, notes ...string) (*Topology, error) {
	if len(nodes) == 0 {
		return nil, ErrEmptyInventory
	}
	seen := map[string]string{}
	for _, n := range nodes {
		if n.Name == "" {
			return nil, fmt.Errorf("node declared in %s: %w: empty name", n.Declared, ErrBadNodeFlag)
		}
		if prev, ok := seen[n.Name]; ok {
			return nil, fmt.Errorf("node %q: %w (declared in %s and in %s)", n.Name, ErrDuplicateNode, prev, n.Declared)
		}
		seen[n.Name] = n.Declared
		if n.Address.Value == "" {
			return nil, fmt.Errorf("node %q: no address", n.Name)
		}
		if _, err := ParseRole(string(n.Role.Value)); err != nil {
			return nil, fmt.Errorf("node %q: %w", n.Name, err)
		}
		if n.Port.Value < 1 || n.Port.Value > 65535 {
			return nil, fmt.Errorf("node %q: %w %d (from %s)", n.Name, ErrBadPort, n.Port.Value, n.Port.Source)
		}
	}
	t := &Topology{nodes: append([]Node(nil), nodes...), notes: append([]string(nil), notes...)}
	t.noteSharedAddresses()
	return t, nil
}

// noteSharedAddresses notes nodes that would be reached at the same
// address and port: a rollout would visit one machine twice.
func (t *Topology) noteSharedAddresses() {
	first := map[string]string{}
	for _, n := range t.nodes {
		a := n.SSHAddress()
		if prev, ok := first[a]; ok {
			t.notes = append(t.notes, fmt.Sprintf("%s and %s are both reached at %s", prev, n.Name, a))
			continue
		}
		first[a] = n.Name
	}
}

// Nodes is every node in declaration order (a copy).
func (t *Topology) Nodes() []Node { return append([]Node(nil), t.nodes...) }

// Node returns the node called name.
func (t *Topology) Node(name string) (Node, bool) {
	for _, n := range t.nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Servers is the server nodes in declaration order.
func (t *Topology) Servers() []Node { return t.withRole(RoleServer) }

// Agents is the agent nodes in declaration order.
func (t *Topology) Agents() []Node { return t.withRole(RoleAgent) }

func (t *Topology) withRole(r Role) []Node {
	var out []Node
	for _, n := range t.nodes {
		if n.Role.Value == r {
			out = append(out, n)
		}
	}
	return out
}

// RolloutOrder is the order to restart nodes after a CA rotation: every
// server first, in declaration (inventory) order, then every agent.
func (t *Topology) RolloutOrder() []Node {
	return append(t.Servers(), t.Agents()...)
}

// Notes are things the operator should know: servers whose datastore is
// not known yet, nodes sharing an address, inventory tokens pinned to a CA.
func (t *Topology) Notes() []string {
	out := append([]string(nil), t.notes...)
	for _, n := range t.nodes {
		if n.Role.Value == RoleServer && n.Datastore.Value == DatastoreUnknown {
			out = append(out, fmt.Sprintf("%s: datastore unknown until the node is probed", n.Name))
		}
	}
	return out
}

// SetDatastore records the datastore kind of server name and its source.
func (t *Topology) SetDatastore(name string, d Datastore, source string) error {
	i, err := t.index(name)
	if err != nil {
		return err
	}
	if t.nodes[i].Role.Value != RoleServer {
		return fmt.Errorf("node %q: an agent has no datastore", name)
	}
	t.nodes[i].Datastore = Fact[Datastore]{Value: d, Source: source}
	return nil
}

// ApplyProbe checks a node's probe against its declared role and records
// the datastore kind the probe found. A probe that shows the other role is
// an ErrRoleMismatch: the topology is not silently corrected.
func (t *Topology) ApplyProbe(name string, r *ProbeResult) error {
	i, err := t.index(name)
	if err != nil {
		return err
	}
	n := t.nodes[i]
	if role, ok := r.ObservedRole(); ok && role.Value != n.Role.Value {
		return fmt.Errorf("node %q: %w: declared %s (%s), runs %s (%s)", name, ErrRoleMismatch,
			n.Role.Value, n.Role.Source, role.Value, role.Source)
	}
	if n.Role.Value == RoleServer && r.Datastore.Value != DatastoreUnknown {
		t.nodes[i].Datastore = r.Datastore
	}
	return nil
}

func (t *Topology) index(name string) (int, error) {
	for i, n := range t.nodes {
		if n.Name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownNode, name)
}

// String lists the nodes in rollout order, then the notes.
func (t *Topology) String() string {
	var b strings.Builder
	for i, n := range t.RolloutOrder() {
		fmt.Fprintf(&b, "%d. %s\n", i+1, n)
	}
	for _, note := range t.Notes() {
		fmt.Fprintf(&b, "note: %s\n", note)
	}
	return b.String()
}
