package cluster

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// TestServiceManagerOf decides systemd or OpenRC from the files a node's
// install left: the fixtures as real installs lay them out, and the
// cases in between.
func TestServiceManagerOf(t *testing.T) {
	for _, tc := range []struct {
		node, unit string
		p          product.Product
		want       ServiceManager
		source     string
	}{
		{"openrc-server", "k3s", product.K3s, ManagerOpenRC, "OpenRC script /etc/init.d/k3s"},
		{"server-installsh", "k3s", product.K3s, ManagerSystemd, "unit /etc/systemd/system/k3s.service"},
		{"agent-ansible", "k3s-agent", product.K3s, ManagerSystemd, "unit /etc/systemd/system/k3s-agent.service"},
		{"rke2-server", "rke2-server", product.RKE2, ManagerSystemd, "unit /usr/local/lib/systemd/system/rke2-server.service"},
		// An OpenRC server has no agent script: nothing says, systemd is
		// assumed and the source says so.
		{"openrc-server", "k3s-agent", product.K3s, ManagerSystemd, "assumed: no k3s-agent.service unit file and no /etc/init.d/k3s-agent found"},
	} {
		t.Run(tc.node+"/"+tc.unit, func(t *testing.T) {
			host, err := remote.NewLocal(filepath.Join("testdata", "nodes", tc.node), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ServiceManagerOf(context.Background(), host, tc.p, tc.unit)
			if err != nil || got.Value != tc.want || got.Source != tc.source {
				t.Errorf("got %+v, %v; want %s from %q", got, err, tc.want, tc.source)
			}
		})
	}
	// Both present (an OpenRC script left over on a systemd host): the
	// systemd unit decides, as install.sh picks systemd when it runs.
	both := MemFiles{"/etc/init.d/k3s": "#!/sbin/openrc-run\n", "/usr/lib/systemd/system/k3s.service": "[Service]\n"}
	got, err := ServiceManagerOf(context.Background(), both, product.K3s, "k3s")
	if err != nil || got.Value != ManagerSystemd || got.Source != "unit /usr/lib/systemd/system/k3s.service" {
		t.Errorf("both: %+v, %v", got, err)
	}
}
