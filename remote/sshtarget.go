package remote

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"strings"
)

// sshTarget is a login resolved from SSHOptions and the ssh config.
type sshTarget struct {
	alias, host, user string
	port              int
	identities        []string
	// optional are the default identity files, skipped when missing.
	optional map[string]bool
}

// defaultIdentities are the files OpenSSH tries when nothing names one.
var defaultIdentities = []string{"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"}

// resolveTarget applies, per setting, the first of: the explicit option
// (the inventory's ansible_host/ansible_user/ansible_port), the ssh config,
// the default (the alias itself, the local user, port 22). Identity files
// are the explicit ones, then the config's, or OpenSSH's defaults when
// neither names one; ~ and %d %h %r %u %% are expanded in them.
func resolveTarget(o SSHOptions, cfg *SSHConfigFile, home, localUser string) (sshTarget, error) {
	if o.Host == "" {
		return sshTarget{}, errors.New("no host given")
	}
	s := cfg.Lookup(o.Host)
	t := sshTarget{alias: o.Host, host: first(o.HostName, s.HostName, o.Host), user: first(o.User, s.User, localUser), port: 22}
	t.host = expandHostName(t.host, o.Host)
	switch {
	case o.Port != 0:
		t.port = o.Port
	case s.Port != 0:
		t.port = s.Port
	}
	if t.port < 1 || t.port > 65535 {
		return sshTarget{}, fmt.Errorf("port %d of %s out of range", t.port, o.Host)
	}
	if t.user == "" {
		return sshTarget{}, fmt.Errorf("no user for %s (and no local user name)", o.Host)
	}
	files := append(append([]string{}, o.IdentityFiles...), s.IdentityFiles...)
	t.optional = map[string]bool{}
	if len(files) == 0 {
		files = defaultIdentities
		for _, f := range files {
			t.optional[expandPath(f, home, t.host, t.user, localUser)] = true
		}
	}
	for _, f := range files {
		t.identities = append(t.identities, expandPath(f, home, t.host, t.user, localUser))
	}
	return t, nil
}

// expandHostName expands %h (the alias) and %% in a HostName.
func expandHostName(h, alias string) string {
	if !strings.Contains(h, "%") {
		return h
	}
	return strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(h, "%%", "\x00"), "%h", alias), "\x00", "%")
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// homeAndUser are the home dir (o.Home or the user's) and local user name.
func homeAndUser(o SSHOptions) (string, string, error) {
	home := o.Home
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", "", fmt.Errorf("home dir: %w", err)
		}
		home = h
	}
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return path.Clean(home), name, nil
}
