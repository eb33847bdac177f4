package cluster

import "bytes"

// k3s flag names the probe reads (k3s pkg/cli/cmds: "token,t",
// "token-file", "agent-token", "agent-token-file", "config,c",
// "datastore-endpoint", "data-dir,d", "cluster-init"), by their canonical
// name. The same names are the keys of config.yaml.
var flagAliases = map[string]string{
	"token":              "token",
	"t":                  "token",
	"token-file":         "token-file",
	"agent-token":        "agent-token",
	"agent-token-file":   "agent-token-file",
	"config":             "config",
	"c":                  "config",
	"datastore-endpoint": "datastore-endpoint",
	"data-dir":           "data-dir",
	"d":                  "data-dir",
	"cluster-init":       "cluster-init",
}

// boolFlags take no separate value.
var boolFlags = map[string]bool{"cluster-init": true}

// flagHit is one known flag on a command line.
type flagHit struct {
	// name is the canonical flag name.
	name string
	// written is the flag as written, without its value ("--token", "-t").
	written string
	// value is the flag's value; for a bool flag without "=", "true".
	value word
	// line is where the value starts.
	line int
}

// scanArgs finds the subcommand (the first argument after the program, if
// it is not a flag) and the known flags of a k3s command line. Flags take
// one or two dashes and "=value" or a separate value, as Go's flag
// parsing and urfave/cli accept them.
func scanArgs(file []byte, argv []word) (sub string, hits []flagHit) {
	if len(argv) > 1 && !bytes.HasPrefix(argv[1].b, []byte("-")) {
		sub = string(argv[1].b)
	}
	for i := 1; i < len(argv); i++ {
		w := argv[i]
		if !bytes.HasPrefix(w.b, []byte("-")) || string(w.b) == "-" {
			continue
		}
		if string(w.b) == "--" {
			break
		}
		dashes := 1
		if bytes.HasPrefix(w.b, []byte("--")) {
			dashes = 2
		}
		body := w.slice(dashes, len(w.b))
		name := body.b
		var val word
		hasVal := false
		if eq := bytes.IndexByte(body.b, '='); eq >= 0 {
			name = body.b[:eq]
			val = word{text: body.slice(eq+1, len(body.b)), dynamic: w.dynamic}
			hasVal = true
		}
		canon, ok := flagAliases[string(name)]
		if !ok {
			continue
		}
		written := string(w.b[:dashes]) + string(name)
		if !hasVal {
			if boolFlags[canon] {
				val = word{text: text{b: []byte("true"), offs: []int{-1, -1, -1, -1}}}
			} else if i+1 < len(argv) {
				i++
				val = argv[i]
			} else {
				continue
			}
		}
		line := 0
		if len(val.offs) > 0 && val.offs[0] >= 0 {
			line = lineOf(file, val.offs[0])
		} else if len(w.offs) > 0 {
			line = lineOf(file, w.offs[0])
		}
		hits = append(hits, flagHit{name: canon, written: written, value: val, line: line})
	}
	return sub, hits
}
