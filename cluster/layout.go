package cluster

import (
	"path"
	"strings"

	"github.com/k3sca/k3sca/product"
)

// layout is where a product keeps what the probe reads.
//
// Sources: k3s's install.sh (k3s-io/k3s, https://get.k3s.io) writes the
// unit to /etc/systemd/system/<name>.service with
// EnvironmentFile=-/etc/default/%N, -/etc/sysconfig/%N and
// -/etc/systemd/system/<name>.service.env, or on OpenRC the script
// /etc/init.d/<name> (command_args) sourcing /etc/rancher/k3s/<name>.env;
// <name> is k3s, k3s-agent or k3s-<INSTALL_K3S_NAME>. rke2's units
// (rancher/rke2 bundle/lib/systemd/system/rke2-server.service) live in
// /usr/local/lib/systemd/system (tarball) or /usr/lib/systemd/system (RPM)
// and read /etc/default/rke2-server, /etc/sysconfig/rke2-server and
// <unit dir>/rke2-server.env. k3s reads config.yaml and then
// config.yaml.d/*.yaml and *.yml in lexical order
// (k3s-io/k3s pkg/configfilearg/parser.go, dotDFiles).
type layout struct {
	p product.Product
	// envPrefix is "K3S_" or "RKE2_", the prefix of the env vars of flags.
	envPrefix string
	// unitDirs are the systemd unit directories, most specific first.
	unitDirs []string
	// units are the unit names always looked for.
	units []string
	// initGlob matches the OpenRC scripts.
	initGlob string
}

func layoutFor(p product.Product) layout {
	name := p.Name()
	return layout{
		p:         p,
		envPrefix: strings.ToUpper(name) + "_",
		unitDirs:  []string{"/etc/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system"},
		units:     []string{p.ServerUnit(), p.AgentUnit()},
		initGlob:  "/etc/init.d/" + name + "*",
	}
}

// unitGlobs match every unit of the product, also those named by
// INSTALL_K3S_NAME.
func (l layout) unitGlobs() []string {
	var out []string
	for _, d := range l.unitDirs {
		out = append(out, path.Join(d, l.p.Name()+"*.service"))
	}
	return out
}

// dropInGlob matches the drop-ins of a unit file.
func dropInGlob(unitFile string) string { return unitFile + ".d/*.conf" }

// envFiles are the environment files a unit reads by convention, whether or
// not its unit file says so (the unit may be missing or unreadable).
func (l layout) envFiles(unit, unitDir string) []string {
	return []string{
		"/etc/default/" + unit,
		"/etc/sysconfig/" + unit,
		path.Join(unitDir, unit+".service.env"),
		path.Join(unitDir, unit+".env"),
	}
}

// defaultEnvFiles are the environment files of the product's standard
// units in its default unit directory.
func (l layout) defaultEnvFiles() []string {
	dir := l.unitDirs[0]
	if l.p.Name() == product.RKE2.Name() {
		dir = l.unitDirs[1]
	}
	var out []string
	for _, u := range l.units {
		out = append(out, l.envFiles(u, dir)...)
	}
	return out
}

// openRCEnvFile is the env file install.sh writes for an OpenRC service.
func (l layout) openRCEnvFile(script string) string {
	return path.Join("/etc/rancher", l.p.Name(), path.Base(script)+".env")
}

// roleOfUnit is the role a unit name stands for, if it is a standard one.
func (l layout) roleOfUnit(unit string) (Role, bool) {
	switch unit {
	case l.p.ServerUnit():
		return RoleServer, true
	case l.p.AgentUnit():
		return RoleAgent, true
	}
	return "", false
}
