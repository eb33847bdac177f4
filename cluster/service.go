package cluster

import (
	"context"
	"path"

	"github.com/k3sca/k3sca/product"
)

// ServiceManager is what runs a node's k3s service.
type ServiceManager string

// Service managers.
const (
	// ManagerSystemd is systemd: systemctl restart / is-active.
	ManagerSystemd ServiceManager = "systemd"
	// ManagerOpenRC is OpenRC: rc-service <unit> restart / status.
	ManagerOpenRC ServiceManager = "openrc"
)

// ServiceManagerOf decides which service manager runs unit on a node from
// the files the install left there (read through f): a systemd unit file
// <unit>.service in one of the product's unit dirs is systemd; else an
// OpenRC script /etc/init.d/<unit> (what install.sh writes on OpenRC
// hosts) is OpenRC; with neither, systemd is assumed, and the source says
// so. The Fact's source names the file that decided.
func ServiceManagerOf(ctx context.Context, f Files, p product.Product, unit string) (Fact[ServiceManager], error) {
	for _, d := range layoutFor(p).unitDirs {
		u := path.Join(d, unit+".service")
		ok, err := exists(ctx, f, u)
		if err != nil {
			return Fact[ServiceManager]{}, err
		}
		if ok {
			return Fact[ServiceManager]{Value: ManagerSystemd, Source: "unit " + u}, nil
		}
	}
	script := path.Join("/etc/init.d", unit)
	ok, err := exists(ctx, f, script)
	if err != nil {
		return Fact[ServiceManager]{}, err
	}
	if ok {
		return Fact[ServiceManager]{Value: ManagerOpenRC, Source: "OpenRC script " + script}, nil
	}
	return Fact[ServiceManager]{Value: ManagerSystemd, Source: "assumed: no " + unit + ".service unit file and no " + script + " found"}, nil
}
