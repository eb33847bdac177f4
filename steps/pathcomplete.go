package steps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"
)

// MaxCompletions caps the candidates CompletePath returns.
const MaxCompletions = 50

// CompletePath completes a typed path the way a shell does: the entries of
// the typed dir whose names start with the typed base, each returned as the
// typed dir plus the name, directories with a trailing "/". Hidden entries
// are offered only when the base starts with "."; dirsOnly leaves out
// everything but directories (and symlinks to them). A leading "~/" is the
// home dir and stays "~/" in the candidates. The result is sorted and holds
// at most MaxCompletions; a dir that does not exist yields none.
func CompletePath(prefix string, dirsOnly bool) ([]string, error) {
	typedDir, base := splitTyped(prefix)
	dir, err := expandHome(typedDir)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("complete %q: %w", prefix, err)
	}
	showHidden := strings.HasPrefix(base, ".")
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (!showHidden && strings.HasPrefix(name, ".")) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(filepath.Join(dir, name))
			isDir = err == nil && fi.IsDir()
		}
		switch {
		case isDir:
			out = append(out, typedDir+name+"/")
		case !dirsOnly:
			out = append(out, typedDir+name)
		}
	}
	sort.Strings(out)
	if len(out) > MaxCompletions {
		out = out[:MaxCompletions]
	}
	return out, nil
}

// splitTyped splits a typed path after its last "/": "a/b" is "a/", "b";
// "a/" is "a/", ""; "b" is "", "b".
func splitTyped(prefix string) (dir, base string) {
	i := strings.LastIndex(prefix, "/")
	return prefix[:i+1], prefix[i+1:]
}

// expandHome resolves a leading "~/" to the home dir.
func expandHome(dir string) (string, error) {
	if !strings.HasPrefix(dir, "~/") {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("complete %s: %w", dir, err)
	}
	return home + strings.TrimPrefix(dir, "~"), nil
}

// CommonPrefix is the longest prefix shared by every candidate, cut at a
// character boundary; "" for none.
func CommonPrefix(cands []string) string {
	if len(cands) == 0 {
		return ""
	}
	p := cands[0]
	for _, c := range cands[1:] {
		n := 0
		for n < len(p) && n < len(c) && p[n] == c[n] {
			n++
		}
		p = p[:n]
	}
	for len(p) > 0 {
		if r, size := utf8.DecodeLastRuneInString(p); r != utf8.RuneError || size > 1 {
			break
		}
		p = p[:len(p)-1]
	}
	return p
}
