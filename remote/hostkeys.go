package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// UnknownHostKeyError refuses a host whose key no known_hosts file lists.
type UnknownHostKeyError struct {
	// Host is the host:port checked; KeyType and Fingerprint (SHA256:…)
	// describe the key it offered.
	Host, KeyType, Fingerprint string
	// KnownHosts are the files looked in.
	KnownHosts []string
	// Accept is the fingerprint the operator asked to accept, when it was
	// not this one.
	Accept string
}

// Error gives the fingerprint and how to accept it.
func (e *UnknownHostKeyError) Error() string {
	msg := fmt.Sprintf("host key of %s is unknown: %s %s is in none of %s", e.Host, e.KeyType, e.Fingerprint, strings.Join(e.KnownHosts, ", "))
	if e.Accept != "" {
		msg += fmt.Sprintf("; it is not the fingerprint given to accept (%s)", e.Accept)
	}
	return msg + "; check it against the host itself (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub there), then accept exactly that fingerprint or add the key to known_hosts"
}

// KnownHostKey is a key a known_hosts file lists for a host.
type KnownHostKey struct {
	File                 string
	Line                 int
	KeyType, Fingerprint string
}

// ChangedHostKeyError refuses a host whose key differs from the one
// known_hosts lists for it: possibly a man-in-the-middle attack. It is
// never accepted, whatever AcceptHostKey says.
type ChangedHostKeyError struct {
	// Host is the host:port checked; KeyType and Fingerprint describe the
	// key it offered.
	Host, KeyType, Fingerprint string
	// Known are the keys known_hosts has for the host.
	Known []KnownHostKey
}

// Error warns loudly and says what the operator must check.
func (e *ChangedHostKeyError) Error() string {
	var known []string
	for _, k := range e.Known {
		known = append(known, fmt.Sprintf("%s %s (%s:%d)", k.KeyType, k.Fingerprint, k.File, k.Line))
	}
	return fmt.Sprintf("REFUSED: THE HOST KEY OF %s HAS CHANGED, someone may be intercepting the connection (man-in-the-middle): "+
		"it offered %s %s but known_hosts has %s. If the host was really reinstalled, verify the new key on the host and remove the old line "+
		"(ssh-keygen -R %s); k3sca never accepts a changed key",
		e.Host, e.KeyType, e.Fingerprint, strings.Join(known, ", "), knownhosts.Normalize(e.Host))
}

// RevokedHostKeyError refuses a key marked @revoked in known_hosts.
type RevokedHostKeyError struct {
	Host, KeyType, Fingerprint string
	File                       string
	Line                       int
}

// Error names the key and the revoking line.
func (e *RevokedHostKeyError) Error() string {
	return fmt.Sprintf("REFUSED: host key %s %s of %s is revoked (%s:%d)", e.KeyType, e.Fingerprint, e.Host, e.File, e.Line)
}

// hostKeys checks host keys against known_hosts files, accepting (and
// recording) one unknown key whose fingerprint the operator named.
type hostKeys struct {
	files    []string // looked in, in order
	appendTo string   // where an accepted key is recorded
	accept   string   // SHA256:… or ""
	check    ssh.HostKeyCallback

	mu       sync.Mutex
	accepted string // the known_hosts line appended, if any
}

// newHostKeys reads the existing files among files (a missing file is
// empty); an accepted key is appended to files[0].
func newHostKeys(files []string, accept string) (*hostKeys, error) {
	if len(files) == 0 {
		return nil, errors.New("no known_hosts file given")
	}
	accept = strings.TrimSpace(accept)
	if accept != "" && !strings.HasPrefix(accept, "SHA256:") {
		return nil, fmt.Errorf("host key to accept %q: give its SHA256 fingerprint (SHA256:…, as ssh-keygen -l prints it)", accept)
	}
	var existing []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	cb, err := knownhosts.New(existing...)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	return &hostKeys{files: files, appendTo: files[0], accept: accept, check: cb}, nil
}

// algorithms orders the host key algorithms so that those of the keys
// known for addr come first (as OpenSSH does): a server with several host
// keys then shows the one known_hosts has, instead of another type we
// would take for a changed key. nil (the library's order) for an unknown
// host.
func (h *hostKeys) algorithms(addr string) []string {
	_, probe, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	signer, err := ssh.NewSignerFromKey(probe)
	if err != nil {
		return nil
	}
	err = h.check(addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, signer.PublicKey())
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algos = append(algos, a)
		}
	}
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			add(a)
		}
	}
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		add(a)
	}
	return algos
}

// algorithmsFor maps a key type to the signature algorithms it serves.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// callback is the ssh.HostKeyCallback.
func (h *hostKeys) callback(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := h.check(hostname, remote, key)
	if err == nil {
		return nil
	}
	fp := ssh.FingerprintSHA256(key)
	var revoked *knownhosts.RevokedError
	if errors.As(err, &revoked) {
		return &RevokedHostKeyError{Host: hostname, KeyType: key.Type(), Fingerprint: fp, File: revoked.Revoked.Filename, Line: revoked.Revoked.Line}
	}
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return fmt.Errorf("check host key of %s: %w", hostname, err)
	}
	if len(ke.Want) > 0 {
		ce := &ChangedHostKeyError{Host: hostname, KeyType: key.Type(), Fingerprint: fp}
		for _, k := range ke.Want {
			ce.Known = append(ce.Known, KnownHostKey{File: k.Filename, Line: k.Line, KeyType: k.Key.Type(), Fingerprint: ssh.FingerprintSHA256(k.Key)})
		}
		return ce
	}
	if h.accept == "" || h.accept != fp {
		ue := &UnknownHostKeyError{Host: hostname, KeyType: key.Type(), Fingerprint: fp, KnownHosts: h.files}
		if h.accept != "" {
			ue.Accept = h.accept
		}
		return ue
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key)
	if err := appendKnownHost(h.appendTo, line); err != nil {
		return fmt.Errorf("record accepted host key of %s: %w", hostname, err)
	}
	h.mu.Lock()
	h.accepted = line
	h.mu.Unlock()
	return nil
}

// acceptedLine is the known_hosts line recorded by callback, if any.
func (h *hostKeys) acceptedLine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.accepted
}

// appendKnownHost appends line to the known_hosts file (made 0600, in a
// 0700 directory, when missing).
func appendKnownHost(file, line string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	prefix := ""
	if len(old) > 0 && old[len(old)-1] != '\n' {
		prefix = "\n"
	}
	if _, err := f.WriteString(prefix + line + "\n"); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
