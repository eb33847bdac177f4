package cluster

// text is a string and, for each of its bytes, the offset in the file it
// came from. Unquoting keeps the offsets, so a token found in an unquoted
// word can be edited in the raw file without touching quotes or escapes.
type text struct {
	b    []byte
	offs []int
}

// rawText is file bytes [from, to) with their own offsets.
func rawText(file []byte, from, to int) text {
	t := text{b: file[from:to], offs: make([]int, to-from)}
	for i := range t.offs {
		t.offs[i] = from + i
	}
	return t
}

// slice is t[i:j].
func (t text) slice(i, j int) text { return text{b: t.b[i:j], offs: t.offs[i:j]} }

// literal reports whether bytes [i, j) of t are the same bytes in file at
// consecutive offsets: no quote, escape or line continuation in between.
func (t text) literal(file []byte, i, j int) bool {
	if i >= j || j > len(t.b) {
		return false
	}
	start := t.offs[i]
	for k := i; k < j; k++ {
		o := t.offs[k]
		if o < 0 || o != start+(k-i) || o >= len(file) || file[o] != t.b[k] {
			return false
		}
	}
	return true
}

// span is the raw file range [start, end) the bytes of t came from.
func (t text) span() (int, int) {
	if len(t.offs) == 0 {
		return 0, 0
	}
	return t.offs[0], t.offs[len(t.offs)-1] + 1
}

// word is one shell or systemd word, unquoted.
type word struct {
	text
	// dynamic is set when the word uses $ or ` expansion, so its value at
	// run time is not the text.
	dynamic bool
}

// quoting selects the word rules.
type quoting int

const (
	// shellQuoting is POSIX sh: OpenRC scripts and env files they source.
	shellQuoting quoting = iota
	// systemdQuoting is systemd's: unit files and EnvironmentFile files.
	systemdQuoting
)

// splitCommand reads the words of one command from t starting at i. It
// stops after an unquoted newline (or ';', '&', '|' in shell) and returns
// the words and the index after the command. A line continuation
// (backslash, newline) joins lines: in shell it vanishes, in systemd it is
// a blank. A '#' that starts a word starts a comment (in systemd only at
// the start of the command).
func splitCommand(t text, i int, q quoting) ([]word, int) {
	var words []word
	var cur word
	inWord := false
	add := func(k int) {
		cur.b = append(cur.b, t.b[k])
		cur.offs = append(cur.offs, t.offs[k])
		inWord = true
	}
	flush := func() {
		if inWord {
			words = append(words, cur)
		}
		cur, inWord = word{}, false
	}
	n := len(t.b)
	for i < n {
		c := t.b[i]
		switch {
		case c == '\n':
			flush()
			return words, i + 1
		case c == ' ' || c == '\t' || c == '\r':
			flush()
			i++
		case c == '#' && !inWord && (q == shellQuoting || len(words) == 0):
			for i < n && t.b[i] != '\n' {
				i++
			}
		case q == shellQuoting && (c == ';' || c == '&' || c == '|'):
			flush()
			return words, i + 1
		case c == '\\':
			if j, ok := continuation(t.b, i); ok {
				if q == systemdQuoting {
					flush()
				}
				i = j
				continue
			}
			if i+1 < n {
				if q == systemdQuoting {
					cur.dynamic = cur.dynamic || !isPlainEscape(t.b[i+1])
				}
				add(i + 1)
				i += 2
				continue
			}
			i++
		case c == '\'':
			inWord = true
			i++
			for i < n && t.b[i] != '\'' {
				add(i)
				i++
			}
			i++
		case c == '"':
			inWord = true
			i = readDoubleQuoted(t, i+1, q, &cur, add)
		case c == '$' || c == '`' && q == shellQuoting:
			cur.dynamic = true
			add(i)
			i++
		default:
			add(i)
			i++
		}
	}
	flush()
	return words, n
}

// readDoubleQuoted reads a double-quoted string from t at i (after the
// opening quote) and returns the index after the closing quote.
func readDoubleQuoted(t text, i int, q quoting, cur *word, add func(int)) int {
	n := len(t.b)
	for i < n && t.b[i] != '"' {
		c := t.b[i]
		switch {
		case c == '\\':
			if j, ok := continuation(t.b, i); ok {
				i = j
				continue
			}
			if i+1 < n && (q == systemdQuoting || isShellDQEscape(t.b[i+1])) {
				if q == systemdQuoting && !isPlainEscape(t.b[i+1]) {
					cur.dynamic = true
				}
				add(i + 1)
				i += 2
				continue
			}
			add(i)
			i++
		case c == '$' || c == '`' && q == shellQuoting:
			cur.dynamic = true
			add(i)
			i++
		default:
			add(i)
			i++
		}
	}
	return i + 1
}

// continuation reports a backslash at i that ends its line ("\\\n" or
// "\\\r\n") and returns the index after the newline.
func continuation(b []byte, i int) (int, bool) {
	if i+1 < len(b) && b[i+1] == '\n' {
		return i + 2, true
	}
	if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
		return i + 3, true
	}
	return 0, false
}

// isShellDQEscape is a character a backslash escapes inside sh double quotes.
func isShellDQEscape(c byte) bool { return c == '$' || c == '`' || c == '"' || c == '\\' }

// isPlainEscape is a systemd escape that stands for the character itself.
func isPlainEscape(c byte) bool { return c == '\\' || c == '"' || c == '\'' || c == ' ' }
