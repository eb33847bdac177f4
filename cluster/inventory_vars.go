package cluster

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/k3sca/k3sca/pki"
)

// depth is a group's distance from "all", the longest path as Ansible
// counts it.
func (inv *inventory) depth(name string, seen map[string]bool) int {
	g := inv.groups[name]
	if g == nil || name == groupAll || seen[name] {
		return 0
	}
	seen[name] = true
	defer delete(seen, name)
	d := 0
	for _, p := range g.parents {
		d = max(d, inv.depth(p, seen)+1)
	}
	return d
}

// hostGroups is every group host belongs to, directly or through a child
// group, in Ansible's order of var precedence: by depth, then by name.
func (inv *inventory) hostGroups(host string) []string {
	set := map[string]bool{groupAll: true}
	var add func(string)
	add = func(name string) {
		if set[name] {
			return
		}
		set[name] = true
		for _, p := range inv.groups[name].parents {
			add(p)
		}
	}
	for name, g := range inv.groups {
		if slices.Contains(g.hosts, host) {
			add(name)
		}
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	depth := map[string]int{}
	for _, name := range out {
		depth[name] = inv.depth(name, map[string]bool{})
	}
	slices.SortFunc(out, func(a, b string) int {
		if depth[a] != depth[b] {
			return depth[a] - depth[b]
		}
		return strings.Compare(a, b)
	})
	return out
}

// hostVar resolves a variable of host the way Ansible does: group vars by
// precedence, then host vars. The first name found wins among aliases
// given at the same level.
func (inv *inventory) hostVar(host string, names ...string) (invVar, bool) {
	var found invVar
	ok := false
	pick := func(vars map[string]invVar) {
		for _, n := range names {
			if v, has := vars[n]; has {
				found, ok = v, true
				return
			}
		}
	}
	for _, g := range inv.hostGroups(host) {
		if grp := inv.groups[g]; grp != nil {
			pick(grp.vars)
		}
	}
	pick(inv.hosts[host].vars)
	return found, ok
}

// globalVar is a var of the k3s_cluster group, else of all.
func (inv *inventory) globalVar(name string) (string, bool) {
	for _, g := range []string{groupCluster, groupAll} {
		if grp := inv.groups[g]; grp != nil {
			if v, ok := grp.vars[name]; ok && v.node.Kind == yaml.ScalarNode {
				return v.node.Value, true
			}
		}
	}
	return "", false
}

// roleGroup picks the group of a role: the var that renames it, else the
// current name, else the legacy name. Both current and legacy present is
// ambiguous and refused.
func (inv *inventory) roleGroup(renameVar, current, legacy string) (string, error) {
	if name, ok := inv.globalVar(renameVar); ok {
		return name, nil
	}
	_, hasCur := inv.groups[current]
	_, hasOld := inv.groups[legacy]
	if hasCur && hasOld {
		return "", fmt.Errorf("%w: both groups %q and %q exist; set %s to say which one holds the %ss", ErrBadInventory, current, legacy, renameVar, current)
	}
	if hasOld {
		return legacy, nil
	}
	return current, nil
}

// groupHosts is the hosts of a group and of its children, in inventory
// order, each with where it was listed.
func (inv *inventory) groupHosts(name string) ([]string, map[string]string) {
	var order []string
	where := map[string]string{}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		g := inv.groups[n]
		if g == nil || seen["group:"+n] {
			return
		}
		seen["group:"+n] = true
		for _, h := range g.hosts {
			if _, ok := where[h]; !ok {
				order = append(order, h)
				where[h] = g.hostPath[h]
			}
		}
		for _, c := range g.children {
			walk(c)
		}
	}
	walk(name)
	return order, where
}

func (inv *inventory) topology() (*Topology, error) {
	serverGroup, err := inv.roleGroup("server_group", groupServer, groupServerLegacy)
	if err != nil {
		return nil, err
	}
	agentGroup, err := inv.roleGroup("agent_group", groupAgent, groupAgentLegacy)
	if err != nil {
		return nil, err
	}
	if _, ok := inv.groups[serverGroup]; !ok {
		return nil, fmt.Errorf("%w %q (k3s-ansible puts servers in k3s_cluster.children.server)", ErrNoServerGroup, serverGroup)
	}
	servers, serverWhere := inv.groupHosts(serverGroup)
	agents, agentWhere := inv.groupHosts(agentGroup)
	if len(servers) == 0 {
		return nil, fmt.Errorf("%w: group %q has no hosts", ErrEmptyInventory, serverGroup)
	}
	var nodes []Node
	var notes []string
	for _, h := range servers {
		if aw, ok := agentWhere[h]; ok {
			return nil, fmt.Errorf("host %q: %w (%s and %s)", h, ErrBothRoles, serverWhere[h], aw)
		}
		n, err := inv.node(h, RoleServer, serverWhere[h])
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	for _, h := range agents {
		n, err := inv.node(h, RoleAgent, agentWhere[h])
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	notes = append(notes, inv.tokenNotes(append(append([]string(nil), servers...), agents...))...)
	return NewTopology(nodes, notes...)
}

func (inv *inventory) node(host string, role Role, listed string) (Node, error) {
	n := Node{Name: host, Declared: listed, Role: Fact[Role]{Value: role, Source: listed}}
	if v, ok := inv.hostVar(host, "ansible_host", "ansible_ssh_host"); ok {
		s, err := inv.scalar(host, v)
		if err != nil {
			return Node{}, err
		}
		n.Address = Fact[string]{Value: s, Source: inv.where(v.path, v.node.Line)}
	}
	if n.Address.Value == "" {
		n.Address = Fact[string]{Value: host, Source: listed + " (no ansible_host: the host name is the address)"}
	}
	n.User = Fact[string]{Source: "not set in the inventory (the SSH client's default)"}
	if v, ok := inv.hostVar(host, "ansible_user", "ansible_ssh_user"); ok {
		s, err := inv.scalar(host, v)
		if err != nil {
			return Node{}, err
		}
		n.User = Fact[string]{Value: s, Source: inv.where(v.path, v.node.Line)}
	}
	n.Port = Fact[int]{Value: DefaultSSHPort, Source: "not set in the inventory (the SSH default 22)"}
	if v, ok := inv.hostVar(host, "ansible_port", "ansible_ssh_port"); ok {
		s, err := inv.scalar(host, v)
		if err != nil {
			return Node{}, err
		}
		p, err := parsePort(s)
		if err != nil {
			return Node{}, fmt.Errorf("host %q: %s: %w", host, v.path, err)
		}
		n.Port = Fact[int]{Value: p, Source: inv.where(v.path, v.node.Line)}
	}
	if role == RoleAgent {
		n.Datastore = agentDatastore(listed)
		return n, nil
	}
	n.Datastore = unknownDatastore()
	if v, ok := inv.hostVar(host, "use_external_database"); ok && v.node.Kind == yaml.ScalarNode {
		if isTrue(v.node.Value) {
			n.Datastore = Fact[Datastore]{Value: DatastoreExternal, Source: inv.where(v.path, v.node.Line) + " (use_external_database)"}
		}
	}
	return n, nil
}

// scalar is a host var's string value; templates and non-scalars are
// refused (only Ansible can evaluate a template).
func (inv *inventory) scalar(host string, v invVar) (string, error) {
	if v.node.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("host %q: %s (line %d): %w: want a plain value", host, v.path, v.node.Line, ErrBadInventory)
	}
	if strings.Contains(v.node.Value, "{{") || strings.Contains(v.node.Value, "{%") {
		return "", fmt.Errorf("host %q: %s (line %d): %w; give the node with --node instead", host, v.path, v.node.Line, ErrTemplated)
	}
	return strings.TrimSpace(v.node.Value), nil
}

// tokenNotes warns about k3s-ansible's token var holding a full token: a
// later playbook run would write the old CA hash back to the nodes.
func (inv *inventory) tokenNotes(hosts []string) []string {
	var notes []string
	seen := map[string]bool{}
	for _, h := range hosts {
		v, ok := inv.hostVar(h, "token")
		if !ok || seen[v.path] || v.node.Kind != yaml.ScalarNode || !strings.HasPrefix(v.node.Value, pki.TokenPrefix) {
			continue
		}
		seen[v.path] = true
		t, err := pki.ParseToken(v.node.Value)
		if err != nil || t.CAHash == "" {
			continue
		}
		notes = append(notes, fmt.Sprintf("%s is a full token pinned to CA hash %s: after a rotation update it too, or the next k3s-ansible run writes the old hash back",
			inv.where(v.path, v.node.Line), t.CAHash))
	}
	return notes
}
