package cluster

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Files is read-only access to one node's files. Paths are absolute, with
// forward slashes, as on the node. The rollout adapts its SSH or local node
// to it; tests use MemFiles, the sandbox DirFiles.
type Files interface {
	// ReadFile returns the content of a file; a missing file is an error
	// that wraps fs.ErrNotExist.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Glob returns the paths matching a path.Match pattern, sorted; no
	// match is no error.
	Glob(ctx context.Context, pattern string) ([]string, error)
}

// DirFiles is a node's file system under a local directory: the node's
// /etc/rancher/k3s/config.yaml is Root/etc/rancher/k3s/config.yaml. An
// empty Root is the local machine's own root.
type DirFiles struct {
	// Root is the directory that stands for the node's "/".
	Root string
}

// local maps a node path to the local path under Root; ".." cannot climb
// above Root.
func (d DirFiles) local(p string) string {
	clean := path.Clean("/" + p)
	if d.Root == "" {
		return filepath.FromSlash(clean)
	}
	return filepath.Join(d.Root, filepath.FromSlash(clean))
}

// ReadFile reads Root+path.
func (d DirFiles) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(d.local(p))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

// Glob matches pattern under Root and returns node paths.
func (d DirFiles) Glob(ctx context.Context, pattern string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root := d.Root
	if root == "" {
		root = "/"
	}
	matches, err := filepath.Glob(filepath.Join(escapeGlob(root), filepath.FromSlash(path.Clean("/"+pattern))))
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		rel, err := filepath.Rel(root, m)
		if err != nil {
			return nil, fmt.Errorf("glob %s: %w", pattern, err)
		}
		out = append(out, "/"+filepath.ToSlash(rel))
	}
	slices.Sort(out)
	return out, nil
}

// escapeGlob quotes the metacharacters of a literal path for filepath.Glob.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// MemFiles is an in-memory node: path to content.
type MemFiles map[string]string

// ReadFile returns the content of path.
func (m MemFiles) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, ok := m[p]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", p, fs.ErrNotExist)
	}
	return []byte(s), nil
}

// Glob matches pattern against the paths of m; a directory matches when a
// file lies under it.
func (m MemFiles) Glob(ctx context.Context, pattern string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	depth := strings.Count(pattern, "/")
	set := map[string]bool{}
	for p := range m {
		parts := strings.Split(p, "/")
		if len(parts) <= depth {
			continue
		}
		cand := strings.Join(parts[:depth+1], "/")
		if ok, _ := path.Match(pattern, cand); ok {
			set[cand] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}
