package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// SudoMode says when an SSH node goes through sudo -n.
type SudoMode int

// Sudo modes.
const (
	// SudoAuto uses sudo -n when the login is not root.
	SudoAuto SudoMode = iota
	// SudoNever never uses sudo: commands and files run as the login.
	SudoNever
	// SudoAlways uses sudo -n even for root (or for a login whose sudo is
	// a wrapper, as in tests).
	SudoAlways
)

// SSHOptions say how to reach a node over SSH. Only Host is required; the
// rest defaults the way OpenSSH does.
type SSHOptions struct {
	// Host is the inventory name or ~/.ssh/config alias of the node.
	Host string
	// HostName, User and Port override the ssh config (an inventory's
	// ansible_host, ansible_user, ansible_port). Defaults: the config's,
	// else Host, the local user and 22.
	HostName, User string
	Port           int
	// IdentityFiles are private key files tried first (before those of the
	// ssh config, then the agent's keys). Encrypted ones are skipped: load
	// them into ssh-agent.
	IdentityFiles []string
	// KnownHosts are the known_hosts files host keys are checked against
	// (default ~/.ssh/known_hosts); a missing one is empty. An accepted key
	// is appended to the first.
	KnownHosts []string
	// AcceptHostKey is the SHA256 fingerprint ("SHA256:…") of a host key
	// the operator checked and accepts for an unknown host: only that key
	// is accepted, and it is recorded in KnownHosts[0]. A changed key is
	// never accepted.
	AcceptHostKey string
	// ConfigFile is the ssh config to read (default ~/.ssh/config;
	// "none" reads none).
	ConfigFile string
	// Agent is the ssh-agent socket (default $SSH_AUTH_SOCK; "none" uses
	// no agent).
	Agent string
	// Home is the home dir for ~ and the defaults (default the user's).
	Home string
	// Sudo says when to go through sudo -n (default SudoAuto).
	Sudo SudoMode
	// SudoProgram is the sudo to run (default "sudo", found on the node's
	// PATH).
	SudoProgram string
	// SFTPServer is the node's sftp-server binary, for files over sudo
	// (default: the first of the usual places that exists).
	SFTPServer string
	// Root, when set, is a sandbox root on the node: every file path is
	// taken under it (as Local.Root); commands are not rewritten.
	Root string
	// Logger, if set, gets debug lines with node names, paths and commands.
	Logger *slog.Logger
}

// SSH is a node reached over SSH (golang.org/x/crypto/ssh, host keys
// checked against known_hosts) with files over SFTP (github.com/pkg/sftp).
//
// When the login is not root (or Sudo is SudoAlways), every command runs as
// [sudo -n -- argv...] (SudoArgv), and files go through an SFTP server
// started as root with sudo -n (sudo -n -- sh -c 'exec sftp-server'),
// spoken to over that command's stdin and stdout instead of the login's
// sftp subsystem. So reading a 0600 root file, keeping a file's owner
// (chown) and the atomic write (temp file beside the target, fsync,
// rename, hard-linked backup) are the same SFTP operations as for a root
// login, with no file contents passing through a shell, a command line or
// a temp file outside the target's directory. DialSSH checks sudo -n
// first: a sudo that wants a password is a *SudoRefusedError naming the
// user and host.
//
// Each call runs under its ctx, and returns when ctx ends: a command is
// sent KILL and its channel closed (whether the command really dies is up
// to the server: OpenSSH delivers signals only with privilege separation);
// a file call drops the SFTP session (the next one opens a new session).
// A write cancelled midway either replaced the file or not; it never
// leaves a partial file under the target's name. The dial is bounded by
// ctx too (TCP connect, handshake and login).
type SSH struct {
	opts   SSHOptions
	ep     Endpoint
	client *ssh.Client
	// AcceptedHostKey is the known_hosts line recorded at dial because
	// AcceptHostKey matched ("" when the key was already known).
	AcceptedHostKey string

	mu      sync.Mutex
	sftp    *sftp.Client
	session *ssh.Session
}

var _ Node = (*SSH)(nil)

// DialSSH resolves opts (ssh config, defaults), connects and logs in under
// ctx, and checks sudo -n when it will be used. Host key failures are
// *UnknownHostKeyError, *ChangedHostKeyError or *RevokedHostKeyError; a
// refused login is an *AuthError; a sudo asking for a password a
// *SudoRefusedError.
func DialSSH(ctx context.Context, opts SSHOptions) (*SSH, error) {
	home, localUser, err := homeAndUser(opts)
	if err != nil {
		return nil, err
	}
	cfgPath := opts.ConfigFile
	if cfgPath == "" {
		cfgPath = path.Join(home, ".ssh", "config")
	}
	var cfg *SSHConfigFile
	if cfgPath != "none" {
		if cfg, err = ReadSSHConfig(cfgPath); err != nil {
			return nil, err
		}
	}
	t, err := resolveTarget(opts, cfg, home, localUser)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", opts.Host, err)
	}
	ep := Endpoint{Alias: t.alias, Host: t.host, Port: t.port, User: t.user, Root: opts.Root}
	ep.Sudo = useSudo(opts.Sudo, t.user)
	knownFiles := opts.KnownHosts
	if len(knownFiles) == 0 {
		knownFiles = []string{path.Join(home, ".ssh", "known_hosts")}
	}
	hk, err := newHostKeys(knownFiles, opts.AcceptHostKey)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", ep, err)
	}
	socket := opts.Agent
	if socket == "" {
		socket = envAgentSocket()
	} else if socket == "none" {
		socket = ""
	}
	keys := loadKeys(t.identities, t.optional, socket)
	defer keys.close()

	addr := net.JoinHostPort(t.host, strconv.Itoa(t.port))
	debug(opts.Logger, "ssh dial", "node", ep.String(), "addr", addr)
	config := &ssh.ClientConfig{
		User:              t.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(keys.signers...)},
		HostKeyCallback:   hk.callback,
		HostKeyAlgorithms: hk.algorithms(addr),
	}
	client, err := dialContext(ctx, addr, config)
	if err != nil {
		if isAuthFailure(err) {
			return nil, fmt.Errorf("ssh %s: %w", ep, &AuthError{User: t.user, Host: addr, Tried: keys.names, Skipped: keys.skipped, Err: err})
		}
		return nil, fmt.Errorf("ssh %s: %w", ep, err)
	}
	s := &SSH{opts: opts, ep: ep, client: client, AcceptedHostKey: hk.acceptedLine()}
	if ep.Sudo {
		if err := s.checkSudo(ctx); err != nil {
			_ = client.Close()
			return nil, err
		}
	}
	return s, nil
}

// useSudo is the rule of SudoMode: Auto means sudo for every login but root.
func useSudo(mode SudoMode, user string) bool {
	return mode == SudoAlways || (mode == SudoAuto && user != "root")
}

// dialContext is ssh.Dial under ctx: the TCP dial, and the handshake and
// login (the connection is closed when ctx ends first).
func dialContext(ctx context.Context, addr string, config *ssh.ClientConfig) (*ssh.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	stopped := stop()
	if err != nil {
		_ = conn.Close()
		// Closed by the AfterFunc: the cause is ctx.
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("ssh handshake with %s: %w: %w", addr, ctxErr, err)
		}
		return nil, err
	}
	if !stopped {
		_ = c.Close()
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, ctx.Err())
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// checkSudo runs sudo -n true: a sudo that would prompt is refused now,
// with a clear error, rather than in the middle of a rollout.
func (s *SSH) checkSudo(ctx context.Context) error {
	_, _, err := s.Run(ctx, []string{"true"})
	var sr *SudoRefusedError
	if err == nil || errors.As(err, &sr) {
		return err
	}
	return fmt.Errorf("check sudo -n for %s on %s: %w", s.ep.User, s.ep.Host, err)
}

// Endpoint is the login: user, host, port, alias and whether sudo is used.
func (s *SSH) Endpoint() Endpoint { return s.ep }

// Close ends the connection, and with it the SFTP session and any call
// still pending on the server.
func (s *SSH) Close() error {
	err := s.client.Close()
	s.mu.Lock()
	if s.sftp != nil {
		closeSFTP(s.sftp, s.session)
		s.sftp, s.session = nil, nil
	}
	s.mu.Unlock()
	return err
}

// Run runs argv on the node (through sudo -n when the node uses sudo),
// quoted for the login shell with ShellQuote.
func (s *SSH) Run(ctx context.Context, argv []string) ([]byte, []byte, error) {
	if len(argv) == 0 {
		return nil, nil, fmt.Errorf("run on %s: empty command", s.ep)
	}
	full := argv
	if s.ep.Sudo {
		full = SudoArgv(s.opts.SudoProgram, argv)
	}
	debug(s.opts.Logger, "run", "node", s.ep.String(), "cmd", argvString(full))
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("run %s on %s: %w", argvString(argv), s.ep, err)
	}
	sess, err := s.client.NewSession()
	if err != nil {
		return nil, nil, fmt.Errorf("run %s on %s: new session: %w", argvString(argv), s.ep, err)
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if err := sess.Start(ShellQuote(full)); err != nil {
		return nil, nil, fmt.Errorf("run %s on %s: %w", argvString(argv), s.ep, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Best effort: a server may refuse the signal (OpenSSH runs it only
		// with privilege separation) and keeps the channel until the
		// command exits, so the call returns after a short grace without
		// waiting for that.
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
		select {
		case <-done:
		case <-time.After(killGrace):
		}
		return nil, nil, fmt.Errorf("run %s on %s: %w", argvString(argv), s.ep, ctx.Err())
	}
	if err == nil {
		return stdout.Bytes(), stderr.Bytes(), nil
	}
	xe := &ExitError{Node: s.ep.String(), Argv: argv, Code: -1, Stderr: stderr.Bytes()}
	var se *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case errors.As(err, &se):
		xe.Code = se.ExitStatus()
		if se.Signal() != "" {
			xe.Code, xe.Signal = -1, se.Signal()
		}
	case errors.As(err, &missing):
	default:
		return stdout.Bytes(), stderr.Bytes(), fmt.Errorf("run %s on %s: %w", argvString(argv), s.ep, err)
	}
	if s.ep.Sudo && sudoRefusal(xe.Stderr) {
		return stdout.Bytes(), stderr.Bytes(), &SudoRefusedError{User: s.ep.User, Host: s.ep.Host, Stderr: firstLine(xe.Stderr), Err: xe}
	}
	return stdout.Bytes(), stderr.Bytes(), xe
}

// ReadFile reads path over SFTP.
func (s *SSH) ReadFile(ctx context.Context, p string) ([]byte, error) {
	debug(s.opts.Logger, "read", "node", s.ep.String(), "path", p)
	var b []byte
	err := s.files(ctx, p, func(f fileSystem) (err error) { b, err = f.readFile(p); return err })
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", p, s.ep, err)
	}
	return b, nil
}

// Stat describes path over SFTP.
func (s *SSH) Stat(ctx context.Context, p string) (FileInfo, error) {
	var fi FileInfo
	err := s.files(ctx, p, func(f fileSystem) (err error) { fi, err = statFollow(f, p); return err })
	if err != nil {
		return FileInfo{}, fmt.Errorf("stat %s on %s: %w", p, s.ep, err)
	}
	return fi, nil
}

// Glob lists the paths matching pattern over SFTP.
func (s *SSH) Glob(ctx context.Context, pattern string) ([]string, error) {
	var m []string
	err := s.files(ctx, pattern, func(f fileSystem) (err error) { m, err = globFS(ctx, f, pattern); return err })
	if err != nil {
		return nil, fmt.Errorf("glob %s on %s: %w", pattern, s.ep, err)
	}
	return m, nil
}

// WriteFile replaces path atomically over SFTP after a backup beside it;
// see Node.WriteFile and WriteOptions.
func (s *SSH) WriteFile(ctx context.Context, p string, data []byte, opts WriteOptions) (string, error) {
	var backup string
	err := s.files(ctx, p, func(f fileSystem) (err error) { backup, err = writeAtomic(ctx, f, p, data, opts); return err })
	debug(s.opts.Logger, "write", "node", s.ep.String(), "path", p, "backup", backup, "ok", err == nil)
	if err != nil {
		return backup, fmt.Errorf("write %s on %s: %w", p, s.ep, err)
	}
	return backup, nil
}

// PutBack puts backup back over path over SFTP; see Node.PutBack.
func (s *SSH) PutBack(ctx context.Context, p, backup string, expect []byte, opts PutBackOptions) error {
	err := s.files(ctx, p, func(f fileSystem) error { return putBackAtomic(ctx, f, p, backup, expect, opts.hook) })
	debug(s.opts.Logger, "put back", "node", s.ep.String(), "path", p, "backup", backup, "ok", err == nil)
	if err != nil {
		return fmt.Errorf("put back %s from %s on %s: %w", p, backup, s.ep, err)
	}
	return nil
}

// killGrace is how long a cancelled Run waits for the killed command.
const killGrace = time.Second

// envAgentSocket is $SSH_AUTH_SOCK.
func envAgentSocket() string { return os.Getenv("SSH_AUTH_SOCK") }
