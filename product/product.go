// Package product is the one place that knows the names that differ between
// k3s and rke2: data dir, certificate CN prefixes, supervisor endpoint paths,
// RBAC role names and systemd units.
package product

import (
	"fmt"
	"path/filepath"
)

// Product identifies the Kubernetes distribution whose PKI k3sca manages.
type Product struct {
	name string
}

// K3s is the default product.
var K3s = Product{name: "k3s"}

// RKE2 is Rancher's RKE2 distribution, which shares k3s's supervisor code.
var RKE2 = Product{name: "rke2"}

// Names lists the accepted product names, default first.
var Names = []string{"k3s", "rke2"}

// Parse returns the product for a name; the empty string means k3s.
func Parse(name string) (Product, error) {
	switch name {
	case "", "k3s":
		return K3s, nil
	case "rke2":
		return RKE2, nil
	}
	return Product{}, fmt.Errorf("unknown product %q: want one of %v", name, Names)
}

// Name is the program name, "k3s" or "rke2".
func (p Product) Name() string {
	if p.name == "" {
		return "k3s"
	}
	return p.name
}

// String implements fmt.Stringer.
func (p Product) String() string { return p.Name() }

// DefaultDataDir is the data dir the product uses when run as root.
func (p Product) DefaultDataDir() string {
	return filepath.Join("/var/lib/rancher", p.Name())
}

// ServerDir is the server directory (called D in the spec) inside a data dir.
func ServerDir(dataDir string) string { return filepath.Join(dataDir, "server") }

// CAPrefix is the CN prefix of CAs that carry the program name
// ("k3s-server-ca@..."). etcd CAs have no prefix.
func (p Product) CAPrefix() string { return p.Name() + "-" }

// SupervisorPath builds a supervisor endpoint path such as
// "/v1-k3s/cert/cacerts" from its suffix "cert/cacerts".
func (p Product) SupervisorPath(suffix string) string {
	return "/v1-" + p.Name() + "/" + suffix
}

// CACertsPath is the endpoint that k3s certificate rotate-ca PUTs to.
func (p Product) CACertsPath() string { return p.SupervisorPath("cert/cacerts") }

// ServerRole is the group a user needs for server-only supervisor endpoints.
func (p Product) ServerRole() string { return p.Name() + ":server" }

// AgentRole is the group of the node password user.
func (p Product) AgentRole() string { return p.Name() + ":agent" }

// ServerUnit is the systemd unit of a server node.
func (p Product) ServerUnit() string {
	if p.Name() == "rke2" {
		return "rke2-server"
	}
	return "k3s"
}

// AgentUnit is the systemd unit of an agent node.
func (p Product) AgentUnit() string { return p.Name() + "-agent" }

// SupervisorPort is the port a server's supervisor serves /cacerts on:
// 6443 for k3s, 9345 for rke2.
func (p Product) SupervisorPort() int {
	if p.Name() == "rke2" {
		return 9345
	}
	return 6443
}

// ConfigFile is the config file the product's server reads at start.
func (p Product) ConfigFile() string {
	return filepath.Join("/etc/rancher", p.Name(), "config.yaml")
}

// AdminKubeconfig is the admin kubeconfig a server writes at each start:
// /etc/rancher/k3s/k3s.yaml, /etc/rancher/rke2/rke2.yaml.
func (p Product) AdminKubeconfig() string {
	return filepath.Join("/etc/rancher", p.Name(), p.Name()+".yaml")
}
