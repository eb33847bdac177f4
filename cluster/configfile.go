package cluster

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// configEntry is one top-level key of a k3s config file with a scalar
// value. raw is the value's text in the file when it is written literally
// (plain, or quoted without escapes, on one line); otherwise raw is empty
// and the value cannot be edited byte-exactly.
type configEntry struct {
	key   string
	value string
	line  int
	raw   text
	// list is set for a sequence value; value is then its last item,
	// which is what k3s keeps for a string flag given twice.
	list bool
}

// parseConfig reads the top-level keys of a k3s config file
// (config.yaml or a config.yaml.d drop-in). A trailing "+" on a key (k3s's
// append syntax) is dropped. Keys that repeat are all returned, in order:
// k3s keeps the last.
func parseConfig(file []byte) ([]configEntry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(file, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %s", scrubYAMLError(err))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the config is not a mapping of flags", root.Line)
	}
	var out []configEntry
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := strings.TrimSuffix(k.Value, "+")
		switch v.Kind {
		case yaml.ScalarNode:
			out = append(out, scalarEntry(file, key, v))
		case yaml.SequenceNode:
			for _, item := range v.Content {
				if item.Kind == yaml.ScalarNode {
					e := scalarEntry(file, key, item)
					e.list = true
					out = append(out, e)
				}
			}
		}
	}
	return out, nil
}

func scalarEntry(file []byte, key string, v *yaml.Node) configEntry {
	e := configEntry{key: key, value: v.Value, line: v.Line}
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || v.Value == "" {
		return e
	}
	start, ok := offsetOf(file, v.Line, v.Column)
	if !ok {
		return e
	}
	if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		start++
	}
	end := start + len(v.Value)
	if end <= len(file) && bytes.Equal(file[start:end], []byte(v.Value)) && !bytes.ContainsAny(file[start:end], "\r\n") {
		e.raw = rawText(file, start, end)
	}
	return e
}

// offsetOf is the byte offset of a 1-based line and rune column.
func offsetOf(file []byte, line, col int) (int, bool) {
	off := 0
	for l := 1; l < line; l++ {
		j := bytes.IndexByte(file[off:], '\n')
		if j < 0 {
			return 0, false
		}
		off += j + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(file) || file[off] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(file[off:])
		off += size
	}
	return off, true
}
