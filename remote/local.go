package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Local is the node k3sca runs on, reached without SSH. With Root set it is
// a sandbox node: every absolute path is taken under Root on this machine
// (/etc/rancher/k3s/config.yaml is Root/etc/rancher/k3s/config.yaml), while
// commands still run on this machine as they are (their argv is not
// rewritten, and they run in Root). Root maps paths lexically; it is a
// sandbox, not a security boundary (a symlink inside it may point out).
type Local struct {
	// Root is the sandbox root dir; "" is the machine's own /.
	Root string
	// Logger, if set, gets a debug line per call (paths and commands only).
	Logger *slog.Logger
}

var _ Node = (*Local)(nil)

// NewLocal returns the local node, under root when root is not "".
func NewLocal(root string, logger *slog.Logger) (*Local, error) {
	if root != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, fmt.Errorf("local root %s: %w", root, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("local root: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("local root %s is not a directory", abs)
		}
		root = abs
	}
	return &Local{Root: root, Logger: logger}, nil
}

// Endpoint is "local" (with its Root).
func (l *Local) Endpoint() Endpoint { return Endpoint{Local: true, Root: l.Root} }

// Close does nothing: there is no connection.
func (l *Local) Close() error { return nil }

// Run runs argv on this machine, without a shell.
func (l *Local) Run(ctx context.Context, argv []string) ([]byte, []byte, error) {
	if len(argv) == 0 {
		return nil, nil, fmt.Errorf("run on %s: empty command", l.Endpoint())
	}
	debug(l.Logger, "run", "node", l.Endpoint().String(), "cmd", argvString(argv))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if l.Root != "" {
		cmd.Dir = l.Root
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return stdout.Bytes(), stderr.Bytes(), fmt.Errorf("run %s on %s: %w", argvString(argv), l.Endpoint(), ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		xe := &ExitError{Node: l.Endpoint().String(), Argv: argv, Code: ee.ExitCode(), Stderr: stderr.Bytes()}
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			xe.Code, xe.Signal = -1, ws.Signal().String()
		}
		return stdout.Bytes(), stderr.Bytes(), xe
	}
	if err != nil {
		return stdout.Bytes(), stderr.Bytes(), fmt.Errorf("run %s on %s: %w", argvString(argv), l.Endpoint(), err)
	}
	return stdout.Bytes(), stderr.Bytes(), nil
}

// ReadFile reads path (under Root).
func (l *Local) ReadFile(ctx context.Context, path string) ([]byte, error) {
	debug(l.Logger, "read", "node", l.Endpoint().String(), "path", path)
	b, err := l.call(ctx, path, func(f fileSystem) (any, error) { return f.readFile(path) })
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", path, l.Endpoint(), err)
	}
	return b.([]byte), nil
}

// Stat describes path (under Root).
func (l *Local) Stat(ctx context.Context, path string) (FileInfo, error) {
	fi, err := l.call(ctx, path, func(f fileSystem) (any, error) { return statFollow(f, path) })
	if err != nil {
		return FileInfo{}, fmt.Errorf("stat %s on %s: %w", path, l.Endpoint(), err)
	}
	return fi.(FileInfo), nil
}

// Glob lists the paths (node paths, without Root) matching pattern.
func (l *Local) Glob(ctx context.Context, pattern string) ([]string, error) {
	m, err := l.call(ctx, pattern, func(f fileSystem) (any, error) { return globFS(ctx, f, pattern) })
	if err != nil {
		return nil, fmt.Errorf("glob %s on %s: %w", pattern, l.Endpoint(), err)
	}
	return m.([]string), nil
}

// WriteFile replaces path (under Root) atomically after a backup beside
// it; see Node.WriteFile and WriteOptions.
func (l *Local) WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) (string, error) {
	b, err := l.call(ctx, path, func(f fileSystem) (any, error) { return writeAtomic(ctx, f, path, data, opts) })
	backup, _ := b.(string)
	debug(l.Logger, "write", "node", l.Endpoint().String(), "path", path, "backup", backup, "ok", err == nil)
	if err != nil {
		return backup, fmt.Errorf("write %s on %s: %w", path, l.Endpoint(), err)
	}
	return backup, nil
}

// PutBack puts backup back over path (under Root); see Node.PutBack.
func (l *Local) PutBack(ctx context.Context, path, backup string, expect []byte, opts PutBackOptions) error {
	_, err := l.call(ctx, path, func(f fileSystem) (any, error) { return nil, putBackAtomic(ctx, f, path, backup, expect, opts.hook) })
	debug(l.Logger, "put back", "node", l.Endpoint().String(), "path", path, "backup", backup, "ok", err == nil)
	if err != nil {
		return fmt.Errorf("put back %s from %s on %s: %w", path, backup, l.Endpoint(), err)
	}
	return nil
}

func (l *Local) call(ctx context.Context, p string, fn func(fileSystem) (any, error)) (any, error) {
	if err := checkPath(p); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return fn(underRoot(osFS{}, l.Root))
}

// debug logs msg at debug level when a logger is set.
func debug(l *slog.Logger, msg string, args ...any) {
	if l != nil {
		l.Debug(msg, args...)
	}
}
