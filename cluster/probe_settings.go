package cluster

import (
	"fmt"
	"path"
	"strings"
)

// evidence is one value of a setting and where it was set; rank orders
// k3s's precedence: command-line flags over config files over env vars.
type evidence struct {
	value  string
	source string
	rank   int
}

// Ranks of evidence.
const (
	rankEnv = iota
	rankConfig
	rankFlag
)

// best is the value k3s uses: the highest rank, the last of equals.
func best(ev []evidence) (evidence, bool) {
	if len(ev) == 0 {
		return evidence{}, false
	}
	b := ev[0]
	for _, e := range ev[1:] {
		if e.rank >= b.rank {
			b = e
		}
	}
	return b, true
}

// tokenFileRef is a token-file setting: the file holds the token.
type tokenFileRef struct {
	path    string
	key     string
	purpose Purpose
	via     string
}

// setting records one k3s setting, by canonical flag name, from any source.
func (pr *prober) setting(file string, content []byte, kind Kind, name, key string, val word, src string, rank int) {
	value := string(val.b)
	switch name {
	case "token", "agent-token":
		if value == "" {
			return
		}
		purpose := PurposeJoin
		if name == "agent-token" {
			purpose = PurposeAgent
		}
		pr.res.Places = append(pr.res.Places, newPlace(file, content, kind, key, purpose, val))
	case "token-file", "agent-token-file":
		if value == "" {
			return
		}
		if val.dynamic {
			pr.problem("%s: the path uses $ or ` expansion; k3sca cannot follow it", src)
			return
		}
		purpose := PurposeJoin
		if name == "agent-token-file" {
			purpose = PurposeAgent
		}
		pr.refs = append(pr.refs, tokenFileRef{path: absPath(value), key: key, purpose: purpose, via: src})
	case "config":
		if value != "" && !val.dynamic {
			pr.configPaths = append(pr.configPaths, absPath(value))
		}
	case "datastore-endpoint":
		pr.endpoints = append(pr.endpoints, evidence{value: value, source: src, rank: rank})
	case "cluster-init":
		pr.clusterInit = append(pr.clusterInit, evidence{value: value, source: src, rank: rank})
	case "data-dir":
		if value != "" && !val.dynamic {
			pr.dataDirs = append(pr.dataDirs, evidence{value: absPath(value), source: src, rank: rank})
		}
	}
}

// absPath resolves a relative path against "/", the working directory
// of a service.
func absPath(p string) string { return path.Join("/", p) }

// assignment records an environment variable that sets a k3s flag.
func (pr *prober) assignment(file string, content []byte, kind Kind, a assignment) {
	name, ok := strings.CutPrefix(a.name, pr.lay.envPrefix)
	if !ok {
		return
	}
	flag := map[string]string{
		"TOKEN":              "token",
		"AGENT_TOKEN":        "agent-token",
		"TOKEN_FILE":         "token-file",
		"AGENT_TOKEN_FILE":   "agent-token-file",
		"CONFIG_FILE":        "config",
		"DATASTORE_ENDPOINT": "datastore-endpoint",
		"CLUSTER_INIT":       "cluster-init",
		"DATA_DIR":           "data-dir",
	}[name]
	if flag == "" {
		return
	}
	src := fmt.Sprintf("%s in %s line %d", a.name, file, a.line)
	pr.setting(file, content, kind, flag, a.name, a.value, src, rankEnv)
}
