package cluster

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// lineBounds are the [start, end) offsets of each line of b, without its
// line ending ("\n" or "\r\n").
func lineBounds(b []byte) [][2]int {
	var out [][2]int
	for i := 0; i < len(b); {
		e := lineEnd(b, i)
		c := e
		if c > i && b[c-1] == '\n' {
			c--
		}
		if c > i && b[c-1] == '\r' {
			c--
		}
		out = append(out, [2]int{i, c})
		i = e
	}
	return out
}

// renderDiff is a unified diff of the lines holding the edited offsets,
// every secret masked. Edits keep the length of the file, so a line has
// the same bounds before and after.
func renderDiff(path string, old, updated []byte, edited []int, spans []secretSpan) string {
	lines := lineBounds(old)
	var changed []int
	for _, off := range edited {
		for i, l := range lines {
			if off >= l[0] && off < l[1] && !slices.Contains(changed, i) {
				changed = append(changed, i)
			}
		}
	}
	slices.Sort(changed)
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", path, path)
	for i := 0; i < len(changed); {
		j := i
		for j+1 < len(changed) && changed[j+1] == changed[j]+1 {
			j++
		}
		first, n := changed[i]+1, j-i+1
		if n == 1 {
			fmt.Fprintf(&b, "@@ -%d +%d @@\n", first, first)
		} else {
			fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", first, n, first, n)
		}
		for k := i; k <= j; k++ {
			l := lines[changed[k]]
			fmt.Fprintf(&b, "-%s\n", maskLine(old, l[0], l[1], spans, false))
		}
		for k := i; k <= j; k++ {
			l := lines[changed[k]]
			fmt.Fprintf(&b, "+%s\n", maskLine(updated, l[0], l[1], spans, true))
		}
		i = j + 1
	}
	if bytes.Contains(old, []byte("\r\n")) {
		b.WriteString("(CRLF line endings kept)\n")
	}
	return b.String()
}
