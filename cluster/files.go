package cluster

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Files is read-only access to one node's files. Paths are absolute, with
// forward slashes, as on the node. The rollout adapts its SSH or local node
// to it (remote.Node satisfies it); tests use MemFiles and remote.Local.
type Files interface {
	// ReadFile returns the content of a file; a missing file is an error
	// that wraps fs.ErrNotExist.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Glob returns the paths matching a path.Match pattern, sorted; no
	// match is no error.
	Glob(ctx context.Context, pattern string) ([]string, error)
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
