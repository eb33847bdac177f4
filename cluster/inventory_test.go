package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// nodeLine is a node's facts in one comparable string.
func nodeLine(n Node) string {
	return strings.Join([]string{n.Name, string(n.Role.Value), n.Address.Value, n.User.Value,
		strconv.Itoa(n.Port.Value), string(n.Datastore.Value)}, " ")
}

func readInventory(t *testing.T, name string) *Topology {
	t.Helper()
	topo, err := ReadInventory(context.Background(), dirFiles(t, "testdata/inventory"), "/"+name)
	if err != nil {
		t.Fatalf("ReadInventory(%s): %v", name, err)
	}
	return topo
}

func TestParseInventory(t *testing.T) {
	tests := []struct {
		file string
		// want is the rollout order, one nodeLine each.
		want []string
		// sources are substrings the Describe output must contain.
		sources []string
		notes   []string
	}{
		{
			file: "sample.yml",
			want: []string{
				"192.16.35.11 server 192.16.35.11 debian 22 unknown",
				"192.16.35.12 agent 192.16.35.12 debian 22 none (agent)",
				"192.16.35.13 agent 192.16.35.13 debian 22 none (agent)",
			},
			sources: []string{
				"address   192.16.35.11  from inventory k3s_cluster.children.server.hosts.192.16.35.11 (sample.yml line 8) (no ansible_host: the host name is the address)",
				"user      debian  from inventory k3s_cluster.vars.ansible_user (sample.yml line 17)",
				"port      22  from inventory k3s_cluster.vars.ansible_port (sample.yml line 16)",
				"role      server  from inventory k3s_cluster.children.server.hosts.192.16.35.11 (sample.yml line 8)",
				"datastore unknown  from not known until the node is probed",
			},
			notes: []string{"192.16.35.11: datastore unknown until the node is probed"},
		},
		{
			file: "named.yml",
			want: []string{
				"s1 server 192.0.2.11 admin 22 unknown",
				"s2 server 192.0.2.12 admin 2222 unknown",
				"s3 server 2001:db8::13 admin 22 unknown",
				"a1 agent 192.0.2.21 ubuntu 22 none (agent)",
				"a2 agent 192.0.2.22 root 2022 none (agent)",
			},
			sources: []string{
				"address   192.0.2.11  from inventory k3s_cluster.children.server.hosts.s1.ansible_host (named.yml line 14)",
				"user      admin  from inventory k3s_cluster.children.server.vars.ansible_user (named.yml line 11)",
				"port      2222  from inventory k3s_cluster.children.server.hosts.s2.ansible_port (named.yml line 17)",
				"user      root  from inventory all.vars.ansible_user (named.yml line 5)",
				"port      2022  from inventory k3s_cluster.children.agent.hosts.a2:2022 (port in the host name)",
				"address   192.0.2.22  from inventory k3s_cluster.children.agent.hosts.a2:2022.ansible_ssh_host",
			},
		},
		{
			file: "legacy.yml",
			want: []string{
				"192.168.30.38 server 192.168.30.38 pi 22 unknown",
				"192.168.30.39 server 192.168.30.39 pi 22 unknown",
				"192.168.30.41 agent 192.168.30.41 pi 22 none (agent)",
			},
			sources: []string{"role      server  from inventory all.children.k3s_cluster.children.master.hosts.192.168.30.38"},
		},
		{
			file: "ranges.yml",
			want: []string{
				"10.0.0.1 server 10.0.0.1  22 unknown",
				"10.0.0.2 server 10.0.0.2  22 unknown",
				"10.0.0.3 server 10.0.0.3  22 unknown",
				"worker08.example.org agent worker08.example.org ops 22 none (agent)",
				"worker09.example.org agent worker09.example.org ops 22 none (agent)",
				"worker10.example.org agent worker10.example.org ops 22 none (agent)",
				"dba agent dba  22 none (agent)",
				"dbb agent dbb  22 none (agent)",
			},
			sources: []string{"user      (SSH client default)  from not set in the inventory (the SSH client's default)",
				"port      22  from not set in the inventory (the SSH default 22)"},
		},
		{
			file: "renamed.yml",
			want: []string{
				"cp1 server 198.51.100.1  22 external",
				"w1 agent 198.51.100.2  22 none (agent)",
			},
			sources: []string{"datastore external  from inventory k3s_cluster.vars.use_external_database (renamed.yml line 6) (use_external_database)"},
		},
		{
			file:  "full-token.yml",
			want:  []string{"s1 server s1  22 unknown"},
			notes: []string{"inventory k3s_cluster.vars.token (full-token.yml line 7) is a full token pinned to CA hash d605a3053a2e5568e15272fb49543dce9eae1ef956843321b75a2edc142a7bfa"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			topo := readInventory(t, tc.file)
			var got []string
			var desc []string
			for _, n := range topo.RolloutOrder() {
				got = append(got, nodeLine(n))
				desc = append(desc, n.Describe()...)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("nodes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			all := strings.Join(desc, "\n")
			for _, s := range tc.sources {
				if !strings.Contains(all, s) {
					t.Errorf("Describe lacks %q:\n%s", s, all)
				}
			}
			notes := strings.Join(topo.Notes(), "\n")
			for _, s := range tc.notes {
				if !strings.Contains(notes, s) {
					t.Errorf("Notes lack %q:\n%s", s, notes)
				}
			}
		})
	}
}

func TestParseInventoryErrors(t *testing.T) {
	tests := []struct {
		file string
		want error
		msg  string
	}{
		{"both-groups.yml", ErrBothRoles, `host "n1"`},
		{"duplicate.yml", ErrDuplicateNode, "k3s_cluster.children.server.hosts.s1: key given twice (lines 5 and 7)"},
		{"empty.yml", ErrEmptyInventory, "empty.yml"},
		{"no-hosts.yml", ErrEmptyInventory, `group "server" has no hosts`},
		{"bad-port.yml", ErrBadPort, `"70000"`},
		{"port-word.yml", ErrBadPort, `k3s_cluster.vars.ansible_port`},
		{"templated.yml", ErrTemplated, "k3s_cluster.children.server.hosts.s1.ansible_host (line 6)"},
		{"hosts.ini", ErrBadInventory, "ansible-inventory -i hosts.ini --list -y"},
		{"no-server.yml", ErrNoServerGroup, `"server"`},
		{"both-names.yml", ErrBadInventory, `both groups "server" and "master"`},
		{"unknown-key.yml", ErrBadInventory, `unexpected key "host"`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata/inventory/bad", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseInventory(b, tc.file)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestParseInventoryNoFile(t *testing.T) {
	if _, err := ParseInventory([]byte("   \n"), ""); !errors.Is(err, ErrEmptyInventory) {
		t.Errorf("blank inventory: %v", err)
	}
	if _, err := ReadInventory(context.Background(), MemFiles{}, "/none.yml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing inventory: %v", err)
	}
}
