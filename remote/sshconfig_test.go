package remote

import (
	"reflect"
	"strings"
	"testing"
)

const sampleSSHConfig = `# global defaults come first
IdentityFile ~/.ssh/global_key

Host bastion
  HostName 10.0.0.1
  User jump

Host node-? !node-9
  HostName=%h.cluster.internal
  Port 2222
  IdentityFile "~/keys/nodes key"

Host node-*
  User deploy
  Port 22
  IdentityFile %d/.ssh/%r_%h

Match host node-1
  User matched-must-not-apply

Host *.example.com db
  user admin
  PORT = 2200
  ForwardAgent yes
  ProxyJump bastion

Host *
  User fallback
  Port 2022
  StrictHostKeyChecking yes
`

func TestSSHConfigLookup(t *testing.T) {
	c, err := ParseSSHConfig(strings.NewReader(sampleSSHConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		alias string
		want  SSHHostSettings
	}{
		{"bastion", SSHHostSettings{HostName: "10.0.0.1", User: "jump", Port: 2022, IdentityFiles: []string{"~/.ssh/global_key"}}},
		{"node-1", SSHHostSettings{HostName: "%h.cluster.internal", User: "deploy", Port: 2222,
			IdentityFiles: []string{"~/.ssh/global_key", "~/keys/nodes key", "%d/.ssh/%r_%h"}}},
		{"NODE-2", SSHHostSettings{HostName: "%h.cluster.internal", User: "deploy", Port: 2222,
			IdentityFiles: []string{"~/.ssh/global_key", "~/keys/nodes key", "%d/.ssh/%r_%h"}}},
		// negated: node-9 skips the first node block.
		{"node-9", SSHHostSettings{User: "deploy", Port: 22, IdentityFiles: []string{"~/.ssh/global_key", "%d/.ssh/%r_%h"}}},
		{"node-10", SSHHostSettings{User: "deploy", Port: 22, IdentityFiles: []string{"~/.ssh/global_key", "%d/.ssh/%r_%h"}}},
		{"web.example.com", SSHHostSettings{User: "admin", Port: 2200, IdentityFiles: []string{"~/.ssh/global_key"}}},
		{"db", SSHHostSettings{User: "admin", Port: 2200, IdentityFiles: []string{"~/.ssh/global_key"}}},
		{"example.com", SSHHostSettings{User: "fallback", Port: 2022, IdentityFiles: []string{"~/.ssh/global_key"}}},
	} {
		if got := c.Lookup(tc.alias); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Lookup(%q) = %+v\nwant %+v", tc.alias, got, tc.want)
		}
	}
}

func TestSSHConfigErrors(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"Host a\n  Port ssh\n", "line 2: bad Port"},
		{"Host a\n  Port 70000\n", "line 2: bad Port"},
		{"Host\n", "line 1: Host without a pattern"},
		{"Host a\n  User \"unterminated\n", "line 2: unterminated quote"},
		{"Host a\n  HostName one two\n", "line 2: hostname wants one value"},
	} {
		_, err := ParseSSHConfig(strings.NewReader(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSSHConfig(%q) = %v, want %q", tc.config, err, tc.want)
		}
	}
	// Unknown keywords, even malformed ones, are ignored.
	if _, err := ParseSSHConfig(strings.NewReader("Host a\n  SomethingNew \"x\" y z\n  LocalForward 1 2\n")); err != nil {
		t.Errorf("unknown keywords: %v", err)
	}
}

func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"node-?", "node-1", true}, {"node-?", "node-10", false},
		{"*.example.com", "a.example.com", true}, {"*.example.com", "example.com", false},
		{"a*b*c", "aXXbYYc", true}, {"a*b*c", "aXXbYY", false}, {"10.0.0.*", "10.0.0.7", true}, {"exact", "exact", true}, {"exact", "exactly", false},
	} {
		if got := wildcardMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func TestResolveTarget(t *testing.T) {
	c, err := ParseSSHConfig(strings.NewReader(sampleSSHConfig))
	if err != nil {
		t.Fatal(err)
	}
	const home = "/home/op"
	for _, tc := range []struct {
		name string
		opts SSHOptions
		cfg  *SSHConfigFile
		want sshTarget
	}{
		{"config alias", SSHOptions{Host: "node-1"}, c, sshTarget{alias: "node-1", host: "node-1.cluster.internal", user: "deploy", port: 2222,
			identities: []string{"/home/op/.ssh/global_key", "/home/op/keys/nodes key", "/home/op/.ssh/deploy_node-1.cluster.internal"}}},
		{"inventory overrides config", SSHOptions{Host: "node-1", HostName: "192.0.2.10", User: "ubuntu", Port: 22, IdentityFiles: []string{"~/inv.key"}}, c,
			sshTarget{alias: "node-1", host: "192.0.2.10", user: "ubuntu", port: 22,
				identities: []string{"/home/op/inv.key", "/home/op/.ssh/global_key", "/home/op/keys/nodes key", "/home/op/.ssh/ubuntu_192.0.2.10"}}},
		{"no config: OpenSSH defaults", SSHOptions{Host: "192.0.2.7"}, nil, sshTarget{alias: "192.0.2.7", host: "192.0.2.7", user: "local", port: 22,
			identities: []string{"/home/op/.ssh/id_ed25519", "/home/op/.ssh/id_ecdsa", "/home/op/.ssh/id_rsa"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveTarget(tc.opts, tc.cfg, home, "local")
			if err != nil {
				t.Fatal(err)
			}
			got.optional = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := resolveTarget(SSHOptions{}, nil, home, "local"); err == nil {
		t.Error("no host: want an error")
	}
	if _, err := resolveTarget(SSHOptions{Host: "h", Port: 70000}, nil, home, "local"); err == nil {
		t.Error("port 70000: want an error")
	}
}

func TestExpandPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"~", "/home/op"}, {"~/.ssh/id", "/home/op/.ssh/id"}, {"/abs/%h-%r-%u-%%-%x", "/abs/h1-deploy-me-%-%x"}, {"%d/k", "/home/op/k"}, {"~other/k", "~other/k"},
	} {
		if got := expandPath(tc.in, "/home/op", "h1", "deploy", "me"); got != tc.want {
			t.Errorf("expandPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
