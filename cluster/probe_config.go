package cluster

import (
	"bytes"
	"fmt"
	"strings"
)

// configs reads the config file (the default and any named by --config or
// <P>_CONFIG_FILE) and its drop-ins.
func (pr *prober) configs() error {
	paths := append([]string{pr.lay.p.ConfigFile()}, pr.configPaths...)
	seen := map[string]bool{}
	for _, cfg := range paths {
		if seen[cfg] {
			continue
		}
		seen[cfg] = true
		files := []string{cfg}
		dropIns, err := pr.glob(cfg + ".d/*")
		if err != nil {
			return err
		}
		for _, d := range dropIns {
			lower := strings.ToLower(d)
			if strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml") {
				files = append(files, d)
			}
		}
		for _, file := range files {
			content, ok, err := pr.read(file)
			if err != nil {
				return err
			}
			if ok {
				pr.configFile(file, content)
			}
		}
	}
	return nil
}

func (pr *prober) configFile(file string, content []byte) {
	entries, err := parseConfig(content)
	if err != nil {
		pr.problem("%s: %v", file, err)
		return
	}
	for _, e := range entries {
		name, ok := flagAliases[e.key]
		if !ok || name == "config" {
			continue
		}
		val := word{text: e.raw}
		if e.raw.b == nil {
			val.text = text{b: []byte(e.value), offs: unknownOffsets(len(e.value))}
		}
		src := fmt.Sprintf("%s in %s line %d", e.key, file, e.line)
		before := len(pr.res.Places)
		pr.setting(file, content, KindConfig, name, e.key, val, src, rankConfig)
		if len(pr.res.Places) > before {
			pr.res.Places[len(pr.res.Places)-1].Line = e.line
		}
	}
}

// unknownOffsets marks bytes whose place in the file is not known.
func unknownOffsets(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = -1
	}
	return o
}

// tokenFiles reads the files that token-file settings name.
func (pr *prober) tokenFiles() error {
	for _, r := range pr.refs {
		content, ok, err := pr.read(r.path)
		if err != nil {
			return err
		}
		if !ok {
			pr.problem("token file %s (named by %s) does not exist", r.path, r.via)
			continue
		}
		start := len(content) - len(bytes.TrimLeft(content, " \t\r\n"))
		end := len(bytes.TrimRight(content, " \t\r\n"))
		if end <= start {
			pr.problem("token file %s (named by %s) is empty", r.path, r.via)
			continue
		}
		p := newPlace(r.path, content, KindTokenFile, r.key, r.purpose, word{text: rawText(content, start, end)})
		p.Via = r.via
		pr.res.Places = append(pr.res.Places, p)
	}
	return nil
}
