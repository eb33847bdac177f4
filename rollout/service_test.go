package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/internal/clustertest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// fakeManagers puts on PATH the two commands a node's service is driven
// with, faithful to what each does, as neither systemd nor OpenRC runs
// here. Both run in the node's root (remote.Local runs commands there):
// they log their argv to run/commands and keep the service's state in
// run/<unit>.state; a restart also marks the node as running the new CA
// (run/ca), which the test's check reads.
//
//   - rc-service <unit> restart returns once the start returned (OpenRC
//     waits for start-stop-daemon/supervise-daemon), the service started;
//     rc-service <unit> status exits 0 when started, 32 when crashed, 3
//     when stopped; an unknown service exits 1, as rc-service says
//     "service does not exist".
//   - systemctl restart --no-block <unit> queues the restart and returns;
//     systemctl is-active <unit> prints the state (active, inactive, or
//     what run/<unit>.state holds) and exits 0 when active, 3 when not.
func fakeManagers(t *testing.T) {
	t.Helper()
	bin := t.TempDir()
	scripts := map[string]string{
		"rc-service": `#!/bin/sh
echo "rc-service $*" >> run/commands
[ -f "etc/init.d/$1" ] || { echo " * rc-service: service '$1' does not exist" >&2; exit 1; }
case "$2" in
restart) echo started > "run/$1.state"; echo new > run/ca; echo " * Starting $1 ... [ ok ]";;
status) case "$(cat "run/$1.state" 2>/dev/null)" in
	started) echo " * status: started"; exit 0;;
	crashed) echo " * status: crashed"; exit 32;;
	esac
	echo " * status: stopped"; exit 3;;
*) exit 1;;
esac
`,
		"systemctl": `#!/bin/sh
echo "systemctl $*" >> run/commands
case "$1 $2" in
"restart --no-block") echo active > "run/$3.state"; echo new > run/ca;;
"is-active $2") state=$(cat "run/$2.state" 2>/dev/null); echo "${state:-inactive}"; [ "$state" = active ] && exit 0; exit 3;;
*) exit 1;;
esac
`,
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// fixtureNode is a copy of the cluster fixture node name, with its
// service in state ("started"/"active", or "" for stopped) and on the
// old CA.
func fixtureNode(t *testing.T, name, unit, state string) *remote.Local {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	if err := fsutil.CopyDir(context.Background(), filepath.Join("..", "cluster", "testdata", "nodes", name), root); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"run", "var/lib/rancher/k3s/server/tls"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if state != "" {
		if err := os.WriteFile(filepath.Join(root, "run", unit+".state"), []byte(state+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	host, err := remote.NewLocal(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	return host
}

// commands are the commands run on a fixture node.
func commands(t *testing.T, h *remote.Local) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.Root, "run", "commands"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestRolloutRestartsOpenRCNodesWithRCService: a node whose k3s is an
// OpenRC service (the openrc-server fixture: /etc/init.d/k3s) is
// restarted with rc-service and checked with its status, a systemd node
// (server-installsh) with systemctl; the report and its JSON say which
// manager, from which file, with which commands; a dry run restarts
// nothing; a stopped OpenRC service (status exit 3) is not active.
func TestRolloutRestartsOpenRCNodesWithRCService(t *testing.T) {
	fakeManagers(t)
	ctx := context.Background()
	newHash := "600b3ce85b73fa716cab6e8dd8ffe9dd5e9420ef3f57cdd81a61a0213bc89e20"
	mk := func(name string, host *remote.Local) Member {
		mgr, err := cluster.ServiceManagerOf(ctx, host, product.K3s, "k3s")
		if err != nil {
			t.Fatal(err)
		}
		svc := UnitService{Node: host, Unit: "k3s", Manager: mgr}
		check := func(ctx context.Context, _ Want) error {
			active, err := svc.IsActive(ctx)
			if err != nil || !active {
				return errors.New("the service is not running")
			}
			if b, _ := os.ReadFile(filepath.Join(host.Root, "run", "ca")); strings.TrimSpace(string(b)) != "new" {
				return errors.New("serves the old CA")
			}
			return nil
		}
		return Member{Node: cluster.Node{Name: name, Role: cluster.Fact[cluster.Role]{Value: cluster.RoleServer}},
			Host: host, Service: svc, Check: check}
	}
	openrc := fixtureNode(t, "openrc-server", "k3s", "started")
	systemd := fixtureNode(t, "server-installsh", "k3s", "active")
	members := []Member{mk("o1", openrc), mk("s1", systemd)}
	opts := Options{NewHash: newHash, Now: testkit.Clock, Poll: time.Millisecond, Timeout: 5 * time.Second, ServersOnly: false}

	// A backup name taken already (an earlier run in the same second):
	// the plan names the next one, as WriteFile takes it.
	taken := remote.BackupName("/etc/rancher/k3s/k3s.env", testkit.Now.Unix())
	if err := os.WriteFile(filepath.Join(openrc.Root, taken), []byte("other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dry := opts
	dry.DryRun = true
	rep, err := Run(ctx, product.K3s, members, dry)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	planned := []string{remote.BackupName("/etc/init.d/k3s", testkit.Now.Unix()), taken + ".2"}
	if n := rep.Nodes[0]; len(n.Edits) != 2 || n.Edits[0].Backup != planned[0] || n.Edits[1].Backup != planned[1] {
		t.Errorf("dry run, o1: edits %+v, want backups %v", n.Edits, planned)
	}
	for _, h := range []*remote.Local{openrc, systemd} {
		for _, c := range commands(t, h) {
			if strings.Contains(c, "restart") {
				t.Errorf("the dry run ran %q on %s", c, h.Root)
			}
		}
	}
	wantSvc := map[string]ServiceCommands{
		"o1": {Manager: cluster.ManagerOpenRC, Source: "OpenRC script /etc/init.d/k3s", Restart: "rc-service k3s restart", Status: "rc-service k3s status"},
		"s1": {Manager: cluster.ManagerSystemd, Source: "unit /etc/systemd/system/k3s.service", Restart: "systemctl restart --no-block k3s", Status: "systemctl is-active k3s"},
	}
	for _, n := range rep.Nodes {
		if n.Service == nil || *n.Service != wantSvc[n.Name] {
			t.Errorf("dry run, %s: service %+v, want %+v", n.Name, n.Service, wantSvc[n.Name])
		}
	}

	rep, err = Run(ctx, product.K3s, members, opts)
	if err != nil || !rep.OK {
		t.Fatalf("run: %v", err)
	}
	if got, want := strings.Join(commands(t, openrc), "; "), "rc-service k3s status; rc-service k3s status; rc-service k3s status; rc-service k3s status; rc-service k3s restart; rc-service k3s status"; got != want {
		t.Errorf("OpenRC node ran: %s\nwant: %s", got, want)
	}
	if got, want := strings.Join(commands(t, systemd), "; "), "systemctl is-active k3s; systemctl is-active k3s; systemctl is-active k3s; systemctl is-active k3s; systemctl restart --no-block k3s; systemctl is-active k3s"; got != want {
		t.Errorf("systemd node ran: %s\nwant: %s", got, want)
	}
	b, err := json.Marshal(rep.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"service":{"manager":"openrc","source":"OpenRC script /etc/init.d/k3s","restart":"rc-service k3s restart","status":"rc-service k3s status"}`) {
		t.Errorf("JSON of o1: %s", b)
	}
	if e := rep.Nodes[0].Edits; len(e) == 2 && (e[0].Backup != planned[0] || e[1].Backup != planned[1]) {
		t.Errorf("o1 backed up to %s and %s, the plan said %v", e[0].Backup, e[1].Backup, planned)
	}
	if !rep.Nodes[0].Restarted || len(rep.Nodes[0].Edits) != 2 || rep.Nodes[0].Edits[0].Path != "/etc/init.d/k3s" {
		t.Errorf("o1: restarted %v, edits %+v; want restarted after its OpenRC script and k3s.env got the new hash", rep.Nodes[0].Restarted, rep.Nodes[0].Edits)
	}

	// Stopped: rc-service status exits 3, which is "not active", not an
	// error.
	if err := os.Remove(filepath.Join(openrc.Root, "run", "k3s.state")); err != nil {
		t.Fatal(err)
	}
	if active, err := members[0].Service.IsActive(ctx); active || err != nil {
		t.Errorf("a stopped OpenRC service: active %v, %v", active, err)
	}
}

// TestRolloutReadsTheServiceStateFirst: each node's service state is read
// before its plan, over its own manager (systemctl is-active, rc-service
// status), and decides what the rollout does with it. Stopped (inactive):
// its tokens get the new hash but it is not started, not checked, not
// counted done; the report says so, with the command that starts it.
// Failed (crashed): it was meant to run, so it restarts as any node. An
// answer that cannot be read: the node fails before anything on it is
// touched. The JSON of each node carries its state.
func TestRolloutReadsTheServiceStateFirst(t *testing.T) {
	fakeManagers(t)
	ctx := context.Background()
	newHash := "600b3ce85b73fa716cab6e8dd8ffe9dd5e9420ef3f57cdd81a61a0213bc89e20"
	for _, tc := range []struct {
		name, fixture, state string // state: run/k3s.state ("" none)
		want                 ServiceState
		wantState            State
		restarted, edited    bool
		start                string // the start command the report names
		wantErr              string
	}{
		{name: "systemd inactive", fixture: "server-installsh", want: ServiceInactive, wantState: StateStopped, edited: true, start: "`systemctl start k3s`"},
		{name: "OpenRC stopped", fixture: "openrc-server", want: ServiceInactive, wantState: StateStopped, edited: true, start: "`rc-service k3s start`"},
		{name: "systemd failed", fixture: "server-installsh", state: "failed", want: ServiceFailed, wantState: StateDone, restarted: true, edited: true},
		{name: "OpenRC crashed", fixture: "openrc-server", state: "crashed", want: ServiceFailed, wantState: StateDone, restarted: true, edited: true},
		{name: "systemd activating", fixture: "server-installsh", state: "activating", want: ServiceActivating, wantState: StateDone, restarted: true, edited: true},
		{name: "systemd answers what k3sca cannot read", fixture: "server-installsh", state: "maintenance", want: ServiceUnknown, wantState: StateFailed,
			wantErr: "`systemctl is-active k3s` answered \"maintenance\" with exit code 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := fixtureNode(t, tc.fixture, "k3s", tc.state)
			before := clustertest.TokenHashes(t, node.Root)
			mgr, err := cluster.ServiceManagerOf(ctx, node, product.K3s, "k3s")
			if err != nil {
				t.Fatal(err)
			}
			svc := UnitService{Node: node, Unit: "k3s", Manager: mgr}
			check := func(ctx context.Context, _ Want) error {
				if active, err := svc.IsActive(ctx); err != nil || !active {
					return errors.New("the service is not running")
				}
				return nil
			}
			m := Member{Node: cluster.Node{Name: "n1", Role: cluster.Fact[cluster.Role]{Value: cluster.RoleServer}}, Host: node, Service: svc, Check: check}
			rep, err := Run(ctx, product.K3s, []Member{m}, Options{NewHash: newHash, Now: testkit.Clock, Poll: time.Millisecond, Timeout: 5 * time.Second})
			nr := rep.Nodes[0]
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
			} else if err != nil || !rep.OK {
				t.Fatalf("run: %v", err)
			}
			if nr.ServiceState != tc.want || nr.State != tc.wantState || nr.Restarted != tc.restarted {
				t.Errorf("service %q, state %q, restarted %v; want %q, %q, %v", nr.ServiceState, nr.State, nr.Restarted, tc.want, tc.wantState, tc.restarted)
			}
			after := clustertest.TokenHashes(t, node.Root)
			if edited := fmt.Sprint(after) != fmt.Sprint(before); edited != tc.edited {
				t.Errorf("tokens before %v, after %v; want edited %v", before, after, tc.edited)
			}
			for _, c := range commands(t, node) {
				if !tc.restarted && (strings.Contains(c, "restart") || strings.Contains(c, "start ")) {
					t.Errorf("ran %q on a node it must leave as it is", c)
				}
			}
			if tc.start != "" {
				if !strings.Contains(nr.Stopped, tc.start) || len(nr.Verified) > 0 || !strings.Contains(rep.Summary(), "1 stopped") {
					t.Errorf("a node left stopped: stopped %q, verified %v, summary %s; want the start command %s, nothing verified", nr.Stopped, nr.Verified, rep.Summary(), tc.start)
				}
				if nr.Regenerate == "" {
					t.Error("a stopped server gets no regenerate trigger for its next start")
				}
			}
			b, err := json.Marshal(nr)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`"serviceState":%q`, tc.want); !strings.Contains(string(b), want) {
				t.Errorf("JSON %s lacks %s", b, want)
			}
		})
	}
}
