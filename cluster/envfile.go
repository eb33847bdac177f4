package cluster

import "bytes"

// assignment is NAME=value in an environment file or a shell script.
type assignment struct {
	name  string
	value word
	line  int
}

// parseAssignments finds the variable assignments of an environment file
// (systemd's EnvironmentFile format, or sh for OpenRC): NAME=value with
// the value unquoted ("...", '...', backslashes), an "export" prefix
// tolerated, comments (#, and ; in systemd) skipped. In a shell script only
// the assignments that start a command count.
func parseAssignments(file []byte, q quoting) []assignment {
	if q == systemdQuoting {
		return parseSystemdEnv(file)
	}
	var out []assignment
	all := rawText(file, 0, len(file))
	for i := 0; i < len(file); {
		words, next := splitCommand(all, i, shellQuoting)
		if next <= i {
			break
		}
		i = next
		if len(words) > 0 && string(words[0].b) == "export" {
			words = words[1:]
		}
		for _, w := range words {
			name, val, ok := splitAssignment(w)
			if !ok {
				break
			}
			out = append(out, assignment{name: name, value: val, line: lineOf(file, w.offs[0])})
		}
	}
	return out
}

// parseSystemdEnv reads an EnvironmentFile the way systemd does: one
// KEY=VALUE per line, blanks around the key and after '=' ignored, the
// value quoted or not, a trailing backslash continuing it.
func parseSystemdEnv(file []byte) []assignment {
	var out []assignment
	all := rawText(file, 0, len(file))
	for i := 0; i < len(file); {
		ls := skipBlanks(file, i)
		le := lineEnd(file, ls)
		if ls >= len(file) || file[ls] == '#' || file[ls] == ';' || file[ls] == '\n' || file[ls] == '\r' {
			i = le
			continue
		}
		eq := bytes.IndexByte(file[ls:le], '=')
		if eq < 0 {
			i = le
			continue
		}
		key := bytes.TrimSpace(file[ls : ls+eq])
		if k, ok := bytes.CutPrefix(key, []byte("export")); ok && len(k) > 0 && (k[0] == ' ' || k[0] == '\t') {
			key = bytes.TrimSpace(k)
		}
		vs := skipBlanks(file, ls+eq+1)
		words, next := splitCommand(all, vs, systemdQuoting)
		if next <= i {
			break
		}
		i = next
		if !isName(key) {
			continue
		}
		out = append(out, assignment{name: string(key), value: joinWords(words), line: lineOf(file, ls)})
	}
	return out
}

// joinWords joins words with single blanks, as systemd keeps the inner
// blanks of an unquoted value; the blanks have no file offset.
func joinWords(words []word) word {
	var w word
	for i, x := range words {
		if i > 0 {
			w.b = append(w.b, ' ')
			w.offs = append(w.offs, -1)
		}
		w.b = append(w.b, x.b...)
		w.offs = append(w.offs, x.offs...)
		w.dynamic = w.dynamic || x.dynamic
	}
	return w
}

// splitAssignment splits a word NAME=value with an unquoted NAME.
func splitAssignment(w word) (string, word, bool) {
	eq := bytes.IndexByte(w.b, '=')
	if eq < 1 || !isName(w.b[:eq]) {
		return "", word{}, false
	}
	val := word{text: w.slice(eq+1, len(w.b)), dynamic: w.dynamic}
	return string(w.b[:eq]), val, true
}

// isName is a shell variable name.
func isName(b []byte) bool {
	for i, c := range b {
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return len(b) > 0
}

func skipBlanks(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// lineEnd is the index after the newline that ends the line holding i.
func lineEnd(b []byte, i int) int {
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(b)
}

// lineOf is the 1-based line number of offset off.
func lineOf(b []byte, off int) int {
	return bytes.Count(b[:min(off, len(b))], []byte{'\n'}) + 1
}
