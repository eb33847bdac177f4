package cluster

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/product"
)

// placeLine is a place in one comparable string:
// "file:line kind key purpose state", state being pinned, pinned-manual,
// unpinned or unusable.
func placeLine(p Place) string {
	state := "unpinned"
	switch {
	case p.Err != nil:
		state = "unusable"
	case p.PinsCA() && p.Editable():
		state = "pinned"
	case p.PinsCA():
		state = "pinned-manual"
	}
	return strings.Join([]string{p.Where(), string(p.Kind), p.Key, string(p.Purpose), state}, " | ")
}

func TestProbeFixtures(t *testing.T) {
	tests := []struct {
		node      string
		places    []string
		role      Role // "" when the files show none or both
		datastore Datastore
		dsSource  string
		problems  []string
	}{
		{
			node: "server-installsh",
			places: []string{
				"/etc/systemd/system/k3s.service:33 | unit ExecStart | --token | join token | pinned",
				"/etc/systemd/system/k3s.service.env:1 | environment file | K3S_TOKEN | join token | pinned",
				"/etc/rancher/k3s/config.yaml:3 | config file | token | join token | pinned",
				"/etc/rancher/k3s/config.yaml.d/10-agent-token.yaml:1 | config file | agent-token | agent token | unpinned",
			},
			role: RoleServer, datastore: DatastoreEtcd, dsSource: "--cluster-init in ExecStart of /etc/systemd/system/k3s.service line 31",
		},
		{
			node: "agent-ansible",
			places: []string{
				"/etc/default/k3s-agent:2 | environment file | K3S_TOKEN | join token | pinned",
				"/etc/sysconfig/k3s-agent:2 | environment file | K3S_TOKEN | join token | pinned",
				"/etc/systemd/system/k3s-agent.service.env:2 | environment file | K3S_TOKEN | join token | pinned",
			},
			role: RoleAgent, datastore: DatastoreUnknown, dsSource: "neither /var/lib/rancher/k3s/server/db/etcd",
		},
		{
			node: "agent-tokenfile",
			places: []string{
				"/etc/systemd/system/k3s-agent.service.d/10-token.conf:2 | unit Environment= | K3S_TOKEN | join token | pinned",
				"/etc/systemd/system/k3s-agent.service.d/10-token.conf:5 | unit ExecStart | -t | join token | pinned",
				"/etc/rancher/k3s/token:1 | token file | token-file | join token | pinned",
			},
			role: RoleAgent, datastore: DatastoreUnknown,
		},
		{
			node: "openrc-server",
			places: []string{
				"/etc/init.d/k3s:17 | OpenRC script | --token | join token | pinned",
				"/etc/rancher/k3s/k3s.env:1 | environment file | K3S_TOKEN | join token | pinned",
			},
			role: RoleServer, datastore: DatastoreSQLite, dsSource: "found /var/lib/rancher/k3s/server/db/state.db",
		},
		{
			node: "conflict",
			places: []string{
				"/etc/systemd/system/k3s-agent.service.env:1 | environment file | K3S_TOKEN | join token | pinned",
				"/etc/rancher/k3s/config.yaml:1 | config file | token | join token | pinned",
			},
			role: RoleAgent, datastore: DatastoreUnknown,
		},
		{
			node: "current",
			places: []string{
				"/etc/systemd/system/k3s-agent.service.env:1 | environment file | K3S_TOKEN | join token | pinned",
				"/etc/rancher/k3s/config.yaml:1 | config file | token | join token | pinned",
			},
			datastore: DatastoreUnknown,
		},
		{
			node: "short",
			places: []string{
				"/etc/systemd/system/k3s.service.env:1 | environment file | K3S_TOKEN | join token | unpinned",
				"/etc/rancher/k3s/config.yaml:1 | config file | token | join token | unpinned",
				"/etc/rancher/k3s/config.yaml:2 | config file | agent-token | agent token | unpinned",
			},
			datastore: DatastoreUnknown,
		},
		{
			node: "rke2-server",
			places: []string{
				"/usr/local/lib/systemd/system/rke2-server.env:2 | environment file | RKE2_TOKEN | join token | pinned",
				"/etc/rancher/rke2/config.yaml:1 | config file | token | join token | pinned",
			},
			role: RoleServer, datastore: DatastoreEtcd, dsSource: "found /var/lib/rancher/rke2/server/db/etcd",
		},
		{
			node: "external-db",
			places: []string{
				"/etc/systemd/system/k3s.service:2 | unit ExecStart | --token | join token | pinned",
			},
			role: RoleServer, datastore: DatastoreExternal, dsSource: "--datastore-endpoint in ExecStart of /etc/systemd/system/k3s.service line 2",
		},
		{
			node:      "crlf",
			places:    []string{"/etc/rancher/k3s/config.yaml:2 | config file | token | join token | pinned"},
			datastore: DatastoreUnknown,
		},
		{
			node: "manual",
			places: []string{
				"/etc/systemd/system/k3s.service.env:1 | environment file | K3S_TOKEN | join token | pinned-manual",
				"/etc/systemd/system/k3s.service.env:2 | environment file | K3S_AGENT_TOKEN | agent token | unusable",
				"/etc/rancher/k3s/config.yaml:1 | config file | token | join token | pinned-manual",
			},
			role: RoleServer, datastore: DatastoreUnknown,
			problems: []string{"token file /etc/rancher/k3s/missing-token (named by --token-file in ExecStart of /etc/systemd/system/k3s.service line 2) does not exist"},
		},
		{
			node:      "both-roles",
			datastore: DatastoreUnknown,
			problems:  []string{"the node shows both roles: agent (unit /etc/systemd/system/k3s-agent.service)"},
		},
	}
	tested := map[string]bool{}
	for _, tc := range tests {
		tested[tc.node] = true
		t.Run(tc.node, func(t *testing.T) {
			r := probeFixture(t, tc.node)
			var got []string
			for _, p := range r.Places {
				got = append(got, placeLine(p))
			}
			if strings.Join(got, "\n") != strings.Join(tc.places, "\n") {
				t.Errorf("places:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.places, "\n"))
			}
			role, ok := r.ObservedRole()
			if ok != (tc.role != "") || role.Value != tc.role {
				t.Errorf("role %q (%v), want %q", role.Value, ok, tc.role)
			}
			if r.Datastore.Value != tc.datastore || !strings.Contains(r.Datastore.Source, tc.dsSource) {
				t.Errorf("datastore %q from %q, want %q from %q", r.Datastore.Value, r.Datastore.Source, tc.datastore, tc.dsSource)
			}
			problems := strings.Join(r.Problems, "\n")
			for _, p := range tc.problems {
				if !strings.Contains(problems, p) {
					t.Errorf("problems lack %q:\n%s", p, problems)
				}
			}
			if len(tc.problems) == 0 && len(r.Problems) > 0 {
				t.Errorf("unexpected problems:\n%s", problems)
			}
			for _, p := range r.Places {
				if p.PinsCA() && p.CAHash != oldHash && p.CAHash != newHash {
					t.Errorf("%s: hash %s", p.Where(), p.CAHash)
				}
			}
		})
	}
	for _, n := range fixtureNames(t) {
		if !tested[n] {
			t.Errorf("fixture %s has no probe expectations", n)
		}
	}
}

// TestProbeMemMatchesDir checks that the in-memory and the directory
// Files give the same probe, so tests with either stand for the other.
func TestProbeMemMatchesDir(t *testing.T) {
	for _, n := range fixtureNames(t) {
		dir := probeFixture(t, n)
		mem, err := Probe(context.Background(), memFixture(t, n), fixtureProduct(n))
		if err != nil {
			t.Fatal(err)
		}
		if dir.String() != mem.String() || !reflect.DeepEqual(dir.Read, mem.Read) {
			t.Errorf("%s: local and in-memory files differ:\n%s\n%s", n, dir, mem)
		}
	}
}

func TestProbeKeysAndVariants(t *testing.T) {
	full := "K10" + oldHash + "::server:pw"
	tests := []struct {
		name  string
		files MemFiles
		want  []string
	}{
		{
			name: "config t, token list, append key, yml drop-in, token-file relative",
			files: MemFiles{
				"/etc/rancher/k3s/config.yaml":              "t: " + full + "\ntoken:\n  - " + full + "\n",
				"/etc/rancher/k3s/config.yaml.d/20-b.YML":   "token+: " + full + "\n",
				"/etc/rancher/k3s/config.yaml.d/10-a.yaml":  "agent-token-file: etc/agent-token\n",
				"/etc/rancher/k3s/config.yaml.d/30-c.json":  "token: ignored\n",
				"/etc/agent-token":                          "  K10" + oldHash + "::node:apw \n\n",
				"/etc/rancher/k3s/config.yaml.d/sub/x.yaml": "token: in-a-subdir\n",
				"/etc/systemd/system/k3s.service":           "[Service]\nExecStart=/usr/local/bin/k3s server --config=/opt/k3s.yaml\n",
				"/opt/k3s.yaml":                             "token: " + full + "\n",
				"/etc/systemd/system/k3s.service.d/x.conf":  "[Service]\nEnvironment=K3S_TOKEN_FILE=/run/tok\n",
				"/run/tok": full,
				"/etc/systemd/system/k3s.service.d/y.notconf": "[Service]\nEnvironment=K3S_TOKEN=" + full + "\n",
			},
			want: []string{
				"/etc/rancher/k3s/config.yaml:1 | config file | t | join token | pinned",
				"/etc/rancher/k3s/config.yaml:3 | config file | token | join token | pinned",
				"/etc/rancher/k3s/config.yaml.d/20-b.YML:1 | config file | token | join token | pinned",
				"/opt/k3s.yaml:1 | config file | token | join token | pinned",
				"/run/tok:1 | token file | K3S_TOKEN_FILE | join token | pinned",
				"/etc/agent-token:1 | token file | agent-token-file | agent token | pinned",
			},
		},
		{
			name: "EnvironmentFile named by the unit, INSTALL_K3S_NAME unit, bootstrap token",
			files: MemFiles{
				"/etc/systemd/system/k3s-edge.service": "[Service]\nEnvironmentFile=/opt/edge/%N.env\nExecStart=/usr/local/bin/k3s agent --token=K10" + oldHash + "::abcdef.0123456789abcdef\n",
				"/opt/edge/k3s-edge.env":               "K3S_TOKEN=abcdef.0123456789abcdef\n",
			},
			want: []string{
				"/etc/systemd/system/k3s-edge.service:3 | unit ExecStart | --token | join token | pinned",
				"/opt/edge/k3s-edge.env:1 | environment file | K3S_TOKEN | join token | unpinned",
			},
		},
		{
			name: "bad tokens are unusable, empty ones are no place",
			files: MemFiles{
				"/etc/rancher/k3s/config.yaml":        "token: K10abc::server:pw\nagent-token: \"\"\n",
				"/etc/systemd/system/k3s.service.env": "K3S_TOKEN=\nK3S_AGENT_TOKEN=K10::\n",
			},
			want: []string{
				"/etc/systemd/system/k3s.service.env:2 | environment file | K3S_AGENT_TOKEN | agent token | unusable",
				"/etc/rancher/k3s/config.yaml:1 | config file | token | join token | unusable",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Probe(context.Background(), tc.files, product.K3s)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range r.Places {
				got = append(got, placeLine(p))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("places:\n%s\nwant:\n%s\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"), r)
			}
		})
	}
}

func TestProbeDatastore(t *testing.T) {
	tests := []struct {
		name  string
		files MemFiles
		want  Datastore
		src   string
	}{
		{"env endpoint", MemFiles{"/etc/systemd/system/k3s.service.env": "K3S_DATASTORE_ENDPOINT=postgres://u:p@db/k3s\n"},
			DatastoreExternal, "K3S_DATASTORE_ENDPOINT in /etc/systemd/system/k3s.service.env line 1"},
		{"config beats env", MemFiles{
			"/etc/systemd/system/k3s.service.env": "K3S_DATASTORE_ENDPOINT=postgres://u:p@db/k3s\n",
			"/etc/rancher/k3s/config.yaml":        "datastore-endpoint: sqlite:///var/lib/k3s.db\n"},
			DatastoreSQLite, "datastore-endpoint in /etc/rancher/k3s/config.yaml line 1 (sqlite)"},
		{"cluster-init in config", MemFiles{"/etc/rancher/k3s/config.yaml": "cluster-init: true\n"},
			DatastoreEtcd, "cluster-init in /etc/rancher/k3s/config.yaml line 1"},
		{"cluster-init false", MemFiles{"/etc/rancher/k3s/config.yaml": "cluster-init: false\n"},
			DatastoreUnknown, "no datastore-endpoint"},
		{"data-dir moved", MemFiles{
			"/etc/rancher/k3s/config.yaml":            "data-dir: /data/k3s\n",
			"/data/k3s/server/db/etcd/member/snap/db": "",
			"/var/lib/rancher/k3s/server/db/state.db": ""},
			DatastoreEtcd, "found /data/k3s/server/db/etcd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Probe(context.Background(), tc.files, product.K3s)
			if err != nil {
				t.Fatal(err)
			}
			if r.Datastore.Value != tc.want || !strings.Contains(r.Datastore.Source, tc.src) {
				t.Errorf("datastore %q from %q, want %q from %q", r.Datastore.Value, r.Datastore.Source, tc.want, tc.src)
			}
		})
	}
}

// failFiles fails to read one path, as a node with a file root cannot read.
type failFiles struct {
	MemFiles
	path string
}

func (f failFiles) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if p == f.path {
		return nil, fs.ErrPermission
	}
	return f.MemFiles.ReadFile(ctx, p)
}

func TestProbeReadErrorFails(t *testing.T) {
	f := failFiles{MemFiles: MemFiles{}, path: "/etc/rancher/k3s/config.yaml"}
	if _, err := Probe(context.Background(), f, product.K3s); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("unreadable config: %v, want a permission error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Probe(ctx, MemFiles{}, product.K3s); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestProbeBrokenConfig(t *testing.T) {
	r, err := Probe(context.Background(), MemFiles{"/etc/rancher/k3s/config.yaml": "token: [K10" + oldHash + "::server:hidden-PASSWORD\n"}, product.K3s)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "/etc/rancher/k3s/config.yaml: parse YAML") {
		t.Errorf("problems %q", r.Problems)
	}
	if strings.Contains(r.String(), "hidden-PASSWORD") {
		t.Errorf("a YAML error shows the secret: %s", r)
	}
}
