package cluster

import (
	"errors"
	"strings"
	"testing"
)

func TestSplitHostPort(t *testing.T) {
	tests := []struct{ in, host, port string }{
		{"s1", "s1", ""},
		{"s1:2222", "s1", "2222"},
		{"192.0.2.1:22", "192.0.2.1", "22"},
		{"2001:db8::1", "2001:db8::1", ""},
		{"[2001:db8::1]:2222", "2001:db8::1", "2222"},
		{"[2001:db8::1]", "2001:db8::1", ""},
		{"10.0.0.[1:3]", "10.0.0.[1:3]", ""},
		{"web[1:3]:2200", "web[1:3]", "2200"},
		{"s1:ssh", "s1:ssh", ""},
	}
	for _, tc := range tests {
		h, p := splitHostPort(tc.in)
		if h != tc.host || p != tc.port {
			t.Errorf("splitHostPort(%q) = %q, %q; want %q, %q", tc.in, h, p, tc.host, tc.port)
		}
	}
}

func TestExpandHostPattern(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  bool
	}{
		{in: "s1", want: "s1"},
		{in: "web[1:3]", want: "web1 web2 web3"},
		{in: "web[01:03].lan", want: "web01.lan web02.lan web03.lan"},
		{in: "n[0:8:4]", want: "n0 n4 n8"},
		{in: "db[a:c]", want: "dba dbb dbc"},
		{in: "r[1:2]c[a:b]", want: "r1ca r1cb r2ca r2cb"},
		{in: "n[:2]", want: "n0 n1 n2"},
		{in: "n[3:1]", err: true},
		{in: "n[1:2", err: true},
		{in: "n[1]", err: true},
		{in: "n[1:3:0]", err: true},
		{in: "n[a:3]", err: true},
		{in: "n[0:99999]", err: true},
	}
	for _, tc := range tests {
		got, err := expandHostPattern(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadInventory) {
				t.Errorf("expandHostPattern(%q) error %v, want ErrBadInventory", tc.in, err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("expandHostPattern(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
