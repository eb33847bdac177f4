package remote

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
)

// globFS matches pattern element by element against f: an element with
// no meta characters is taken as is, one with meta characters is matched
// (path.Match) against the names of the directories reached so far. The
// matches that exist are returned sorted. Like filepath.Glob, * also
// matches names starting with a dot.
func globFS(ctx context.Context, f fileSystem, pattern string) ([]string, error) {
	if err := checkPath(pattern); err != nil {
		return nil, err
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	cands := []string{"/"}
	for _, elem := range strings.Split(strings.TrimPrefix(pattern, "/"), "/") {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var next []string
		for _, dir := range cands {
			if !hasMeta(elem) {
				next = append(next, path.Join(dir, elem))
				continue
			}
			names, err := f.readDirNames(dir)
			if err != nil {
				if isNotExist(err) || !isDir(f, dir) {
					continue
				}
				return nil, fmt.Errorf("list %s: %w", dir, err)
			}
			for _, n := range names {
				if ok, _ := path.Match(elem, n); ok {
					next = append(next, path.Join(dir, n))
				}
			}
		}
		cands = next
	}
	out := []string{}
	for _, c := range cands {
		fi, err := f.lstat(c)
		if err != nil {
			return nil, err
		}
		if fi.Exists {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out, nil
}

func hasMeta(s string) bool {
	return strings.ContainsAny(s, `*?[\`)
}

// isDir reports whether p is a directory (or a symlink to one): a listing
// that failed on anything else simply matches nothing below it.
func isDir(f fileSystem, p string) bool {
	fi, err := statFollow(f, p)
	return err != nil || (fi.Exists && fi.Mode.IsDir())
}
