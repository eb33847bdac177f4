package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// AuthError is an SSH login refused: no key offered was accepted for the
// user on the host (a wrong user, a key not authorized there, or no key).
type AuthError struct {
	// User and Host are the login tried.
	User, Host string
	// Tried lists the keys offered (file or agent key, with fingerprint);
	// Skipped the identity files that could not be used, with the reason.
	Tried, Skipped []string
	// Err is the SSH library's error.
	Err error
}

// Error names the login, the keys tried and the skipped files.
func (e *AuthError) Error() string {
	msg := fmt.Sprintf("ssh login as %s on %s refused", e.User, e.Host)
	if len(e.Tried) > 0 {
		msg += "; offered " + strings.Join(e.Tried, ", ")
	} else {
		msg += "; no key to offer (no identity file and no ssh-agent)"
	}
	if len(e.Skipped) > 0 {
		msg += "; skipped " + strings.Join(e.Skipped, ", ")
	}
	return msg + ": check the user and that one of these keys is in its authorized_keys there: " + e.Err.Error()
}

// Unwrap is the SSH library's error.
func (e *AuthError) Unwrap() error { return e.Err }

// keyring holds the signers offered at login: identity files first (in
// order), then the agent's keys.
type keyring struct {
	signers []ssh.Signer
	names   []string
	skipped []string
	agent   net.Conn
}

// loadKeys reads the identity files (a missing one is skipped silently
// when optional, as OpenSSH does for its default files; an encrypted one
// is skipped: k3sca never prompts for a passphrase, load it into
// ssh-agent instead) and connects to the agent at socket when not "".
func loadKeys(files []string, optional map[string]bool, socket string) *keyring {
	k := &keyring{}
	seen := map[string]bool{}
	add := func(s ssh.Signer, name string) {
		fp := ssh.FingerprintSHA256(s.PublicKey())
		if seen[fp] {
			return
		}
		seen[fp] = true
		k.signers = append(k.signers, s)
		k.names = append(k.names, name+" "+fp)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && optional[f] {
				continue
			}
			k.skipped = append(k.skipped, fmt.Sprintf("%s (%v)", f, err))
			continue
		}
		s, err := ssh.ParsePrivateKey(b)
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			k.skipped = append(k.skipped, f+" (encrypted: add it to ssh-agent)")
			continue
		}
		if err != nil {
			k.skipped = append(k.skipped, fmt.Sprintf("%s (%v)", f, err))
			continue
		}
		add(s, f)
	}
	if socket != "" {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			k.skipped = append(k.skipped, fmt.Sprintf("ssh-agent %s (%v)", socket, err))
			return k
		}
		k.agent = conn
		signers, err := agent.NewClient(conn).Signers()
		if err != nil {
			k.skipped = append(k.skipped, fmt.Sprintf("ssh-agent %s (%v)", socket, err))
			return k
		}
		for _, s := range signers {
			add(s, "agent key")
		}
	}
	return k
}

// close ends the agent connection.
func (k *keyring) close() {
	if k.agent != nil {
		_ = k.agent.Close()
	}
}

// isAuthFailure reports the SSH library's "unable to authenticate".
func isAuthFailure(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unable to authenticate")
}
