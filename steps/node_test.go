package steps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/product"
)

func TestDetectNode(t *testing.T) {
	emptyPath := t.TempDir()
	tests := []struct {
		name     string
		setup    func(t *testing.T, sb *sandbox.Sandbox) string // returns the data dir
		services func(dataDir string) node.ServiceManager
		config   string // k3s config.yaml for the data dir
		want     node.Facts
		hash     bool // CAHash is the sandbox token's
	}{
		{name: "a stopped sandbox", hash: true,
			want: node.Facts{Role: node.RoleServer, Datastore: "sqlite (server/db/state.db)", ServiceState: "stopped", Init: "sandbox", Sandbox: true}},
		{name: "a running sandbox", hash: true,
			setup: func(t *testing.T, sb *sandbox.Sandbox) string {
				if err := (&sandbox.Services{DataDir: sb.DataDir}).Start(context.Background(), "k3s"); err != nil {
					t.Fatal(err)
				}
				return sb.DataDir
			},
			want: node.Facts{Role: node.RoleServer, Datastore: "sqlite (server/db/state.db)", ServiceState: "running", Init: "sandbox", Sandbox: true}},
		{name: "kine socket answers", hash: true,
			setup: func(t *testing.T, sb *sandbox.Sandbox) string {
				testservers.ListenKineSocket(t, sb.ServerDir)
				return sb.DataDir
			},
			want: node.Facts{Role: node.RoleServer, Datastore: "kine socket", ServiceState: "stopped", Init: "sandbox", Sandbox: true}},
		{name: "embedded etcd", hash: true,
			setup: func(t *testing.T, sb *sandbox.Sandbox) string {
				testkit.Remove(t, sandboxtest.DBPath(sb))
				testkit.Mkdir(t, filepath.Join(sb.ServerDir, "db", "etcd"))
				return sb.DataDir
			},
			want: node.Facts{Role: node.RoleServer, Datastore: "embedded etcd", ServiceState: "stopped", Init: "sandbox", Sandbox: true}},
		{name: "external etcd from the k3s config", hash: true, config: "datastore-endpoint: https://a:2379\n",
			want: node.Facts{Role: node.RoleServer, Datastore: "external etcd", ServiceState: "stopped", Init: "sandbox", Sandbox: true}},
		{name: "external SQL from the k3s config", hash: true, config: "datastore-endpoint: postgres://db/k3s\n",
			setup: func(t *testing.T, sb *sandbox.Sandbox) string {
				testkit.Remove(t, sandboxtest.DBPath(sb))
				return sb.DataDir
			},
			want: node.Facts{Role: node.RoleServer, Datastore: "external SQL", ServiceState: "stopped", Init: "sandbox", Sandbox: true}},
		{name: "no datastore", hash: true,
			setup: func(t *testing.T, sb *sandbox.Sandbox) string {
				testkit.Remove(t, sandboxtest.DBPath(sb))
				return sb.DataDir
			},
			want: node.Facts{Role: node.RoleServer, Datastore: "none", ServiceState: "stopped", Init: "sandbox", Sandbox: true}},
		{name: "an agent without a service manager",
			setup: func(t *testing.T, _ *sandbox.Sandbox) string {
				dd := t.TempDir()
				testkit.Mkdir(t, filepath.Join(dd, "agent"))
				return dd
			},
			services: func(string) node.ServiceManager { return node.Systemd{} },
			want:     node.Facts{Role: node.RoleAgent, Datastore: "none", ServiceState: "unknown: " + node.ErrNoServiceManager.Error(), Init: "systemd"}},
		{name: "an empty dir and no Services",
			setup:    func(t *testing.T, _ *sandbox.Sandbox) string { return t.TempDir() },
			services: func(string) node.ServiceManager { return nil },
			want:     node.Facts{Role: node.RoleNone, Datastore: "none", ServiceState: "unknown: no service manager", Init: "none"}},
		{name: "an agent on openrc",
			setup: func(t *testing.T, _ *sandbox.Sandbox) string {
				dd := t.TempDir()
				testkit.Mkdir(t, filepath.Join(dd, "agent"))
				return dd
			},
			services: func(string) node.ServiceManager { return stNamedFake{node.NewFakeServices("k3s-agent"), "openrc"} },
			want:     node.Facts{Role: node.RoleAgent, Datastore: "none", ServiceState: "running", Init: "openrc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", emptyPath)
			sb := sandboxtest.New(t)
			dd := sb.DataDir
			if tc.setup != nil {
				dd = tc.setup(t, sb)
			}
			services := node.ServiceManager(&sandbox.Services{DataDir: dd})
			if tc.services != nil {
				services = tc.services(dd)
			}
			env := Env{DataDir: dd, Product: product.K3s, Services: services, Now: testkit.Clock,
				Versions: &node.VersionProbe{Files: cluster.MemFiles{}}}
			if tc.config != "" {
				env.Access.K3sConfig = filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(env.Access.K3sConfig, []byte("data-dir: "+dd+"\n"+tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got := DetectNode(context.Background(), env)
			want := tc.want
			want.DataDir = dd
			if tc.hash {
				want.CAHash = sb.Token.CAHash
			}
			switch {
			case services == nil || services.Name() != "sandbox":
				if !strings.HasPrefix(got.K3sVersion, "unknown: ") {
					t.Errorf("K3sVersion = %q, want unknown: no unit, no PATH, no server", got.K3sVersion)
				}
				got.K3sVersion = ""
			default:
				want.K3sVersion = sandbox.Version(product.K3s)
			}
			if got != want {
				t.Errorf("facts\n %+v\nwant\n %+v", got, want)
			}
		})
	}
}

// stNamedFake is a FakeServices that names another init system.
type stNamedFake struct {
	*node.FakeServices
	name string
}

// Name implements ServiceManager.
func (f stNamedFake) Name() string { return f.name }
