package cluster

import (
	"bytes"
	"path"
	"strings"
)

// unitEntry is one Key=Value line of a systemd unit file; value is the raw
// region after '=' up to the end of the logical line (continuations
// included), with file offsets.
type unitEntry struct {
	section string
	key     string
	value   text
	line    int
}

// parseUnit reads the entries of a systemd unit file or drop-in. Lines
// ending in a backslash continue on the next line, as systemd reads them.
func parseUnit(file []byte) []unitEntry {
	var out []unitEntry
	section := ""
	for i := 0; i < len(file); {
		ls := i
		le := lineEnd(file, i)
		i = le
		content := bytes.TrimSpace(file[ls:le])
		if len(content) == 0 || content[0] == '#' || content[0] == ';' {
			continue
		}
		if content[0] == '[' {
			if j := bytes.IndexByte(content, ']'); j > 0 {
				section = string(content[1:j])
			}
			continue
		}
		eq := bytes.IndexByte(file[ls:le], '=')
		if eq < 0 {
			continue
		}
		key := string(bytes.TrimSpace(file[ls : ls+eq]))
		vs := skipBlanks(file, ls+eq+1)
		last, end := ls, le
		for endsWithBackslash(file[last:end]) && end < len(file) {
			last, end = end, lineEnd(file, end)
		}
		i = end
		ve := end
		for ve > vs && (file[ve-1] == '\n' || file[ve-1] == '\r') {
			ve--
		}
		if ve < vs {
			ve = vs
		}
		out = append(out, unitEntry{section: section, key: key, value: rawText(file, vs, ve), line: lineOf(file, ls)})
	}
	return out
}

// endsWithBackslash reports a line (with its newline) ending in '\'.
func endsWithBackslash(line []byte) bool {
	line = bytes.TrimRight(line, "\r\n")
	return len(line) > 0 && line[len(line)-1] == '\\'
}

// execStart is one ExecStart command line of a unit.
type execStart struct {
	argv []word
	line int
}

// unitCommands are the ExecStart lines of the [Service] sections, in file
// order; an empty ExecStart= (a drop-in's reset) drops the ones before it.
func unitCommands(entries []unitEntry) []execStart {
	var out []execStart
	for _, e := range entries {
		if e.section != "Service" || e.key != "ExecStart" {
			continue
		}
		words, _ := splitCommand(e.value, 0, systemdQuoting)
		if len(words) == 0 {
			out = nil
			continue
		}
		for len(words[0].b) > 0 && strings.IndexByte("-@:+!", words[0].b[0]) >= 0 {
			words[0].text = words[0].slice(1, len(words[0].b))
		}
		out = append(out, execStart{argv: words, line: e.line})
	}
	return out
}

// unitEnvironment is the Environment= assignments of the [Service] sections.
func unitEnvironment(entries []unitEntry) []assignment {
	var out []assignment
	for _, e := range entries {
		if e.section != "Service" || e.key != "Environment" {
			continue
		}
		words, _ := splitCommand(e.value, 0, systemdQuoting)
		for _, w := range words {
			if name, val, ok := splitAssignment(w); ok {
				out = append(out, assignment{name: name, value: val, line: e.line})
			}
		}
	}
	return out
}

// unitEnvironmentFiles is the EnvironmentFile= paths of the [Service]
// sections, with the specifiers of the unit name expanded (%N, %n, %p,
// %%). A path with another specifier is skipped.
func unitEnvironmentFiles(entries []unitEntry, unitFile string) []string {
	name := path.Base(unitFile)
	prefix := strings.TrimSuffix(name, ".service")
	var out []string
	for _, e := range entries {
		if e.section != "Service" || e.key != "EnvironmentFile" {
			continue
		}
		p := strings.TrimPrefix(strings.TrimSpace(string(e.value.b)), "-")
		r := strings.NewReplacer("%N", prefix, "%n", name, "%p", prefix, "%%", "%")
		p = r.Replace(p)
		if strings.Contains(p, "%") || !strings.HasPrefix(p, "/") {
			continue
		}
		out = append(out, p)
	}
	return out
}
