package pki

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/k3sca/k3sca/product"
)

// ServiceFile is one file that belongs to a k3s service's leaf certificates.
type ServiceFile struct {
	// Path is relative to the server dir, or to the agent dir when Agent is set.
	Path string
	// Agent marks files under <data-dir>/agent instead of <data-dir>/server.
	Agent bool
}

// Abs resolves the file under a k3s data dir.
func (f ServiceFile) Abs(dataDir string) string {
	base := product.ServerDir(dataDir)
	if f.Agent {
		base = filepath.Join(dataDir, "agent")
	}
	return filepath.Join(base, filepath.FromSlash(f.Path))
}

// Service is one name accepted by `k3s certificate rotate|check --service`.
type Service struct {
	// Name is the service name, e.g. "api-server" or "k3s-server".
	Name string
	// Files are removed by rotate; their .crt files are read by check.
	Files []ServiceFile
	// Server is true for services of the server group, false for the agent group.
	Server bool
	// Regenerate marks the service whose rotation writes dynamic-cert-regenerate.
	Regenerate bool
}

func pair(base string) []ServiceFile {
	return []ServiceFile{{Path: base + ".crt"}, {Path: base + ".key"}}
}

func agentPair(base string) []ServiceFile {
	return []ServiceFile{{Path: base + ".crt", Agent: true}, {Path: base + ".key", Agent: true}}
}

func join(parts ...[]ServiceFile) []ServiceFile {
	var out []ServiceFile
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Services returns the service table of spec 7.1 for a product, sorted by name.
func Services(p product.Product) []Service {
	n := p.Name()
	s := []Service{
		{Name: "admin", Server: true, Files: pair("tls/client-admin")},
		{Name: "api-server", Server: true, Files: join(pair("tls/client-kube-apiserver"), pair("tls/serving-kube-apiserver"))},
		{Name: "controller-manager", Server: true, Files: join(pair("tls/client-controller"), pair("tls/kube-controller-manager/kube-controller-manager"))},
		{Name: "scheduler", Server: true, Files: join(pair("tls/client-scheduler"), pair("tls/kube-scheduler/kube-scheduler"))},
		{Name: "etcd", Server: true, Files: join(pair("tls/etcd/client"), pair("tls/etcd/server-client"), pair("tls/etcd/peer-server-client"))},
		{Name: "cloud-controller", Server: true, Files: pair("tls/client-" + n + "-cloud-controller")},
		{Name: "supervisor", Server: true, Files: pair("tls/client-supervisor")},
		{Name: "auth-proxy", Server: true, Files: pair("tls/client-auth-proxy")},
		{Name: n + "-server", Server: true, Regenerate: true},
		{Name: n + "-controller", Files: join(pair("tls/client-"+n+"-controller"), agentPair("client-"+n+"-controller"))},
		{Name: "kubelet", Files: join(
			[]ServiceFile{{Path: "tls/client-kubelet.key"}, {Path: "tls/serving-kubelet.key"}},
			agentPair("client-kubelet"), agentPair("serving-kubelet"))},
		{Name: "kube-proxy", Files: join(pair("tls/client-kube-proxy"), agentPair("client-kube-proxy"))},
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	return s
}

// ServiceNames lists the valid service names for a product, sorted.
func ServiceNames(p product.Product) []string {
	var names []string
	for _, s := range Services(p) {
		names = append(names, s.Name)
	}
	return names
}

// ErrUnknownService is what an UnknownServiceError matches with errors.Is.
var ErrUnknownService = errors.New("service is not recognized")

// UnknownServiceError names a service k3s does not recognize, in k3s's
// words ("service <s> is not recognized"), with the valid names.
type UnknownServiceError struct {
	// Name is the unrecognized name; Valid the accepted ones.
	Name  string
	Valid []string
}

// Error implements error.
func (e *UnknownServiceError) Error() string {
	return fmt.Sprintf("service %s is not recognized (valid: %s)", e.Name, strings.Join(e.Valid, ", "))
}

// Is makes errors.Is(err, ErrUnknownService) true.
func (e *UnknownServiceError) Is(target error) bool { return target == ErrUnknownService }

// LookupServices resolves service names (empty means all) in the given order,
// rejecting unknown names with the list of valid ones.
func LookupServices(p product.Product, names []string) ([]Service, error) {
	all := Services(p)
	if len(names) == 0 {
		return all, nil
	}
	byName := make(map[string]Service, len(all))
	for _, s := range all {
		byName[s.Name] = s
	}
	var out []Service
	seen := map[string]bool{}
	for _, raw := range names {
		name := strings.TrimSpace(raw)
		if name == "" || seen[name] {
			continue
		}
		s, ok := byName[name]
		if !ok {
			return nil, &UnknownServiceError{Name: name, Valid: ServiceNames(p)}
		}
		seen[name] = true
		out = append(out, s)
	}
	return out, nil
}
