package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testservers"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshEnv is a real sshd and a client home trusting it.
type sshEnv struct {
	sshd        *testservers.SSHD
	home, known string
}

func newSSHEnv(t *testing.T) *sshEnv {
	t.Helper()
	e := &sshEnv{sshd: testservers.StartSSHD(t, testservers.SSHDOptions{}), home: t.TempDir()}
	e.known = filepath.Join(e.home, "known_hosts")
	e.sshd.WriteKnownHosts(t, e.known)
	return e
}

// opts log in as the test user with the authorized key, reading nothing
// of the real home (no ssh config, no agent, no default keys).
func (e *sshEnv) opts() SSHOptions {
	return SSHOptions{
		Host: e.sshd.Host, Port: e.sshd.Port, User: e.sshd.User,
		IdentityFiles: []string{e.sshd.ClientKeyFile}, KnownHosts: []string{e.known},
		ConfigFile: "none", Agent: "none", Home: e.home, Sudo: SudoNever,
	}
}

func dialT(t *testing.T, o SSHOptions) *SSH {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := DialSSH(ctx, o)
	if err != nil {
		t.Fatalf("DialSSH: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// fakeSudo writes a stand-in for sudo: it insists on -n and --, logs its
// argv to the returned file, and runs the command as the login user.
// refuse makes it answer like a sudo that wants a password.
func fakeSudo(t *testing.T, refuse bool) (prog, log string) {
	t.Helper()
	dir := t.TempDir()
	prog, log = filepath.Join(dir, "sudo"), filepath.Join(dir, "sudo.log")
	script := `#!/bin/sh
printf '%s\n' "$*" >> ` + quoteArg(log) + `
[ "$1" = "-n" ] || { echo "fakesudo: called without -n" >&2; exit 98; }
shift
[ "$1" = "--" ] || { echo "fakesudo: no -- before the command" >&2; exit 98; }
shift
exec "$@"
`
	if refuse {
		script = `#!/bin/sh
printf '%s\n' "$*" >> ` + quoteArg(log) + `
echo "sudo: a password is required" >&2
exit 1
`
	}
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return prog, log
}

func TestSSHRun(t *testing.T) {
	e := newSSHEnv(t)
	n := dialT(t, e.opts())
	want := Endpoint{Alias: "127.0.0.1", Host: "127.0.0.1", Port: e.sshd.Port, User: e.sshd.User}
	if n.Endpoint() != want {
		t.Errorf("Endpoint = %+v, want %+v", n.Endpoint(), want)
	}
	if got, w := n.Endpoint().String(), fmt.Sprintf("%s@127.0.0.1:%d", e.sshd.User, e.sshd.Port); got != w {
		t.Errorf("Endpoint.String = %q, want %q", got, w)
	}
	testRun(t, n)
	// Still usable after a killed command.
	if out, _, err := n.Run(context.Background(), []string{"echo", "after"}); err != nil || string(out) != "after\n" {
		t.Errorf("after the deadline: %q, %v", out, err)
	}
}

func TestSSHFiles(t *testing.T) {
	e := newSSHEnv(t)
	for _, tc := range []struct {
		name string
		sudo bool
	}{
		{"sftp subsystem", false},
		{"sftp-server through sudo -n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := e.opts()
			var log string
			if tc.sudo {
				o.Sudo = SudoAlways
				o.SudoProgram, log = fakeSudo(t, false)
			}
			n := dialT(t, o)
			testNodeFiles(t, func(t *testing.T) fileTarget {
				return fileTarget{node: n, base: t.TempDir(), host: func(p string) string { return p }}
			})
			if tc.sudo {
				b, err := os.ReadFile(log)
				if err != nil {
					t.Fatal(err)
				}
				// The probe at dial, then the sftp-server (a script of several
				// lines), each with -n --.
				if !strings.HasPrefix(string(b), "-n -- true\n-n -- sh -c for p in ") || strings.Count(string(b), "-n -- ") != 2 {
					t.Errorf("sudo calls = %q", b)
				}
			}
		})
	}
}

func TestSSHSudo(t *testing.T) {
	e := newSSHEnv(t)
	t.Run("commands through sudo -n", func(t *testing.T) {
		o := e.opts()
		o.Sudo = SudoAlways
		prog, log := fakeSudo(t, false)
		o.SudoProgram = prog
		n := dialT(t, o)
		if !n.Endpoint().Sudo || !strings.HasSuffix(n.Endpoint().String(), " via sudo") {
			t.Errorf("Endpoint = %+v", n.Endpoint())
		}
		out, _, err := n.Run(context.Background(), []string{"printf", "%s|", "a b", "$X"})
		if err != nil || string(out) != "a b|$X|" {
			t.Fatalf("Run = %q, %v", out, err)
		}
		_, _, err = n.Run(context.Background(), []string{"sh", "-c", "exit 4"})
		var xe *ExitError
		if !errors.As(err, &xe) || xe.Code != 4 || xe.Argv[0] != "sh" {
			t.Errorf("exit 4 through sudo: %v (argv is the command without the wrapper)", err)
		}
		b, _ := os.ReadFile(log)
		if want := "-n -- true\n-n -- printf %s| a b $X\n-n -- sh -c exit 4\n"; string(b) != want {
			t.Errorf("sudo got %q, want %q", b, want)
		}
	})
	t.Run("sudo wanting a password is refused at dial", func(t *testing.T) {
		o := e.opts()
		o.Sudo = SudoAlways
		o.SudoProgram, _ = fakeSudo(t, true)
		_, err := DialSSH(context.Background(), o)
		var sr *SudoRefusedError
		if !errors.As(err, &sr) || sr.User != e.sshd.User || sr.Host != "127.0.0.1" {
			t.Fatalf("err = %v, want a SudoRefusedError for %s on 127.0.0.1", err, e.sshd.User)
		}
		for _, s := range []string{"sudo -n was refused", "user " + e.sshd.User, "127.0.0.1", "password is required", "NOPASSWD"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q lacks %q", err, s)
			}
		}
	})
	t.Run("auto: root logs in without sudo", func(t *testing.T) {
		o := e.opts()
		o.Sudo = SudoAuto
		if e.sshd.User != "root" {
			t.Logf("running as %s, not root: SudoAuto would use sudo here; the rule is TestUseSudo", e.sshd.User)
			return
		}
		if n := dialT(t, o); n.Endpoint().Sudo {
			t.Error("root login used sudo")
		}
	})
}

func TestSSHHostKeys(t *testing.T) {
	e := newSSHEnv(t)
	fp := ssh.FingerprintSHA256(e.sshd.HostKey.PublicKey())
	other, _ := ssh.NewSignerFromKey(testservers.NewEd25519Key(t))
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecSigner, _ := ssh.NewSignerFromKey(ecKey)
	addr := knownhosts.Normalize(e.sshd.Addr)
	line := func(k ssh.PublicKey) string { return knownhosts.Line([]string{addr}, k) + "\n" }

	for _, tc := range []struct {
		name    string
		known   *string // known_hosts contents; nil: no file
		accept  string
		check   func(t *testing.T, err error)
		written bool // the key was appended
	}{
		{name: "known", known: ptr(e.sshd.KnownHostsLine() + "\n")},
		{name: "unknown, no file", check: func(t *testing.T, err error) {
			var ue *UnknownHostKeyError
			if !errors.As(err, &ue) || ue.Fingerprint != fp || ue.KeyType != ssh.KeyAlgoED25519 || ue.Host != e.sshd.Addr {
				t.Fatalf("err = %v, want UnknownHostKeyError with %s", err, fp)
			}
			for _, s := range []string{fp, "ssh-ed25519", e.sshd.Addr, "accept exactly that fingerprint"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		}},
		{name: "unknown, other host listed", known: ptr("[127.0.0.1]:1 " + strings.TrimPrefix(line(other.PublicKey()), addr+" ")), check: func(t *testing.T, err error) {
			var ue *UnknownHostKeyError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want UnknownHostKeyError", err)
			}
		}},
		{name: "unknown, another fingerprint accepted", accept: ssh.FingerprintSHA256(other.PublicKey()), check: func(t *testing.T, err error) {
			var ue *UnknownHostKeyError
			if !errors.As(err, &ue) || ue.Accept != ssh.FingerprintSHA256(other.PublicKey()) || !strings.Contains(err.Error(), "not the fingerprint given") {
				t.Fatalf("err = %v, want UnknownHostKeyError naming the mismatch", err)
			}
		}},
		{name: "unknown, its fingerprint accepted", accept: fp, written: true},
		{name: "unknown, accepted, file had no final newline", known: ptr("[127.0.0.1]:1" + strings.TrimSuffix(line(other.PublicKey()), "\n")[len(addr):]), accept: fp, written: true},
		{name: "changed", known: ptr(line(other.PublicKey())), check: changed(fp, ssh.FingerprintSHA256(other.PublicKey()))},
		{name: "changed, even with its fingerprint accepted", known: ptr(line(other.PublicKey())), accept: fp, check: changed(fp, ssh.FingerprintSHA256(other.PublicKey()))},
		{name: "changed type: only an ecdsa key known", known: ptr(line(ecSigner.PublicKey())), check: changed(fp, ssh.FingerprintSHA256(ecSigner.PublicKey()))},
		{name: "revoked", known: ptr("@revoked * " + strings.TrimPrefix(e.sshd.KnownHostsLine(), addr+" ") + "\n"), check: func(t *testing.T, err error) {
			var re *RevokedHostKeyError
			if !errors.As(err, &re) || re.Fingerprint != fp || re.Line != 1 {
				t.Fatalf("err = %v, want RevokedHostKeyError", err)
			}
		}},
		{name: "accept needs a SHA256 fingerprint", accept: "MD5:aa:bb", check: func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "SHA256") {
				t.Fatalf("err = %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := e.opts()
			o.KnownHosts = []string{filepath.Join(t.TempDir(), "ssh", "known_hosts")}
			if tc.known != nil {
				_ = os.MkdirAll(filepath.Dir(o.KnownHosts[0]), 0o700)
				if err := os.WriteFile(o.KnownHosts[0], []byte(*tc.known), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			o.AcceptHostKey = tc.accept
			n, err := DialSSH(context.Background(), o)
			after, _ := os.ReadFile(o.KnownHosts[0])
			if tc.check != nil {
				if err == nil {
					_ = n.Close()
				}
				tc.check(t, err)
				before := ""
				if tc.known != nil {
					before = *tc.known
				}
				if string(after) != before {
					t.Errorf("known_hosts changed on a refusal: %q", after)
				}
				return
			}
			if err != nil {
				t.Fatalf("DialSSH: %v", err)
			}
			defer n.Close()
			if _, _, err := n.Run(context.Background(), []string{"true"}); err != nil {
				t.Fatal(err)
			}
			if !tc.written {
				if n.AcceptedHostKey != "" {
					t.Errorf("AcceptedHostKey = %q for a known key", n.AcceptedHostKey)
				}
				return
			}
			if n.AcceptedHostKey != e.sshd.KnownHostsLine() || !strings.HasSuffix(string(after), "\n"+e.sshd.KnownHostsLine()+"\n") && string(after) != e.sshd.KnownHostsLine()+"\n" {
				t.Errorf("known_hosts = %q, AcceptedHostKey %q; want the line %q appended", after, n.AcceptedHostKey, e.sshd.KnownHostsLine())
			}
			// Recorded: the next dial needs no acceptance.
			o.AcceptHostKey = ""
			_ = dialT(t, o)
		})
	}
}

func changed(offered, known string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		var ce *ChangedHostKeyError
		if !errors.As(err, &ce) || ce.Fingerprint != offered || len(ce.Known) != 1 || ce.Known[0].Fingerprint != known || ce.Known[0].Line != 1 {
			t.Fatalf("err = %v, want ChangedHostKeyError offering %s, known %s", err, offered, known)
		}
		for _, s := range []string{"HAS CHANGED", "man-in-the-middle", offered, known, "never accepts"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q lacks %q", err, s)
			}
		}
	}
}

func TestSSHAuth(t *testing.T) {
	e := newSSHEnv(t)
	dir := t.TempDir()
	strangerKey := filepath.Join(dir, "stranger")
	testservers.WriteSSHPrivateKey(t, strangerKey, testservers.NewEd25519Key(t))
	encrypted := filepath.Join(dir, "encrypted")
	block, err := ssh.MarshalPrivateKeyWithPassphrase(testservers.NewEd25519Key(t), "", []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(encrypted, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("wrong user", func(t *testing.T) {
		o := e.opts()
		o.User = "k3sca-no-such-user"
		_, err := DialSSH(context.Background(), o)
		var ae *AuthError
		if !errors.As(err, &ae) || ae.User != "k3sca-no-such-user" || len(ae.Tried) != 1 {
			t.Fatalf("err = %v, want AuthError for k3sca-no-such-user", err)
		}
		for _, s := range []string{"login as k3sca-no-such-user", "refused", e.sshd.ClientKeyFile, "authorized_keys"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q lacks %q", err, s)
			}
		}
	})
	t.Run("key not authorized", func(t *testing.T) {
		o := e.opts()
		o.IdentityFiles = []string{strangerKey, filepath.Join(dir, "missing")}
		_, err := DialSSH(context.Background(), o)
		var ae *AuthError
		if !errors.As(err, &ae) || len(ae.Skipped) != 1 || !strings.Contains(err.Error(), "stranger") {
			t.Fatalf("err = %v, want AuthError offering stranger, skipping missing", err)
		}
	})
	t.Run("no key at all", func(t *testing.T) {
		o := e.opts()
		o.IdentityFiles = nil // defaults in an empty home: none
		_, err := DialSSH(context.Background(), o)
		if !strings.Contains(fmt.Sprint(err), "no key to offer") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("encrypted key skipped, next key used", func(t *testing.T) {
		o := e.opts()
		o.IdentityFiles = []string{encrypted, e.sshd.ClientKeyFile}
		_ = dialT(t, o)
	})
	t.Run("ssh-agent", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "agent.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		keyring := agent.NewKeyring()
		raw, _ := os.ReadFile(e.sshd.ClientKeyFile)
		priv, err := ssh.ParseRawPrivateKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() { _ = agent.ServeAgent(keyring, c); _ = c.Close() }()
			}
		}()
		o := e.opts()
		o.IdentityFiles, o.Agent = nil, sock
		n := dialT(t, o)
		if out, _, err := n.Run(context.Background(), []string{"echo", "via agent"}); err != nil || string(out) != "via agent\n" {
			t.Errorf("Run = %q, %v", out, err)
		}
	})
}

// TestSSHConfigAlias dials a node by its ~/.ssh/config alias: HostName,
// Port, User and IdentityFile (with ~) all come from the config.
func TestSSHConfigAlias(t *testing.T) {
	e := newSSHEnv(t)
	keyDir := filepath.Join(e.home, ".ssh")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(e.sshd.ClientKeyFile)
	if err := os.WriteFile(filepath.Join(keyDir, "node key"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`Host other
  HostName 192.0.2.1

Host k3s-node-*
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile "~/.ssh/node key"
  ServerAliveInterval 10

Host *
  User nobody-else
`, e.sshd.Port, e.sshd.User)
	if err := os.WriteFile(filepath.Join(keyDir, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	n := dialT(t, SSHOptions{Host: "k3s-node-1", KnownHosts: []string{e.known}, Agent: "none", Home: e.home, Sudo: SudoNever})
	want := Endpoint{Alias: "k3s-node-1", Host: "127.0.0.1", Port: e.sshd.Port, User: e.sshd.User}
	if n.Endpoint() != want {
		t.Errorf("Endpoint = %+v, want %+v", n.Endpoint(), want)
	}
	if !strings.HasSuffix(n.Endpoint().String(), " (k3s-node-1)") {
		t.Errorf("Endpoint.String = %q", n.Endpoint().String())
	}
	if _, _, err := n.Run(context.Background(), []string{"true"}); err != nil {
		t.Fatal(err)
	}
}

// TestSSHDialDeadline dials a port that accepts and never speaks SSH.
func TestSSHDialDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = DialSSH(ctx, SSHOptions{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, User: "x", ConfigFile: "none", Agent: "none",
		Home: t.TempDir(), KnownHosts: []string{filepath.Join(t.TempDir(), "kh")}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestSSHFileDeadline cancels a file call that blocks on the server (a read
// of a FIFO nobody writes): the call returns the deadline, and the next
// call works on a new SFTP session.
func TestSSHFileDeadline(t *testing.T) {
	e := newSSHEnv(t)
	n := dialT(t, e.opts())
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Unblock the server's open at the end, so its process can exit.
	defer func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = f.Close()
		}
	}()
	mustWrite(t, filepath.Join(dir, "token"), "secret\n", 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := n.ReadFile(ctx, fifo); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadFile(fifo) = %v, want DeadlineExceeded", err)
	}
	if b, err := n.ReadFile(context.Background(), filepath.Join(dir, "token")); err != nil || string(b) != "secret\n" {
		t.Fatalf("next ReadFile = %q, %v", b, err)
	}
}
