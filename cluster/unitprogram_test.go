package cluster

import (
	"context"
	"errors"
	"testing"

	"github.com/k3sca/k3sca/product"
)

func TestUnitProgram(t *testing.T) {
	installSh := "[Unit]\nDescription=Lightweight Kubernetes\n[Service]\nType=notify\nExecStartPre=-/sbin/modprobe br_netfilter\n" +
		"ExecStart=/usr/local/bin/k3s \\\n    server \\\n\t'--write-kubeconfig-mode' \\\n\t'0644' \\\n\n"
	tests := []struct {
		name            string
		files           MemFiles
		p               product.Product
		unit            string
		program, source string
		err             error
	}{
		{name: "install.sh unit", files: MemFiles{"/etc/systemd/system/k3s.service": installSh}, p: product.K3s, unit: "k3s",
			program: "/usr/local/bin/k3s", source: "ExecStart of /etc/systemd/system/k3s.service"},
		{name: "drop-in replaces ExecStart", p: product.K3s, unit: "k3s", files: MemFiles{
			"/etc/systemd/system/k3s.service":                installSh,
			"/etc/systemd/system/k3s.service.d/10-path.conf": "[Service]\nExecStart=\nExecStart=-/opt/k3s/bin/k3s server\n",
		}, program: "/opt/k3s/bin/k3s", source: "ExecStart of /etc/systemd/system/k3s.service.d/10-path.conf"},
		{name: "/etc wins over /usr/lib", p: product.K3s, unit: "k3s", files: MemFiles{
			"/usr/lib/systemd/system/k3s.service": "[Service]\nExecStart=/usr/bin/k3s server\n",
			"/etc/systemd/system/k3s.service":     installSh,
		}, program: "/usr/local/bin/k3s", source: "ExecStart of /etc/systemd/system/k3s.service"},
		{name: "rke2 tarball unit", p: product.RKE2, unit: "rke2-server", files: MemFiles{
			"/usr/local/lib/systemd/system/rke2-server.service": "[Service]\nExecStart=/usr/local/bin/rke2 server\n",
		}, program: "/usr/local/bin/rke2", source: "ExecStart of /usr/local/lib/systemd/system/rke2-server.service"},
		{name: "OpenRC script", p: product.K3s, unit: "k3s", files: MemFiles{
			"/etc/init.d/k3s": "#!/sbin/openrc-run\n\ndepend() {\n    after network-online\n}\n\nsupervisor=supervise-daemon\nname=k3s\ncommand=\"/usr/local/bin/k3s\"\ncommand_args=\"server\"\n",
		}, program: "/usr/local/bin/k3s", source: "command= of /etc/init.d/k3s"},
		{name: "program from a variable", p: product.K3s, unit: "k3s", files: MemFiles{
			"/etc/systemd/system/k3s.service": "[Service]\nExecStart=${K3S_BIN} server\n",
		}, err: ErrNoUnitProgram},
		{name: "no unit", p: product.K3s, unit: "k3s", files: MemFiles{}, err: ErrNoUnitProgram},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			program, source, err := UnitProgram(context.Background(), tt.files, tt.p, tt.unit)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || program != tt.program || source != tt.source {
				t.Fatalf("UnitProgram = %q, %q, %v; want %q, %q", program, source, err, tt.program, tt.source)
			}
		})
	}
}
