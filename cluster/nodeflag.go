package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// NodeFlagSource is the source of every fact given by a --node flag.
const NodeFlagSource = "--node flag"

// NodeFlagUsage describes the --node value for help texts.
const NodeFlagUsage = "name=address,role=server|agent[,user=USER][,port=PORT][,datastore=etcd|external|sqlite]"

// ParseNodeFlag parses one --node value,
// "name=address,role=server|agent[,user=..][,port=..][,datastore=..]".
// The role is required; a server's datastore stays unknown unless given.
func ParseNodeFlag(s string) (Node, error) {
	fields := strings.Split(s, ",")
	name, addr, ok := strings.Cut(fields[0], "=")
	name, addr = strings.TrimSpace(name), strings.TrimSpace(addr)
	if !ok || name == "" || addr == "" {
		return Node{}, fmt.Errorf("%w %q: want %s", ErrBadNodeFlag, s, NodeFlagUsage)
	}
	if strings.ContainsAny(name, " \t/") {
		return Node{}, fmt.Errorf("%w %q: node name %q has a space or a slash", ErrBadNodeFlag, s, name)
	}
	src := fmt.Sprintf("%s %s", NodeFlagSource, name)
	n := Node{
		Name:     name,
		Declared: src,
		Address:  Fact[string]{Value: strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), Source: src},
		User:     Fact[string]{Source: src + " (no user=: the SSH client's default)"},
		Port:     Fact[int]{Value: DefaultSSHPort, Source: src + " (no port=: the SSH default 22)"},
	}
	seen := map[string]bool{}
	var ds *Datastore
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return Node{}, fmt.Errorf("%w %q: %q is not key=value", ErrBadNodeFlag, s, f)
		}
		if seen[k] {
			return Node{}, fmt.Errorf("%w %q: %s given twice", ErrBadNodeFlag, s, k)
		}
		seen[k] = true
		switch k {
		case "role":
			r, err := ParseRole(v)
			if err != nil {
				return Node{}, fmt.Errorf("--node %s: %w", name, err)
			}
			n.Role = Fact[Role]{Value: r, Source: src}
		case "user":
			n.User = Fact[string]{Value: v, Source: src}
		case "port":
			p, err := parsePort(v)
			if err != nil {
				return Node{}, fmt.Errorf("--node %s: %w", name, err)
			}
			n.Port = Fact[int]{Value: p, Source: src}
		case "datastore":
			d, err := ParseDatastore(v)
			if err != nil {
				return Node{}, fmt.Errorf("--node %s: %w", name, err)
			}
			ds = &d
		default:
			return Node{}, fmt.Errorf("%w %q: unknown key %q (want role, user, port, datastore)", ErrBadNodeFlag, s, k)
		}
	}
	switch n.Role.Value {
	case "":
		return Node{}, fmt.Errorf("%w %q: role= is required (server or agent); it is never guessed", ErrBadNodeFlag, s)
	case RoleAgent:
		if ds != nil {
			return Node{}, fmt.Errorf("%w %q: an agent has no datastore", ErrBadNodeFlag, s)
		}
		n.Datastore = agentDatastore(src)
	case RoleServer:
		n.Datastore = unknownDatastore()
		if ds != nil {
			n.Datastore = Fact[Datastore]{Value: *ds, Source: src}
		}
	}
	return n, nil
}

// ParseNodeFlags parses every --node value and builds their topology.
func ParseNodeFlags(values []string) (*Topology, error) {
	nodes := make([]Node, 0, len(values))
	for _, v := range values {
		n, err := ParseNodeFlag(v)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return NewTopology(nodes)
}

// parsePort parses a decimal port from 1 to 65535.
func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%w %q: want a number from 1 to 65535", ErrBadPort, s)
	}
	return p, nil
}
