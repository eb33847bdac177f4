package remote

import (
	"context"
	"fmt"
)

// FileOps are the file operations beyond Node's that a leaf rotation
// needs on a node: *Local and *SSH have them.
type FileOps interface {
	// Remove removes the file (or empty directory) at path; a missing
	// path is not an error.
	Remove(ctx context.Context, path string) error
	// Rename moves oldpath to newpath (a file or a directory), replacing
	// a file at newpath.
	Rename(ctx context.Context, oldpath, newpath string) error
}

var (
	_ FileOps = (*Local)(nil)
	_ FileOps = (*SSH)(nil)
)

// removeFS removes p, a missing p being no error.
func removeFS(f fileSystem, p string) error {
	if err := f.remove(p); err != nil && !isNotExist(err) {
		return err
	}
	return nil
}

// Remove removes path (under Root); a missing path is not an error.
func (l *Local) Remove(ctx context.Context, path string) error {
	debug(l.Logger, "remove", "node", l.Endpoint().String(), "path", path)
	if _, err := l.call(ctx, path, func(f fileSystem) (any, error) { return nil, removeFS(f, path) }); err != nil {
		return fmt.Errorf("remove %s on %s: %w", path, l.Endpoint(), err)
	}
	return nil
}

// Remove removes path over SFTP; a missing path is not an error.
func (s *SSH) Remove(ctx context.Context, p string) error {
	debug(s.opts.Logger, "remove", "node", s.ep.String(), "path", p)
	if err := s.files(ctx, p, func(f fileSystem) error { return removeFS(f, p) }); err != nil {
		return fmt.Errorf("remove %s on %s: %w", p, s.ep, err)
	}
	return nil
}

// Rename moves oldpath to newpath (under Root).
func (l *Local) Rename(ctx context.Context, oldpath, newpath string) error {
	debug(l.Logger, "rename", "node", l.Endpoint().String(), "from", oldpath, "to", newpath)
	if err := checkPath(newpath); err != nil {
		return err
	}
	if _, err := l.call(ctx, oldpath, func(f fileSystem) (any, error) { return nil, f.rename(oldpath, newpath) }); err != nil {
		return fmt.Errorf("rename %s to %s on %s: %w", oldpath, newpath, l.Endpoint(), err)
	}
	return nil
}

// Rename moves oldpath to newpath over SFTP.
func (s *SSH) Rename(ctx context.Context, oldpath, newpath string) error {
	debug(s.opts.Logger, "rename", "node", s.ep.String(), "from", oldpath, "to", newpath)
	if err := checkPath(newpath); err != nil {
		return err
	}
	if err := s.files(ctx, oldpath, func(f fileSystem) error { return f.rename(oldpath, newpath) }); err != nil {
		return fmt.Errorf("rename %s to %s on %s: %w", oldpath, newpath, s.ep, err)
	}
	return nil
}
