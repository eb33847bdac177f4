package product

import "testing"

func TestProductNames(t *testing.T) {
	tests := []struct {
		in                                         string
		dataDir, prefix, caPath, role, unit, agent string
		config                                     string
		wantErr                                    bool
	}{
		{in: "", dataDir: "/var/lib/rancher/k3s", prefix: "k3s-", caPath: "/v1-k3s/cert/cacerts", role: "k3s:server",
			unit: "k3s", agent: "k3s-agent", config: "/etc/rancher/k3s/config.yaml"},
		{in: "rke2", dataDir: "/var/lib/rancher/rke2", prefix: "rke2-", caPath: "/v1-rke2/cert/cacerts", role: "rke2:server",
			unit: "rke2-server", agent: "rke2-agent", config: "/etc/rancher/rke2/config.yaml"},
		{in: "k8s", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := Parse(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Parse(%q) error %v, want error %t", tc.in, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			got := []string{p.DefaultDataDir(), p.CAPrefix(), p.CACertsPath(), p.ServerRole(), p.ServerUnit(), p.AgentUnit(), p.ConfigFile()}
			want := []string{tc.dataDir, tc.prefix, tc.caPath, tc.role, tc.unit, tc.agent, tc.config}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("name %d = %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
	if ServerDir("/d") != "/d/server" {
		t.Errorf("ServerDir = %q", ServerDir("/d"))
	}
}
