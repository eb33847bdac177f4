package steps

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/internal/clustertest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"
)

// sandboxCluster is a 3+2 sandbox cluster and the env of a flow on s1.
func sandboxCluster(t testing.TB) (*sandbox.Cluster, Env) {
	t.Helper()
	root, err := os.MkdirTemp("", "sc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	c, err := sandbox.CreateCluster(context.Background(), sandbox.ClusterInput{Root: root, Servers: 3, Agents: 2, Product: product.K3s, Now: testkit.Now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s1 := c.Nodes[0]
	now := testkit.Clock
	env := Env{DataDir: s1.DataDir, Product: product.K3s, Now: now, StageRoot: root, ClusterName: "sandbox", RestartTimeout: 5 * time.Second,
		Services: &sandbox.Services{DataDir: s1.DataDir, Product: product.K3s, Now: now}, Local: sandbox.Clusters{}}
	return c, env.WithDefaults()
}

// rotatedCluster is a sandbox cluster whose first server ran rotate-ca up
// to its own restart (the rollout step left out): the datastore holds the
// new CAs, s1 restarted on them, every other node holds the old token.
func rotatedCluster(t testing.TB) (*sandbox.Cluster, string) {
	t.Helper()
	c, env := sandboxCluster(t)
	if env.Inventory != c.Inventory {
		t.Fatalf("a node of a sandbox cluster has inventory %q, want %q", env.Inventory, c.Inventory)
	}
	f := buildFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(env.StageRoot, "stage")})
	if err := f.Select(nil, []string{"rollout"}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep, err := (&Runner{Out: &out, Yes: true, Words: []string{"load"}}).Run(context.Background(), f)
	if err != nil || rep.Result == nil || rep.Result.NewHash == rep.Result.OldHash {
		t.Fatalf("rotate-ca on s1: %v %+v\n%s", err, rep.Result, out.String())
	}
	return c, rep.Result.NewHash
}

// TestRotateCAOnASandboxClusterRollsOut: rotate-ca on the first server of
// a sandbox cluster ends with the rollout to every node, confirmed by the
// cluster's name; a dry run of the rollout afterwards finds nothing to do.
func TestRotateCAOnASandboxClusterRollsOut(t *testing.T) {
	c, env := sandboxCluster(t)
	rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(env.StageRoot, "stage")}, Runner{Yes: true, Words: []string{"load", "sandbox"}})
	if err != nil || !rep.OK {
		t.Fatalf("rotate-ca with the rollout: %v\n%s", err, out)
	}
	lastRollout(t, rep, "5 nodes: 5 done", out)
	for _, n := range c.Nodes {
		for _, h := range clustertest.TokenHashes(t, n.Root) {
			if h != rep.Result.NewHash {
				t.Errorf("%s: a token still holds %s", n.Name, h)
			}
		}
	}
	dry, out, err := runFlow(t, env, FlowRollout, nil, Runner{DryRun: true})
	if err != nil || !dry.OK {
		t.Fatalf("rollout dry run: %v\n%s", err, out)
	}
	if rr := dry.Steps[0].Plan; rr == nil || strings.Contains(out, "restart, then wait") {
		t.Errorf("the dry run after the rollout plans work:\n%s", out)
	}
}

// backups are the rollout backups under a node root.
func backups(t *testing.T, n sandbox.Node) []string {
	t.Helper()
	var found []string
	_ = filepath.WalkDir(filepath.Join(n.Root, "etc"), func(p string, _ os.DirEntry, _ error) error {
		if strings.Contains(filepath.Base(p), ".k3sca-bak-") {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// TestRolloutOverASandboxCluster carries a rotation to every node of a
// 3+2 sandbox cluster: servers one at a time, then agents; every token
// file ends with the new hash, every node verified; a rerun does nothing.
// An agent restarted with its old token fails as k3s's agent does.
func TestRolloutOverASandboxCluster(t *testing.T) {
	c, newHash := rotatedCluster(t)
	now := testkit.Clock
	members, closeAll := sandboxMembers(t, c, now)
	defer closeAll()
	// Before the rollout: an agent restarted on its old token is refused.
	if err := members[3].Service.Restart(context.Background()); err == nil || !strings.Contains(err.Error(), "token CA hash does not match the Cluster CA certificate hash") {
		t.Fatalf("an agent on the old token: %v", err)
	}
	var order []string
	opts := rollout.Options{NewHash: newHash, Now: now, Poll: 10 * time.Millisecond, Timeout: 5 * time.Second,
		Progress: func(nr rollout.NodeReport) {
			if nr.Step == "restart" {
				order = append(order, nr.Name)
			}
		}}
	start := time.Now()
	rep, err := rollout.Run(context.Background(), product.K3s, members, opts)
	if err != nil || !rep.OK {
		t.Fatalf("rollout: %v\n%+v", err, rep)
	}
	t.Logf("the 3+2 rollout in the sandbox took %s", time.Since(start).Round(time.Millisecond))
	// s1 ran the rotation and restarted on the new CA already: its
	// tokens are edited, it is not restarted again.
	if want := []string{"s2", "s3", "a1", "a2"}; !slices.Equal(order, want) {
		t.Errorf("restart order %v, want %v", order, want)
	}
	if s1 := rep.Nodes[0]; s1.Restarted || !s1.Changed || len(s1.Edits) == 0 {
		t.Errorf("s1: %+v", s1)
	}
	for _, n := range c.Nodes {
		hs := clustertest.TokenHashes(t, n.Root)
		if len(hs) == 0 {
			t.Errorf("%s: no token place found", n.Name)
		}
		for _, h := range hs {
			if h != newHash {
				t.Errorf("%s: a token still holds %s", n.Name, h)
			}
		}
		if len(backups(t, n)) != 1 {
			t.Errorf("%s: backups %v, want one", n.Name, backups(t, n))
		}
	}
	// A rerun finds every node done from what the nodes say.
	again, err := rollout.Run(context.Background(), product.K3s, members, opts)
	if err != nil || !again.OK {
		t.Fatalf("rerun: %v", err)
	}
	for _, nr := range again.Nodes {
		if nr.State != rollout.StateDone || nr.Changed {
			t.Errorf("rerun touched %s: %+v", nr.Name, nr)
		}
	}
	dry, err := rollout.Run(context.Background(), product.K3s, members, rollout.Options{NewHash: newHash, Now: now, DryRun: true})
	if err != nil || !dry.OK || dry.Summary() != "5 nodes: 5 done" {
		t.Errorf("dry run after the rollout: %v %s", err, dry.Summary())
	}
}

// TestRolloutStopsAtTheFailedNodeAndResumes: the third node cannot start
// (a file newer than the datastore, as k3s refuses); the nodes after it
// stay untouched; once it is fixed a rerun finishes, editing no file twice.
func TestRolloutStopsAtTheFailedNodeAndResumes(t *testing.T) {
	c, newHash := rotatedCluster(t)
	now := testkit.Clock
	members, closeAll := sandboxMembers(t, c, now)
	defer closeAll()
	s3 := c.Nodes[2]
	newer := filepath.Join(product.ServerDir(s3.DataDir), "tls", "client-ca.crt")
	later := testkit.Now.Add(time.Hour)
	testkit.SetMtime(t, newer, later)
	opts := rollout.Options{NewHash: newHash, Now: now, Poll: 10 * time.Millisecond, Timeout: 2 * time.Second}
	rep, err := rollout.Run(context.Background(), product.K3s, members, opts)
	if err == nil || !strings.Contains(err.Error(), "node s3") || !strings.Contains(err.Error(), "newer than datastore") {
		t.Fatalf("the rollout must stop at s3: %v", err)
	}
	states := map[string]rollout.State{}
	for _, nr := range rep.Nodes {
		states[nr.Name] = nr.State
	}
	if states["s1"] != rollout.StateDone || states["s2"] != rollout.StateDone || states["s3"] != rollout.StateFailed ||
		states["a1"] != rollout.StateUntouched || states["a2"] != rollout.StateUntouched {
		t.Fatalf("states %v", states)
	}
	for _, n := range c.Nodes[3:] {
		if len(backups(t, n)) > 0 || slices.Contains(clustertest.TokenHashes(t, n.Root), newHash) {
			t.Errorf("%s was touched", n.Name)
		}
	}
	// The operator fixes s3 (the file back in line with the datastore).
	testkit.SetMtime(t, newer, testkit.Now.Add(-2*time.Hour))
	rep, err = rollout.Run(context.Background(), product.K3s, members, opts)
	if err != nil || !rep.OK {
		t.Fatalf("resume: %v %+v", err, rep)
	}
	for _, nr := range rep.Nodes {
		if (nr.Name == "s1" || nr.Name == "s2") && nr.Changed {
			t.Errorf("the resume touched %s again", nr.Name)
		}
	}
	for _, n := range c.Nodes {
		if len(backups(t, n)) != 1 {
			t.Errorf("%s: %d backups, want 1 (no file edited twice)", n.Name, len(backups(t, n)))
		}
	}
}

// TestRolloutOverSSH carries the rollout's file work over a real OpenSSH
// sshd on 127.0.0.1: every node of the sandbox cluster is reached by SSH
// (its files under its node root). The services are the sandbox's, but
// a2's: a2 is an OpenRC node (/etc/init.d/k3s-agent, its token in
// k3s-agent.env), whose manager is found from its files over SFTP, whose
// version is read from the script's command= and whose state, restart
// and status are rc-service commands run over SSH (a fake rc-service on
// the session's PATH does what OpenRC and a k3s agent do).
func TestRolloutOverSSH(t *testing.T) {
	c, newHash := rotatedCluster(t)
	a2 := c.Nodes[4]
	bin := openRCAgent(t, a2, pki.ServerCAPath(product.ServerDir(c.Nodes[0].DataDir)))
	ssh := startSSHClient(t, "PATH="+bin+":/usr/local/bin:/usr/bin:/bin")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := testkit.Clock
	members, closeAll := sandboxMembers(t, c, now)
	defer closeAll()
	for i := range members {
		n := ssh.dial(ctx, t, c.Nodes[i])
		members[i].Host = n
		if c.Nodes[i].Name == a2.Name {
			asOpenRCAgent(ctx, t, &members[i], n, now)
			continue
		}
		// The version too is asked over SSH: the unit's ExecStart names
		// the node's simulated binary (a path on this machine, where
		// the SSH session runs it).
		unit := filepath.Join(c.Nodes[i].Root, "etc", "systemd", "system", memberUnitName(members[i])+".service")
		b, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), "ExecStart=/usr/local/bin/k3s", "ExecStart="+sandbox.Program(c.Nodes[i].DataDir, product.K3s), 1))
		if err := os.WriteFile(unit, b, 0o600); err != nil {
			t.Fatal(err)
		}
		members[i].Version = cluster.NodeVersionProbe(n)
	}
	setNodeVersions(t, c, map[string]string{"s2": "v1.31.1+k3s1"})
	start := time.Now()
	rep, err := rollout.Run(ctx, product.K3s, members, rollout.Options{NewHash: newHash, Now: now, Poll: 10 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil || !rep.OK {
		t.Fatalf("rollout over ssh: %v\n%+v", err, rep)
	}
	t.Logf("the 3+2 rollout over sshd took %s", time.Since(start).Round(time.Millisecond))
	// a2, over SSH: OpenRC found from its script, its state read, the
	// restart and status run with rc-service, the servers' CA taken.
	orc := rep.Nodes[4]
	if orc.Service == nil || orc.Service.Manager != cluster.ManagerOpenRC || orc.Service.Source != "OpenRC script /etc/init.d/k3s-agent" ||
		orc.ServiceState != rollout.ServiceActive || !orc.Restarted || orc.State != rollout.StateDone {
		t.Errorf("a2: %+v, want an OpenRC node, active, restarted and done", orc)
	}
	want := []string{"rc-service k3s-agent status", "rc-service k3s-agent status", "rc-service k3s-agent restart", "rc-service k3s-agent status"}
	if got := orcCommands(t, a2); !slices.Equal(got, want) {
		t.Errorf("a2 ran %q over SSH, want %q", got, want)
	}
	if len(orc.Edits) != 1 || orc.Edits[0].Path != "/etc/rancher/k3s/k3s-agent.env" {
		t.Errorf("a2's edits %+v, want its k3s-agent.env", orc.Edits)
	}
	if ca, err := os.ReadFile(filepath.Join(a2.DataDir, "agent", "server-ca.crt")); err != nil || caHashOf(t, ca) != newHash {
		t.Errorf("a2's agent/server-ca.crt is not the new CA after its restart: %v", err)
	}
	for i, n := range c.Nodes {
		want := "v1.36.3+k3s1"
		if n.Name == "s2" {
			want = "v1.31.1+k3s1"
		}
		source := "--version, ExecStart of /etc/systemd/system/"
		if n.Name == a2.Name {
			source = "--version, command= of /etc/init.d/k3s-agent"
		}
		if v := rep.Nodes[i].Version; v == nil || v.Version != want || !strings.Contains(v.Source, source) {
			t.Errorf("%s: version %+v over ssh, want %s from its unit", n.Name, v, want)
		} else if n.Name == "s2" && (len(v.Findings) == 0 || v.Findings[0].ID != "rollout-restart-creds-newer") {
			t.Errorf("s2: findings %+v", v.Findings)
		}
		for _, h := range clustertest.TokenHashes(t, n.Root) {
			if h != newHash {
				t.Errorf("%s: a token still holds %s", n.Name, h)
			}
		}
		for _, e := range rep.Nodes[i].Edits {
			if strings.HasPrefix(e.Path, n.Root) || !strings.HasPrefix(e.Backup, e.Path+".k3sca-bak-") {
				t.Errorf("%s: edit %s backup %s, want node paths", n.Name, e.Path, e.Backup)
			}
		}
	}
}

// memberUnitName is the unit of m's role.
func memberUnitName(m rollout.Member) string {
	if m.Node.Role.Value == cluster.RoleAgent {
		return product.K3s.AgentUnit()
	}
	return product.K3s.ServerUnit()
}

// sshClient is a real sshd on 127.0.0.1 and what a client of it needs:
// a home of the test's own with the sshd's host key in its known_hosts.
type sshClient struct {
	sshd        *testservers.SSHD
	home, known string
}

// startSSHClient starts an sshd whose sessions get env (NAME=VALUE).
func startSSHClient(t testing.TB, env ...string) sshClient {
	t.Helper()
	sshd := testservers.StartSSHD(t, testservers.SSHDOptions{Env: env})
	home := t.TempDir()
	known := filepath.Join(home, "known_hosts")
	sshd.WriteKnownHosts(t, known)
	return sshClient{sshd: sshd, home: home, known: known}
}

// dial reaches node over the sshd, its files under its node root; the
// connection is closed when the test ends.
func (s sshClient) dial(ctx context.Context, t testing.TB, node sandbox.Node) *remote.SSH {
	t.Helper()
	n, err := remote.DialSSH(ctx, remote.SSHOptions{Host: s.sshd.Host, Port: s.sshd.Port, User: s.sshd.User,
		IdentityFiles: []string{s.sshd.ClientKeyFile}, KnownHosts: []string{s.known}, ConfigFile: "none", Agent: "none", Home: s.home, Sudo: remote.SudoNever,
		Root: node.Root})
	if err != nil {
		t.Fatalf("ssh to %s: %v", node.Name, err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// asOpenRCAgent makes m the OpenRC agent k3s-agent reached through n: its
// manager found from its files (it must be OpenRC), its service and
// version asked through n.
func asOpenRCAgent(ctx context.Context, t *testing.T, m *rollout.Member, n *remote.SSH, now func() time.Time) {
	t.Helper()
	mgr, err := cluster.ServiceManagerOf(ctx, n, product.K3s, "k3s-agent")
	if err != nil || mgr.Value != cluster.ManagerOpenRC {
		t.Fatalf("%s's service manager: %+v %v", m.Node.Name, mgr, err)
	}
	svc := rollout.UnitService{Node: n, Unit: "k3s-agent", Manager: mgr}
	m.Host, m.Service, m.Check = n, svc, rollout.AgentCheck(n, svc, product.K3s.DefaultDataDir(), now)
	m.Version = cluster.NodeVersionProbe(n)
}
