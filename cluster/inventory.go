package cluster

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Group names of k3s-ansible inventories: today's "server" and "agent"
// (k3s-io/k3s-ansible inventory-sample.yml), the older "master" and
// "node" (its former inventory/sample/hosts.ini, as YAML). The vars
// server_group and agent_group rename them, as in k3s-ansible's roles.
const (
	groupServer       = "server"
	groupAgent        = "agent"
	groupServerLegacy = "master"
	groupAgentLegacy  = "node"
	groupAll          = "all"
	groupCluster      = "k3s_cluster"
)

// invVar is one variable definition and where it is.
type invVar struct {
	node *yaml.Node
	path string
}

// invGroup is an Ansible group, merged over every place it is defined.
type invGroup struct {
	name     string
	hosts    []string
	hostPath map[string]string
	vars     map[string]invVar
	children []string
	parents  []string
}

// invHost is an Ansible host, merged over every place it is defined.
type invHost struct {
	name string
	vars map[string]invVar
}

// inventory is a parsed Ansible YAML inventory.
type inventory struct {
	file   string
	groups map[string]*invGroup
	hosts  map[string]*invHost
}

// ReadInventory reads an inventory file through f and parses it with
// ParseInventory.
func ReadInventory(ctx context.Context, f Files, path string) (*Topology, error) {
	b, err := f.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	return ParseInventory(b, filepath.Base(path))
}

// ParseInventory builds a topology from an Ansible YAML inventory in
// k3s-ansible's format: hosts of the server group (or server_group, or the
// older "master") are servers, hosts of the agent group (or agent_group, or
// the older "node") are agents. ansible_host, ansible_user and ansible_port
// are resolved with Ansible's precedence (all, then parent groups, then
// child groups, then the host). file names the inventory in sources.
func ParseInventory(data []byte, file string) (*Topology, error) {
	inv := &inventory{file: file, groups: map[string]*invGroup{}, hosts: map[string]*invHost{}}
	if err := inv.parse(data); err != nil {
		if file != "" {
			return nil, fmt.Errorf("inventory %s: %w", file, err)
		}
		return nil, fmt.Errorf("inventory: %w", err)
	}
	t, err := inv.topology()
	if err != nil && file != "" {
		return nil, fmt.Errorf("inventory %s: %w", file, err)
	}
	return t, err
}

func (inv *inventory) parse(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return ErrEmptyInventory
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%w: %s", ErrBadInventory, scrubYAMLError(err))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return ErrEmptyInventory
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%w: line %d: the top level is not a mapping of groups (is it an INI inventory? convert it with: ansible-inventory -i hosts.ini --list -y)", ErrBadInventory, root.Line)
	}
	inv.group(groupAll)
	return eachPair(root, "", func(k, v *yaml.Node, path string) error {
		parent := groupAll
		if k.Value == groupAll {
			parent = ""
		}
		return inv.parseGroup(k.Value, v, path, parent)
	})
}

// eachPair calls fn for each key of mapping m, refusing duplicate keys.
func eachPair(m *yaml.Node, path string, fn func(k, v *yaml.Node, path string) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		if line, ok := seen[k.Value]; ok {
			return fmt.Errorf("%w: %s: key given twice (lines %d and %d)", ErrDuplicateNode, p, line, k.Line)
		}
		seen[k.Value] = k.Line
		if err := fn(k, v, p); err != nil {
			return err
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "" && n.Style == 0)
}

func (inv *inventory) group(name string) *invGroup {
	g, ok := inv.groups[name]
	if !ok {
		g = &invGroup{name: name, hostPath: map[string]string{}, vars: map[string]invVar{}}
		inv.groups[name] = g
	}
	return g
}

func (inv *inventory) host(name string) *invHost {
	h, ok := inv.hosts[name]
	if !ok {
		h = &invHost{name: name, vars: map[string]invVar{}}
		inv.hosts[name] = h
	}
	return h
}

func (inv *inventory) parseGroup(name string, body *yaml.Node, path, parent string) error {
	g := inv.group(name)
	if parent != "" && !slices.Contains(g.parents, parent) {
		g.parents = append(g.parents, parent)
		pg := inv.group(parent)
		pg.children = append(pg.children, name)
	}
	if isNull(body) {
		return nil
	}
	if body.Kind != yaml.MappingNode {
		return fmt.Errorf("%w: %s (line %d): a group must be a mapping with hosts, vars or children", ErrBadInventory, path, body.Line)
	}
	return eachPair(body, path, func(k, v *yaml.Node, p string) error {
		switch k.Value {
		case "hosts":
			return inv.parseHosts(g, v, p)
		case "vars":
			return inv.parseVars(g.vars, v, p)
		case "children":
			if isNull(v) {
				return nil
			}
			if v.Kind != yaml.MappingNode {
				return fmt.Errorf("%w: %s (line %d): children must be a mapping of groups", ErrBadInventory, p, v.Line)
			}
			return eachPair(v, p, func(ck, cv *yaml.Node, cp string) error {
				return inv.parseGroup(ck.Value, cv, cp, name)
			})
		}
		return fmt.Errorf("%w: %s (line %d): unexpected key %q in group %s (want hosts, vars or children)", ErrBadInventory, p, k.Line, k.Value, name)
	})
}

func (inv *inventory) parseHosts(g *invGroup, v *yaml.Node, path string) error {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return fmt.Errorf("%w: %s (line %d): hosts must be a mapping of host names", ErrBadInventory, path, v.Line)
	}
	return eachPair(v, path, func(k, hv *yaml.Node, p string) error {
		pattern, port := splitHostPort(k.Value)
		names, err := expandHostPattern(pattern)
		if err != nil {
			return err
		}
		for _, name := range names {
			h := inv.host(name)
			if !slices.Contains(g.hosts, name) {
				g.hosts = append(g.hosts, name)
				g.hostPath[name] = inv.where(p, k.Line)
			}
			if port != "" {
				h.vars["ansible_port"] = invVar{node: &yaml.Node{Kind: yaml.ScalarNode, Value: port, Line: k.Line}, path: p + " (port in the host name)"}
			}
			if isNull(hv) {
				continue
			}
			if hv.Kind != yaml.MappingNode {
				return fmt.Errorf("%w: %s (line %d): host vars must be a mapping", ErrBadInventory, p, hv.Line)
			}
			if err := inv.parseVars(h.vars, hv, p); err != nil {
				return err
			}
		}
		return nil
	})
}

func (inv *inventory) parseVars(dst map[string]invVar, v *yaml.Node, path string) error {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return fmt.Errorf("%w: %s (line %d): vars must be a mapping", ErrBadInventory, path, v.Line)
	}
	return eachPair(v, path, func(k, val *yaml.Node, p string) error {
		dst[k.Value] = invVar{node: val, path: p}
		return nil
	})
}

// where is a source string: "inventory <path> (<file> line N)".
func (inv *inventory) where(path string, line int) string {
	if inv.file == "" {
		return fmt.Sprintf("inventory %s (line %d)", path, line)
	}
	return fmt.Sprintf("inventory %s (%s line %d)", path, inv.file, line)
}
