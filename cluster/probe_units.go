package cluster

import (
	"fmt"
	"path"
	"strings"
)

// units reads the product's systemd units and their drop-ins.
func (pr *prober) units() error {
	var units []string
	for _, g := range pr.lay.unitGlobs() {
		m, err := pr.glob(g)
		if err != nil {
			return err
		}
		units = append(units, m...)
	}
	for _, u := range units {
		if _, ok, err := pr.read(u); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		name := strings.TrimSuffix(path.Base(u), ".service")
		if r, ok := pr.lay.roleOfUnit(name); ok {
			pr.res.Roles = append(pr.res.Roles, Fact[Role]{Value: r, Source: "unit " + u})
		}
		for _, e := range pr.lay.envFiles(name, path.Dir(u)) {
			pr.addEnv(e, systemdQuoting)
		}
		files := []string{u}
		dropIns, err := pr.glob(dropInGlob(u))
		if err != nil {
			return err
		}
		files = append(files, dropIns...)
		for _, file := range files {
			b, ok, err := pr.read(file)
			if err != nil {
				return err
			}
			if ok {
				pr.unitFile(file, u, b)
			}
		}
	}
	for _, e := range pr.lay.defaultEnvFiles() {
		pr.addEnv(e, systemdQuoting)
	}
	return nil
}

// unitFile reads one unit file or drop-in of unit u.
func (pr *prober) unitFile(file, u string, content []byte) {
	entries := parseUnit(content)
	for _, c := range unitCommands(entries) {
		pr.commandLine(file, content, KindUnitExec, "ExecStart of "+file, c.argv)
	}
	for _, a := range unitEnvironment(entries) {
		pr.assignment(file, content, KindUnitEnv, a)
	}
	for _, e := range unitEnvironmentFiles(entries, u) {
		pr.addEnv(e, systemdQuoting)
	}
}

// commandLine reads the subcommand and the flags of a k3s command line.
func (pr *prober) commandLine(file string, content []byte, kind Kind, what string, argv []word) {
	sub, hits := scanArgs(content, argv)
	switch Role(sub) {
	case RoleServer, RoleAgent:
		pr.res.Roles = append(pr.res.Roles, Fact[Role]{Value: Role(sub), Source: fmt.Sprintf("%s (%s %s)", what, pr.lay.p.Name(), sub)})
	}
	for _, h := range hits {
		src := fmt.Sprintf("%s in %s line %d", h.written, what, h.line)
		pr.setting(file, content, kind, h.name, h.written, h.value, src, rankFlag)
	}
}

// openRC reads the product's OpenRC scripts: command_args and the
// variables they set, and notes the env file install.sh makes them source.
func (pr *prober) openRC() error {
	scripts, err := pr.glob(pr.lay.initGlob)
	if err != nil {
		return err
	}
	for _, s := range scripts {
		content, ok, err := pr.read(s)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if r, ok := pr.lay.roleOfUnit(path.Base(s)); ok {
			pr.res.Roles = append(pr.res.Roles, Fact[Role]{Value: r, Source: "OpenRC script " + s})
		}
		pr.addEnv(pr.lay.openRCEnvFile(s), shellQuoting)
		for _, a := range parseAssignments(content, shellQuoting) {
			if a.name != "command_args" {
				pr.assignment(s, content, KindOpenRC, a)
				continue
			}
			if a.value.dynamic {
				pr.problem("%s line %d: command_args uses $ or ` expansion; read as written", s, a.line)
			}
			args, _ := splitAllWords(a.value.text)
			argv := append([]word{{}}, args...)
			pr.commandLine(s, content, KindOpenRC, "command_args of "+s, argv)
		}
	}
	return nil
}

// splitAllWords splits t into shell words across all its lines, the way
// OpenRC's eval of command_args does.
func splitAllWords(t text) ([]word, int) {
	var out []word
	i := 0
	for i < len(t.b) {
		w, next := splitCommand(t, i, shellQuoting)
		out = append(out, w...)
		if next <= i {
			break
		}
		i = next
	}
	return out, i
}
