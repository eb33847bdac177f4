package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// The atom rule of the renderer: hashes, tokens, paths and commands are
// atoms. Text wraps only at spaces between atoms, never inside one, and
// never with a hard newline in the middle of one. An atom that does not fit
// after the indent stands on a line of its own; one wider than the screen
// is shown shortened in the middle with "…", and `w` (whole lines) prints
// every line of the screen unshortened on the normal screen, where the
// terminal soft-wraps it (bubbletea v1's renderer cuts every line at the
// terminal width, so inside the wizard's screen a soft wrap is impossible).

// ellipsis marks a value shown shortened.
const ellipsis = "…"

// commandHeads start a command inside prose, with the words that may follow
// them (nil: any).
var commandHeads = map[string][]string{
	"systemctl":  {"start", "stop", "restart", "status", "is-active"},
	"rc-service": nil,
	"touch":      nil,
	"chmod":      nil,
	"rm":         {"-rf", "-r", "-f"},
	"mv":         nil,
	"cp":         nil,
	"kubectl":    nil,
	"openssl":    nil,
	"k3s":        {"certificate", "token", "server", "agent", "etcd-snapshot", "kubectl"},
	"k3sca":      {"check", "generate", "validate", "token", "rotate", "load", "datastore", "run", "sandbox", "wizard"},
}

// commandEnds are words that end a command without being part of it.
var commandEnds = map[string]bool{"&&": true, "||": true, "then": true, "and": true, "or": true, "wait": true, "—": true, "|": true}

// maxCommandWords bounds a command found in prose.
const maxCommandWords = 10

// units splits text into the pieces wrapping keeps whole: a command (from
// its head to a word that ends in ";", "," or ")", or before a word that
// ends it), a `backticked` span, or one word. Spaces between units are the
// only places a line may break.
func units(text string) []string {
	words := strings.Fields(text)
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case strings.HasPrefix(w, "`") && strings.Count(w, "`")%2 == 1:
			j := i + 1
			for j < len(words) && strings.Count(words[j], "`")%2 == 0 {
				j++
			}
			if j < len(words) {
				out = append(out, strings.Join(words[i:j+1], " "))
				i = j
				continue
			}
		case isCommandHead(words, i):
			j := i
			for j+1 < len(words) && j-i+1 < maxCommandWords && !endsCommand(words[j]) && !commandEnds[words[j+1]] && !strings.HasPrefix(words[j+1], "(") {
				j++
			}
			out = append(out, strings.Join(words[i:j+1], " "))
			i = j
			continue
		}
		out = append(out, w)
	}
	return out
}

// isCommandHead reports whether words[i] starts a command.
func isCommandHead(words []string, i int) bool {
	next, ok := commandHeads[strings.TrimLeft(words[i], "(")]
	if !ok || i+1 >= len(words) || endsCommand(words[i]) {
		return false
	}
	if next == nil {
		return true
	}
	for _, n := range next {
		if strings.TrimRight(words[i+1], ";,)") == n {
			return true
		}
	}
	return false
}

// endsCommand reports whether a command ends with word.
func endsCommand(word string) bool {
	return strings.HasSuffix(word, ";") || strings.HasSuffix(word, ",") || strings.HasSuffix(word, ")")
}

// wrapAtoms wraps text to width with prefix on the first line and as many
// spaces on the next ones, breaking only between units. A unit that does
// not fit after the indent goes on a line of its own without it; one wider
// than width is shortened in the middle (elide).
func wrapAtoms(prefix, text string, width int) string {
	width = max(width, 10)
	// Leading spaces of the text are part of its first line's prefix
	// (indented detail lines stay indented).
	lead := text[:len(text)-len(strings.TrimLeft(text, " "))]
	prefix += lead
	indent := strings.Repeat(" ", ansi.StringWidth(prefix))
	var lines []string
	cur, curW, empty := prefix, ansi.StringWidth(prefix), true
	newLine := func() { cur, curW, empty = indent, len(indent), true }
	for _, u := range units(text) {
		uw := ansi.StringWidth(u)
		switch {
		case !empty && curW+1+uw <= width:
			cur, curW = cur+" "+u, curW+1+uw
			continue
		case empty && curW+uw <= width:
			cur, curW, empty = cur+u, curW+uw, false
			continue
		}
		if !empty {
			lines = append(lines, cur)
			newLine()
		}
		if curW+uw <= width {
			cur, curW, empty = cur+u, curW+uw, false
			continue
		}
		// Not even after the indent: a line of its own from the first
		// column, shortened when wider than the screen.
		if strings.TrimSpace(cur) != "" {
			lines = append(lines, cur)
		}
		lines = append(lines, elide(u, width))
		newLine()
	}
	if !empty || len(lines) == 0 {
		lines = append(lines, cur)
	}
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}

// elide shortens s to n cells by cutting out its middle, marked "…": both
// ends of a path, hash or token stay recognisable.
func elide(s string, n int) string {
	if ansi.StringWidth(s) <= n {
		return s
	}
	if n <= 1 {
		return ellipsis[:min(len(ellipsis), n*len(ellipsis))]
	}
	r := []rune(s)
	keep := n - 1
	head := keep / 2
	tail := keep - head
	return string(r[:head]) + ellipsis + string(r[len(r)-tail:])
}

// cutWords shortens prose to n cells at a space, marked "…" (the step
// list's tails; the panel and `w` show them whole).
func cutWords(s string, n int) string {
	if ansi.StringWidth(s) <= n {
		return s
	}
	us := units(s)
	out := ""
	for _, u := range us {
		next := u
		if out != "" {
			next = out + " " + u
		}
		if ansi.StringWidth(next)+2 > n {
			break
		}
		out = next
	}
	if out == "" {
		return ellipsis
	}
	return out + " " + ellipsis
}
