package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/pkg/sftp"
)

// sftpServerScript starts the node's sftp-server as the sudo user: $1 (the
// SFTPServer option) if given, else the first of the places distributions
// put it. Constant: paths only ever arrive as positional arguments.
const sftpServerScript = `for p in "$1" /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server /usr/libexec/sftp-server /usr/lib/sftp-server; do
  if [ -n "$p" ] && [ -x "$p" ]; then exec "$p"; fi
done
echo "k3sca: no sftp-server found (looked for $1 /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server /usr/libexec/sftp-server /usr/lib/sftp-server)" >&2
exit 127`

// sftpServerArgv is the command that runs sftp-server through sudo -n.
func sftpServerArgv(sudo, server string) []string {
	return SudoArgv(sudo, []string{"sh", "-c", sftpServerScript, "k3sca-sftp", server})
}

// files runs fn on the node's SFTP session (opened on first use) under
// ctx. When ctx ends first, the session is dropped (its stdin closed, so
// fn can send nothing more) and ctx's error returned at once; the next call
// opens a new session. A request the server was already carrying out when
// ctx ended may still complete there (a server stuck in one, e.g. opening
// a FIFO, answers nothing, so fn is not waited for); its goroutine ends
// when the connection closes.
func (s *SSH) files(ctx context.Context, p string, fn func(fileSystem) error) error {
	if err := checkPath(p); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := s.sftpClient(ctx)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- fn(underRoot(sftpFS{c}, s.opts.Root)) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		s.dropSFTP(c)
		return ctx.Err()
	}
}

// sftpClient returns the open SFTP session or opens one: the login's sftp
// subsystem, or sftp-server through sudo -n.
func (s *SSH) sftpClient(ctx context.Context) (*sftp.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sftp != nil {
		return s.sftp, nil
	}
	sess, err := s.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("sftp session: %w", err)
	}
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	stdin, err := sess.StdinPipe()
	if err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("sftp session: %w", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("sftp session: %w", err)
	}
	if s.ep.Sudo {
		argv := sftpServerArgv(s.opts.SudoProgram, s.opts.SFTPServer)
		debug(s.opts.Logger, "sftp via sudo", "node", s.ep.String(), "cmd", argvString(argv))
		err = sess.Start(ShellQuote(argv))
	} else {
		debug(s.opts.Logger, "sftp subsystem", "node", s.ep.String())
		err = sess.RequestSubsystem("sftp")
	}
	if err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("start sftp: %w", err)
	}
	type result struct {
		c   *sftp.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := sftp.NewClientPipe(stdout, stdin)
		ch <- result{c, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		_ = sess.Close()
		go func() {
			if r := <-ch; r.err == nil {
				_ = r.c.Close()
			}
		}()
		return nil, fmt.Errorf("start sftp: %w", ctx.Err())
	}
	if r.err != nil {
		_ = sess.Close()
		if msg := firstLine(stderr.Bytes()); msg != "" {
			if s.ep.Sudo && sudoRefusal(stderr.Bytes()) {
				return nil, &SudoRefusedError{User: s.ep.User, Host: s.ep.Host, Stderr: msg, Err: r.err}
			}
			return nil, fmt.Errorf("start sftp: %w: %s", r.err, msg)
		}
		return nil, fmt.Errorf("start sftp: %w", r.err)
	}
	s.sftp, s.session = r.c, sess
	return r.c, nil
}

// dropSFTP closes c if it is still the open session.
func (s *SSH) dropSFTP(c *sftp.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sftp == c {
		// In the background: sftp.Client.Close waits for its reader, which
		// a server stuck in a call (internal-sftp runs in the channel's own
		// process) releases only when the connection closes.
		go closeSFTP(c, s.session)
		s.sftp, s.session = nil, nil
	}
}

// closeSFTP ends an SFTP session: its channel, then the client.
func closeSFTP(c *sftp.Client, sess interface{ Close() error }) {
	_ = sess.Close()
	_ = c.Close()
}

// sftpFS is a fileSystem over an SFTP session.
type sftpFS struct{ c *sftp.Client }

var _ fileSystem = sftpFS{}

// sftpErr makes "no such file" match fs.ErrNotExist whatever form it takes.
func sftpErr(err error) error {
	var se *sftp.StatusError
	if errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxNoSuchFile && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (%v)", fs.ErrNotExist, err)
	}
	return err
}

func (f sftpFS) lstat(p string) (FileInfo, error) {
	fi, err := f.c.Lstat(p)
	if err = sftpErr(err); isNotExist(err) {
		return FileInfo{Path: p}, nil
	}
	if err != nil {
		return FileInfo{}, err
	}
	return sftpInfo(p, fi), nil
}

func (f sftpFS) stat(p string) (FileInfo, error) {
	fi, err := f.c.Stat(p)
	if err != nil {
		return FileInfo{}, sftpErr(err)
	}
	return sftpInfo(p, fi), nil
}

func sftpInfo(p string, fi os.FileInfo) FileInfo {
	out := FileInfo{Path: p, Exists: true, Symlink: fi.Mode()&fs.ModeSymlink != 0, Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		out.UID, out.GID = int(st.UID), int(st.GID)
	}
	return out
}

func (f sftpFS) readFile(p string) ([]byte, error) {
	r, err := f.c.Open(p)
	if err != nil {
		return nil, sftpErr(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return b, sftpErr(err)
}

func (f sftpFS) readDirNames(dir string) ([]string, error) {
	fis, err := f.c.ReadDir(dir)
	if err != nil {
		return nil, sftpErr(err)
	}
	names := make([]string, len(fis))
	for i, fi := range fis {
		names[i] = fi.Name()
	}
	return names, nil
}

// createExcl creates p empty and chmods it 0600 before anything is written.
func (f sftpFS) createExcl(p string) (fileWriter, error) {
	w, err := f.c.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, sftpErr(err)
	}
	if err := w.Chmod(0o600); err != nil {
		_ = w.Close()
		_ = f.c.Remove(p)
		return nil, err
	}
	return w, nil
}

func (f sftpFS) chown(p string, uid, gid int) error { return sftpErr(f.c.Chown(p, uid, gid)) }

func (f sftpFS) chmod(p string, mode fs.FileMode) error { return sftpErr(f.c.Chmod(p, mode)) }

func (f sftpFS) chtimes(p string, atime, mtime time.Time) error {
	return sftpErr(f.c.Chtimes(p, atime, mtime))
}

// link uses the hardlink@openssh.com extension, which refuses an existing
// newp.
func (f sftpFS) link(oldp, newp string) error { return sftpErr(f.c.Link(oldp, newp)) }

// rename uses posix-rename@openssh.com: an atomic replace (plain SFTP
// rename refuses an existing target).
func (f sftpFS) rename(oldp, newp string) error { return sftpErr(f.c.PosixRename(oldp, newp)) }

func (f sftpFS) remove(p string) error { return sftpErr(f.c.Remove(p)) }

func (f sftpFS) mkdir(p string, _ fs.FileMode) error { return sftpErr(f.c.Mkdir(p)) }

// syncDir opens dir and fsyncs it (fsync@openssh.com); OpenSSH's
// sftp-server opens directories like files, so this works there. A server
// that cannot is not an error: the rename is done, only its durability
// across a power cut is up to the server's file system.
func (f sftpFS) syncDir(dir string) error {
	d, err := f.c.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}
