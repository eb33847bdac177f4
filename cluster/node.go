package cluster

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Fact is a value and where it came from, such as
// "inventory k3s_cluster.children.server.hosts.s1.ansible_host (inv.yml line 6)"
// or "--node flag".
type Fact[T any] struct {
	// Value is the fact itself.
	Value T
	// Source says where Value came from; never empty for a set fact.
	Source string
}

// Role is what a node runs: a k3s server or a k3s agent.
type Role string

// The roles a node can have.
const (
	RoleServer Role = "server"
	RoleAgent  Role = "agent"
)

// ParseRole accepts "server" or "agent".
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleServer, RoleAgent:
		return Role(s), nil
	}
	return "", fmt.Errorf("%w %q: want server or agent", ErrBadRole, s)
}

// Datastore is the kind of datastore a server uses.
type Datastore string

// The datastore kinds. A server's kind is DatastoreUnknown until a probe
// or an explicit field says otherwise; it is never guessed from the number
// of servers.
const (
	DatastoreUnknown  Datastore = "unknown"
	DatastoreEtcd     Datastore = "embedded etcd"
	DatastoreExternal Datastore = "external"
	DatastoreSQLite   Datastore = "sqlite"
	// DatastoreNone is an agent's: agents have no datastore.
	DatastoreNone Datastore = "none (agent)"
)

// ParseDatastore accepts the short names used in --node flags:
// etcd, external, sqlite.
func ParseDatastore(s string) (Datastore, error) {
	switch s {
	case "etcd", "embedded-etcd":
		return DatastoreEtcd, nil
	case "external":
		return DatastoreExternal, nil
	case "sqlite":
		return DatastoreSQLite, nil
	}
	return "", fmt.Errorf("%w %q: want etcd, external or sqlite", ErrBadDatastore, s)
}

// DefaultSSHPort is the port a node gets when nothing names one.
const DefaultSSHPort = 22

// Node is one machine of the cluster, each fact with its source.
type Node struct {
	// Name is the node's name in the inventory or --node flag.
	Name string
	// Declared is where the node was declared.
	Declared string
	// Address is the host name or IP address to reach it by SSH.
	Address Fact[string]
	// User is the SSH user; empty means the SSH client's default.
	User Fact[string]
	// Port is the SSH port.
	Port Fact[int]
	// Role is server or agent.
	Role Fact[Role]
	// Datastore is the server's datastore kind; DatastoreNone for agents.
	Datastore Fact[Datastore]
}

// SSHAddress is host:port for dialing, with IPv6 addresses bracketed.
func (n Node) SSHAddress() string {
	return net.JoinHostPort(n.Address.Value, strconv.Itoa(n.Port.Value))
}

// String is a one-line summary: "s1 server (datastore unknown) debian@192.0.2.10:22".
func (n Node) String() string {
	var b strings.Builder
	b.WriteString(n.Name)
	b.WriteString(" ")
	b.WriteString(string(n.Role.Value))
	if n.Role.Value == RoleServer {
		fmt.Fprintf(&b, " (datastore %s)", n.Datastore.Value)
	}
	b.WriteString(" ")
	if n.User.Value != "" {
		b.WriteString(n.User.Value + "@")
	}
	b.WriteString(n.SSHAddress())
	return b.String()
}

// Describe lists every fact of the node with its source, one per line.
func (n Node) Describe() []string {
	user := n.User.Value
	if user == "" {
		user = "(SSH client default)"
	}
	lines := []string{
		fmt.Sprintf("%s: declared in %s", n.Name, n.Declared),
		fmt.Sprintf("  address   %s  from %s", n.Address.Value, n.Address.Source),
		fmt.Sprintf("  user      %s  from %s", user, n.User.Source),
		fmt.Sprintf("  port      %d  from %s", n.Port.Value, n.Port.Source),
		fmt.Sprintf("  role      %s  from %s", n.Role.Value, n.Role.Source),
	}
	if n.Role.Value == RoleServer {
		lines = append(lines, fmt.Sprintf("  datastore %s  from %s", n.Datastore.Value, n.Datastore.Source))
	}
	return lines
}

// unknownDatastore is the datastore fact of a server nobody has probed.
func unknownDatastore() Fact[Datastore] {
	return Fact[Datastore]{Value: DatastoreUnknown, Source: "not known until the node is probed (never guessed from the number of servers)"}
}

// agentDatastore is the datastore fact of every agent.
func agentDatastore(roleSource string) Fact[Datastore] {
	return Fact[Datastore]{Value: DatastoreNone, Source: "agents have no datastore (role from " + roleSource + ")"}
}
