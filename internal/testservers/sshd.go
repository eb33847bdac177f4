package testservers

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is a real OpenSSH sshd (Debian's openssh-server) listening on
// 127.0.0.1, run by the test as the current user, that lets that user in
// with ClientKey. Only test code uses it.
type SSHD struct {
	// Host and Port are where it listens; Addr is Host:Port.
	Host string
	Port int
	Addr string
	// User is the login it accepts: the user running the test.
	User string
	// HostKey is its ed25519 host key.
	HostKey ssh.Signer
	// ClientKey is authorized for User; ClientKeyFile holds it (OpenSSH
	// format, unencrypted, 0600).
	ClientKey     ssh.Signer
	ClientKeyFile string
	// Dir holds its config, keys and authorized_keys.
	Dir string

	cmd    *exec.Cmd
	log    *testkit.LockedBuffer
	exited chan struct{}
	once   sync.Once
}

// SSHDOptions tune StartSSHD.
type SSHDOptions struct {
	// HostKey is the host key to serve; nil generates one.
	HostKey ed25519.PrivateKey
	// Config are extra sshd_config lines, appended.
	Config []string
	// Env are NAME=VALUE pairs set in every session (sshd's SetEnv,
	// which only its first line sets; they override sshd's PATH).
	Env []string
}

// SSHDBinary is the sshd to run: /usr/sbin/sshd, else sshd on PATH. Its
// absence fails the test (it is not skipped): install openssh-server
// (.ci/run installs it on CI).
func SSHDBinary(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/usr/sbin/sshd"); err == nil && !fi.IsDir() {
		return "/usr/sbin/sshd"
	}
	if p, err := exec.LookPath("sshd"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	t.Fatal("these tests run a real OpenSSH server and /usr/sbin/sshd is missing: install openssh-server (apt-get install -y openssh-server; CI's .ci/run installs it)")
	return ""
}

// StartSSHD starts sshd on a free 127.0.0.1 port (sshd -D -e -f config:
// no PAM, no StrictModes, public keys only, internal-sftp, AuthorizedKeysFile
// in Dir) and waits until it accepts connections. It is stopped at the
// end of the test; its log is printed if the test failed.
//
// As root, sshd insists on its privilege separation directory /run/sshd
// (made by Debian's service unit at boot, absent in a container); it is
// created (0755) when missing, the one thing this touches outside the
// test's temp dir.
func StartSSHD(t testing.TB, opts SSHDOptions) *SSHD {
	t.Helper()
	bin := SSHDBinary(t)
	u, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	if os.Geteuid() == 0 {
		if err := os.Mkdir("/run/sshd", 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			t.Fatalf("sshd's privilege separation dir /run/sshd: %v", err)
		}
	}
	dir := t.TempDir()
	hostPriv := opts.HostKey
	if hostPriv == nil {
		hostPriv = NewEd25519Key(t)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatalf("host key: %v", err)
	}
	WriteSSHPrivateKey(t, filepath.Join(dir, "host_ed25519"), hostPriv)
	clientPriv := NewEd25519Key(t)
	clientSigner, err := ssh.NewSignerFromKey(clientPriv)
	if err != nil {
		t.Fatalf("client key: %v", err)
	}
	clientFile := filepath.Join(dir, "client_ed25519")
	WriteSSHPrivateKey(t, clientFile, clientPriv)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientSigner.PublicKey()), 0o600); err != nil {
		t.Fatalf("authorized_keys: %v", err)
	}
	port := FreePort(t)
	config := []string{
		"ListenAddress 127.0.0.1:" + strconv.Itoa(port),
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PidFile none",
		"UsePAM no",
		"StrictModes no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding no",
		"X11Forwarding no",
		"PrintMotd no",
		"MaxStartups 100",
		"MaxSessions 100",
		"Subsystem sftp internal-sftp",
		"LogLevel VERBOSE",
		// bash sources ~/.bashrc for commands run by sshd (SSH_CLIENT set,
		// SHLVL below 2): keep the tester's rc files out of every command
		// (they can take a second and print things).
		"SetEnv " + strings.Join(append([]string{"SHLVL=1"}, opts.Env...), " "),
	}
	config = append(config, opts.Config...)
	cfgFile := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgFile, []byte(strings.Join(config, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("sshd_config: %v", err)
	}
	s := &SSHD{
		Host: "127.0.0.1", Port: port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		User: u.Username, HostKey: hostSigner, ClientKey: clientSigner, ClientKeyFile: clientFile, Dir: dir,
		log: &testkit.LockedBuffer{}, exited: make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "-D", "-e", "-f", cfgFile)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.Log())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.exited:
			t.Fatalf("sshd exited at start (%v):\n%s", s.cmd.ProcessState, s.Log())
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			_ = c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %s within 15s:\n%s", s.Addr, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends sshd (SIGTERM, then SIGKILL after 5s) and waits for it.
func (s *SSHD) Stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// Log is what sshd printed so far.
func (s *SSHD) Log() string { return s.log.String() }

// KnownHostsLine is the known_hosts line for its host key at its address
// ("[127.0.0.1]:port ssh-ed25519 …").
func (s *SSHD) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey.PublicKey())
}

// WriteKnownHosts writes a known_hosts file that trusts its host key.
func (s *SSHD) WriteKnownHosts(t testing.TB, file string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(s.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatalf("known_hosts: %v", err)
	}
}

// NewEd25519Key generates an ed25519 private key.
func NewEd25519Key(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("ed25519 key: %v", err)
	}
	return priv
}

// WriteSSHPrivateKey writes key as an unencrypted OpenSSH private key file
// (mode 0600).
func WriteSSHPrivateKey(t testing.TB, file string, key ed25519.PrivateKey) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatalf("write key %s: %v", file, err)
	}
}
