package cluster

import (
	"errors"
	"strings"
	"testing"
)

func TestParseNodeFlag(t *testing.T) {
	tests := []struct {
		in   string
		want string // nodeLine
		err  error
	}{
		{in: "s1=192.0.2.1,role=server", want: "s1 server 192.0.2.1  22 unknown"},
		{in: "s1=192.0.2.1,role=server,datastore=etcd", want: "s1 server 192.0.2.1  22 embedded etcd"},
		{in: "s1=192.0.2.1,role=server,datastore=external,user=root,port=2222", want: "s1 server 192.0.2.1 root 2222 external"},
		{in: "a1=a1.example.org,role=agent,user=ops", want: "a1 agent a1.example.org ops 22 none (agent)"},
		{in: "v6=[2001:db8::1],role=agent,port=22", want: "v6 agent 2001:db8::1  22 none (agent)"},
		{in: " s1 = 192.0.2.1 , role = server ", want: "s1 server 192.0.2.1  22 unknown"},
		{in: "s1=192.0.2.1", err: ErrBadNodeFlag},
		{in: "s1=192.0.2.1,role=master", err: ErrBadRole},
		{in: "s1=192.0.2.1,role=server,port=0", err: ErrBadPort},
		{in: "s1=192.0.2.1,role=server,port=65536", err: ErrBadPort},
		{in: "s1=192.0.2.1,role=server,port=ssh", err: ErrBadPort},
		{in: "s1=192.0.2.1,role=server,datastore=mysql", err: ErrBadDatastore},
		{in: "a1=192.0.2.1,role=agent,datastore=etcd", err: ErrBadNodeFlag},
		{in: "s1=192.0.2.1,role=server,role=agent", err: ErrBadNodeFlag},
		{in: "s1=192.0.2.1,role=server,colour=blue", err: ErrBadNodeFlag},
		{in: "s1=192.0.2.1,role", err: ErrBadNodeFlag},
		{in: "=192.0.2.1,role=server", err: ErrBadNodeFlag},
		{in: "s1=,role=server", err: ErrBadNodeFlag},
		{in: "192.0.2.1", err: ErrBadNodeFlag},
		{in: "a b=192.0.2.1,role=server", err: ErrBadNodeFlag},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			n, err := ParseNodeFlag(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := nodeLine(n); got != tc.want {
				t.Errorf("node %q, want %q", got, tc.want)
			}
			if !strings.HasPrefix(n.Address.Source, NodeFlagSource) || !strings.HasPrefix(n.Role.Source, NodeFlagSource) {
				t.Errorf("sources %q, %q", n.Address.Source, n.Role.Source)
			}
		})
	}
}

func TestParseNodeFlags(t *testing.T) {
	topo, err := ParseNodeFlags([]string{"a1=192.0.2.21,role=agent", "s1=192.0.2.11,role=server", "s2=192.0.2.12,role=server"})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, n := range topo.RolloutOrder() {
		order = append(order, n.Name)
	}
	if got := strings.Join(order, " "); got != "s1 s2 a1" {
		t.Errorf("rollout order %q, want servers first: s1 s2 a1", got)
	}
	_, err = ParseNodeFlags([]string{"s1=192.0.2.11,role=server", "s1=192.0.2.12,role=agent"})
	if !errors.Is(err, ErrDuplicateNode) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := ParseNodeFlags(nil); !errors.Is(err, ErrEmptyInventory) {
		t.Errorf("no flags: %v", err)
	}
}
