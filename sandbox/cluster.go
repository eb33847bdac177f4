package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
	"github.com/k3sca/k3sca/rollout"
)

// ClusterInput configures a sandbox cluster.
type ClusterInput struct {
	// Root is created; each node's root is Root/nodes/<name>.
	Root string
	// Servers (at least 1) and Agents are the node counts.
	Servers, Agents int
	// Product and Now are as for a sandbox.
	Product product.Product
	Now     time.Time
}

// Node is one node of a sandbox cluster.
type Node struct {
	// Name is s1, s2, ... or a1, a2, ...; Role its role.
	Name string       `json:"name"`
	Role cluster.Role `json:"role"`
	// Root stands for the node's "/"; DataDir is its k3s data dir.
	Root    string `json:"root"`
	DataDir string `json:"dataDir"`
}

// Cluster is N server and M agent node roots on this machine that
// share one datastore: the servers' server/db is the first server's (a
// symlink), as servers of one cluster share their datastore. Each node
// keeps the full token where real installs put it.
type Cluster struct {
	// Nodes are the servers, then the agents.
	Nodes []Node
	// Inventory is the k3s-ansible inventory describing them.
	Inventory string
	// Token is the cluster's full token (secret).
	Token pki.Token
}

// CreateCluster builds a sandbox cluster: the first server is a
// sandbox (Create), the other servers copies of it sharing its
// datastore, the agents an agent dir with the server CA they trust. Token
// places: config.yaml on s1 and every third server, k3s.service.env on the
// others, k3s-agent.service.env on agents, with the units and an inventory.
func CreateCluster(ctx context.Context, in ClusterInput) (*Cluster, error) {
	if in.Servers < 1 || in.Agents < 0 {
		return nil, fmt.Errorf("a sandbox cluster needs at least one server (got %d servers, %d agents)", in.Servers, in.Agents)
	}
	p := in.Product
	c := &Cluster{}
	for i := 1; i <= in.Servers; i++ {
		c.Nodes = append(c.Nodes, c.node(in, fmt.Sprintf("s%d", i), cluster.RoleServer))
	}
	for i := 1; i <= in.Agents; i++ {
		c.Nodes = append(c.Nodes, c.node(in, fmt.Sprintf("a%d", i), cluster.RoleAgent))
	}
	first := c.Nodes[0]
	sb, err := Create(ctx, Input{DataDir: first.DataDir, Product: p, Now: in.Now, NoKubeconfig: true})
	if err != nil {
		return nil, err
	}
	c.Token = sb.Token
	for i, n := range c.Nodes {
		var err error
		switch {
		case i == 0:
		case n.Role == cluster.RoleServer:
			err = c.addServer(ctx, first, n, in.Now)
		default:
			err = c.addAgent(ctx, first, n, p, in.Now)
		}
		if err == nil {
			err = c.writeTokenPlaces(p, i, n, in.Now)
		}
		if err != nil {
			return nil, fmt.Errorf("sandbox node %s: %w", n.Name, err)
		}
	}
	c.Inventory = filepath.Join(in.Root, "inventory.yml")
	if err := fsutil.WriteFile(c.Inventory, c.inventoryYAML(), fsutil.ModePublic, in.Now); err != nil {
		return nil, err
	}
	marker, err := json.MarshalIndent(c.Nodes, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := fsutil.WriteFile(filepath.Join(in.Root, sandboxClusterFile), marker, fsutil.ModePublic, in.Now); err != nil {
		return nil, err
	}
	return c, nil
}

// sandboxClusterFile, beside a sandbox cluster's inventory, lists its node
// roots: the rollout reaches those nodes locally, with their simulated
// services, instead of over SSH.
const sandboxClusterFile = ".k3sca-sandbox-cluster.json"

// OpenCluster returns the sandbox cluster whose inventory is
// inventory, or nil when it is not one.
func OpenCluster(inventory string) (*Cluster, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(inventory), sandboxClusterFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := &Cluster{Inventory: inventory}
	if err := json.Unmarshal(b, &c.Nodes); err != nil {
		return nil, fmt.Errorf("sandbox cluster %s: %w", sandboxClusterFile, err)
	}
	return c, nil
}

// ClusterOf returns the sandbox cluster the data dir dataDir is a
// node of, or nil.
func ClusterOf(dataDir string) (*Cluster, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	for d := abs; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, sandboxClusterFile)); err == nil {
			return OpenCluster(filepath.Join(d, "inventory.yml"))
		}
	}
	return nil, nil
}

func (c *Cluster) node(in ClusterInput, name string, role cluster.Role) Node {
	root := filepath.Join(in.Root, "nodes", name)
	return Node{Name: name, Role: role, Root: root, DataDir: filepath.Join(root, filepath.FromSlash(in.Product.DefaultDataDir()))}
}

// addServer copies the first server's data dir and shares its datastore.
func (c *Cluster) addServer(ctx context.Context, first, n Node, now time.Time) error {
	if err := os.MkdirAll(filepath.Dir(n.DataDir), 0o755); err != nil {
		return err
	}
	if err := fsutil.CopyDir(ctx, first.DataDir, n.DataDir); err != nil {
		return err
	}
	db := filepath.Join(product.ServerDir(n.DataDir), "db")
	if err := os.RemoveAll(db); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join(product.ServerDir(first.DataDir), "db"), db); err != nil {
		return err
	}
	// The cluster's other servers run, as the agents do (the first is
	// stopped, as a new sandbox is, so its SQLite file can be written).
	return writeSandboxState(n.DataDir, stateActive, now)
}

// addAgent gives an agent the server CA it trusts and the certificates
// the server signed for it (pki.GenerateAgentCerts), as a joined agent
// has them, and the simulated binary a sandbox server has.
func (c *Cluster) addAgent(ctx context.Context, first, n Node, p product.Product, now time.Time) error {
	ca, err := os.ReadFile(pki.ServerCAPath(product.ServerDir(first.DataDir)))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(n.DataDir, "agent"), 0o700); err != nil {
		return err
	}
	set, err := pki.GenerateAgentCerts(ctx, pki.GenOptions{Product: p, Now: now}, product.ServerDir(first.DataDir), n.Name)
	if err != nil {
		return err
	}
	if err := set.Write(ctx, pki.AgentDir(n.DataDir), now); err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(n.DataDir, "agent", "server-ca.crt"), ca, fsutil.ModePublic, now); err != nil {
		return err
	}
	if err := SetVersion(n.DataDir, p, Version(p), now); err != nil {
		return err
	}
	return (&sandboxAgent{node: n}).write(true, now)
}

// writeTokenPlaces writes the unit, and the full token where installs
// keep it.
func (c *Cluster) writeTokenPlaces(p product.Product, i int, n Node, now time.Time) error {
	unit, sub := p.ServerUnit(), "server"
	if n.Role == cluster.RoleAgent {
		unit, sub = p.AgentUnit(), "agent"
	}
	etc := filepath.Join(n.Root, "etc")
	sys := filepath.Join(etc, "systemd", "system")
	cfg := filepath.Join(n.Root, filepath.FromSlash(p.ConfigFile()))
	for _, d := range []string{sys, filepath.Dir(cfg)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		filepath.Join(sys, unit+".service"): fmt.Sprintf("[Service]\nType=notify\nEnvironmentFile=-/etc/systemd/system/%s.service.env\nExecStart=/usr/local/bin/%s %s\n", unit, p.Name(), sub),
	}
	env := strings.ToUpper(p.Name()) + "_TOKEN"
	switch {
	case n.Role == cluster.RoleAgent:
		files[filepath.Join(sys, unit+".service.env")] = fmt.Sprintf("%s_URL='https://127.0.0.1:6443'\n%s='%s'\n", strings.ToUpper(p.Name()), env, c.Token.String())
	case i%3 == 0:
		files[cfg] = "write-kubeconfig-mode: \"0644\"\ntoken: " + c.Token.String() + "\n"
	default:
		files[filepath.Join(sys, unit+".service.env")] = env + "=" + c.Token.String() + "\n"
	}
	for f, body := range files {
		if err := fsutil.WriteFile(f, []byte(body), 0o600, now); err != nil {
			return err
		}
	}
	return nil
}

// inventoryYAML is the cluster in k3s-ansible's inventory format.
func (c *Cluster) inventoryYAML() []byte {
	var b strings.Builder
	b.WriteString("# k3sca sandbox cluster: every node is a directory on this machine (sandbox_root)\n")
	b.WriteString("k3s_cluster:\n  children:\n")
	for _, g := range []struct {
		name string
		role cluster.Role
	}{{"server", cluster.RoleServer}, {"agent", cluster.RoleAgent}} {
		fmt.Fprintf(&b, "    %s:\n      hosts:\n", g.name)
		for _, n := range c.Nodes {
			if n.Role == g.role {
				fmt.Fprintf(&b, "        %s:\n          ansible_host: 127.0.0.1\n          sandbox_root: %s\n", n.Name, n.Root)
			}
		}
	}
	return []byte(b.String())
}

// Members are the rollout's view of the sandbox cluster: local files under
// each node's root, the simulated services (a server's supervisor serves
// on 127.0.0.1 in this process), and the checks. Close releases them.
func (c *Cluster) Members(p product.Product, now func() time.Time) ([]rollout.Member, func(), error) {
	var (
		members []rollout.Member
		servers []*Services
	)
	closeAll := func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}
	for _, n := range c.Nodes {
		host, err := remote.NewLocal(n.Root, nil)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		cn := cluster.Node{Name: n.Name, Declared: "sandbox cluster", Address: cluster.Fact[string]{Value: "127.0.0.1", Source: "sandbox"},
			Role: cluster.Fact[cluster.Role]{Value: n.Role, Source: "sandbox"}}
		// Its version as a node's is read: its simulated binary's
		// --version, run on this machine (whose PATH is not the node's).
		m := rollout.Member{Node: cn, Host: host, Version: cluster.VersionProbe{Files: host,
			Run: func(ctx context.Context, argv []string) ([]byte, error) {
				out, _, err := host.Run(ctx, argv)
				return out, err
			}}}
		// As on a real cluster: etcd member health (a sandbox server is
		// on SQLite: it does not apply) and node Ready through the first
		// server's admin kubeconfig (a sandbox has no Kubernetes API: not
		// checked, and said so).
		first := host
		if len(members) > 0 {
			first = members[0].Host.(*remote.Local)
		}
		kubeReady := rollout.KubeReady{Node: n.Name, Server: first, ServerName: c.Nodes[0].Name, Kubeconfig: p.AdminKubeconfig(), Now: now}
		if n.Role == cluster.RoleServer {
			svc := &Services{DataDir: n.DataDir, Product: p, Now: now, Serve: true}
			servers = append(servers, svc)
			m.Service = unitService{svc, p.ServerUnit()}
			m.Version.Program = svc.UnitProgram
			m.Check = func(ctx context.Context, want rollout.Want) error {
				url, ok := svc.SupervisorURL(p.ServerUnit())
				if !ok {
					return errors.New("the supervisor does not answer")
				}
				return rollout.ServerCheck(url, now)(ctx, want)
			}
			m.Verify = []rollout.Verifier{rollout.EtcdHealth{Host: host, Endpoint: "https://127.0.0.1:2379", Now: now}, kubeReady}
			m.Serving = servingProbe(svc, p.ServerUnit())
		} else {
			agent := &sandboxAgent{node: n, files: host, product: p, now: now, server: func() (string, string, bool) {
				for _, s := range servers {
					if url, ok := s.SupervisorURL(p.ServerUnit()); ok {
						return url, product.ServerDir(s.DataDir), true
					}
				}
				return "", "", false
			}}
			m.Service = agent
			m.Version.Program = agent.UnitProgram
			m.Check = rollout.AgentCheck(host, agent, "/"+strings.TrimPrefix(filepath.ToSlash(p.DefaultDataDir()), "/"), now)
			m.Verify = []rollout.Verifier{kubeReady}
		}
		members = append(members, m)
	}
	return members, closeAll, nil
}

// unitService is one unit of the sandbox's Services as a rollout.Service.
type unitService struct {
	mgr  *Services
	unit string
}

// Restart starts the unit again, as systemctl restart does: in one step,
// never recorded stopped in between (a k3sca killed mid-restart leaves it
// as it was, or started, or failed; never as if someone had stopped it).
// Start takes a running unit down first.
func (u unitService) Restart(ctx context.Context) error {
	return u.mgr.Start(ctx, u.unit)
}

// IsActive reports whether the unit runs.
func (u unitService) IsActive(ctx context.Context) (bool, error) { return u.mgr.IsActive(ctx, u.unit) }

// State is the unit's recorded state (active, inactive, failed).
func (u unitService) State(ctx context.Context) (rollout.ServiceState, error) {
	state, err := u.mgr.State(ctx, u.unit)
	if err != nil {
		return rollout.ServiceUnknown, err
	}
	return rollout.ServiceState(state), nil
}

// sandboxAgent is a sandbox agent's service: a start does what a k3s
// agent does with its token, it fetches /cacerts from a server and refuses
// a token whose CA hash does not match; then it takes the server CA and
// has the server issue the certificates it lacks (all of them when the
// CAs changed: reissueAgentCerts).
type sandboxAgent struct {
	node    Node
	files   cluster.Files
	product product.Product
	now     func() time.Time
	// server is a server that answers: its supervisor's URL and its
	// server dir (whose CAs sign the agent's certificates).
	server func() (url, serverDir string, ok bool)
}

// Restart simulates an agent start.
func (a *sandboxAgent) Restart(ctx context.Context) error {
	probe, err := cluster.Probe(ctx, a.files, a.product)
	if err != nil {
		return err
	}
	var hash string
	for _, pl := range probe.Places {
		if pl.PinsCA() {
			hash = pl.CAHash
		}
	}
	url, serverDir, ok := a.server()
	if !ok {
		_ = writeSandboxState(a.node.DataDir, stateFailed, a.now())
		return errors.New("no server answers: the agent cannot join")
	}
	api := &datastore.ServerAPI{URL: url, Token: pki.Token{CAHash: hash}, Now: a.now, Timeout: 5 * time.Second}
	bundle, err := api.FetchCACerts(ctx)
	if err != nil {
		_ = writeSandboxState(a.node.DataDir, stateFailed, a.now())
		if errors.Is(err, datastore.ErrCAHashMismatch) {
			return fmt.Errorf("token CA hash does not match the Cluster CA certificate hash: %w", err)
		}
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(a.node.DataDir, "agent", "server-ca.crt"), bundle, fsutil.ModePublic, a.now()); err != nil {
		return err
	}
	if _, err := reissueAgentCerts(ctx, pki.GenOptions{Product: a.product, Now: a.now()}, serverDir, pki.AgentDir(a.node.DataDir), a.node.Name); err != nil {
		_ = a.write(false, a.now())
		return err
	}
	return a.write(true, a.now())
}

// IsActive reads the agent's recorded state.
func (a *sandboxAgent) IsActive(ctx context.Context) (bool, error) {
	state, err := a.State(ctx)
	return state == rollout.ServiceActive, err
}

// State is the agent's recorded state (active, inactive, failed).
func (a *sandboxAgent) State(context.Context) (rollout.ServiceState, error) {
	state, err := readSandboxState(a.node.DataDir)
	if err != nil {
		return rollout.ServiceUnknown, err
	}
	return rollout.ServiceState(state), nil
}

func (a *sandboxAgent) write(active bool, now time.Time) error {
	state := stateInactive
	if active {
		state = stateActive
	}
	return writeSandboxState(a.node.DataDir, state, now)
}

// Clusters finds the sandbox clusters on this machine, for the flows (the
// steps' LocalClusters): a sandbox cluster's rollout reaches its nodes
// locally, with their simulated services.
type Clusters struct{}

// InventoryOf is the inventory of the sandbox cluster dataDir is a node
// of, or "".
func (Clusters) InventoryOf(dataDir string) (string, error) {
	c, err := ClusterOf(dataDir)
	if err != nil || c == nil {
		return "", err
	}
	return c.Inventory, nil
}

// Members are the rollout's members of the sandbox cluster whose inventory
// is inventory (Cluster.Members); ok is false when it is not one.
func (Clusters) Members(inventory string, p product.Product, now func() time.Time) ([]rollout.Member, func(), bool, error) {
	c, err := OpenCluster(inventory)
	if err != nil || c == nil {
		return nil, nil, false, err
	}
	members, release, err := c.Members(p, now)
	if err != nil {
		return nil, nil, false, err
	}
	return members, release, true, nil
}
