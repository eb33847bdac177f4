package pki

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/product"
)

// tcServiceTable renders a service's files as spec 7.1 writes them: D/... and A/...
func tcServiceTable(s Service) []string {
	var out []string
	for _, f := range s.Files {
		prefix := "D/"
		if f.Agent {
			prefix = "A/"
		}
		out = append(out, prefix+f.Path)
	}
	return out
}

func TestServicesTable(t *testing.T) {
	tests := []struct {
		p      product.Product
		name   string
		files  []string
		server bool
		regen  bool
	}{
		{product.K3s, "admin", []string{"D/tls/client-admin.crt", "D/tls/client-admin.key"}, true, false},
		{product.K3s, "api-server", []string{"D/tls/client-kube-apiserver.crt", "D/tls/client-kube-apiserver.key", "D/tls/serving-kube-apiserver.crt", "D/tls/serving-kube-apiserver.key"}, true, false},
		{product.K3s, "controller-manager", []string{"D/tls/client-controller.crt", "D/tls/client-controller.key", "D/tls/kube-controller-manager/kube-controller-manager.crt", "D/tls/kube-controller-manager/kube-controller-manager.key"}, true, false},
		{product.K3s, "scheduler", []string{"D/tls/client-scheduler.crt", "D/tls/client-scheduler.key", "D/tls/kube-scheduler/kube-scheduler.crt", "D/tls/kube-scheduler/kube-scheduler.key"}, true, false},
		{product.K3s, "etcd", []string{"D/tls/etcd/client.crt", "D/tls/etcd/client.key", "D/tls/etcd/server-client.crt", "D/tls/etcd/server-client.key", "D/tls/etcd/peer-server-client.crt", "D/tls/etcd/peer-server-client.key"}, true, false},
		{product.K3s, "cloud-controller", []string{"D/tls/client-k3s-cloud-controller.crt", "D/tls/client-k3s-cloud-controller.key"}, true, false},
		{product.K3s, "supervisor", []string{"D/tls/client-supervisor.crt", "D/tls/client-supervisor.key"}, true, false},
		{product.K3s, "auth-proxy", []string{"D/tls/client-auth-proxy.crt", "D/tls/client-auth-proxy.key"}, true, false},
		{product.K3s, "k3s-server", nil, true, true},
		{product.K3s, "k3s-controller", []string{"D/tls/client-k3s-controller.crt", "D/tls/client-k3s-controller.key", "A/client-k3s-controller.crt", "A/client-k3s-controller.key"}, false, false},
		{product.K3s, "kubelet", []string{"D/tls/client-kubelet.key", "D/tls/serving-kubelet.key", "A/client-kubelet.crt", "A/client-kubelet.key", "A/serving-kubelet.crt", "A/serving-kubelet.key"}, false, false},
		{product.K3s, "kube-proxy", []string{"D/tls/client-kube-proxy.crt", "D/tls/client-kube-proxy.key", "A/client-kube-proxy.crt", "A/client-kube-proxy.key"}, false, false},
		{product.RKE2, "rke2-server", nil, true, true},
		{product.RKE2, "rke2-controller", []string{"D/tls/client-rke2-controller.crt", "D/tls/client-rke2-controller.key", "A/client-rke2-controller.crt", "A/client-rke2-controller.key"}, false, false},
		{product.RKE2, "cloud-controller", []string{"D/tls/client-rke2-cloud-controller.crt", "D/tls/client-rke2-cloud-controller.key"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.p.Name()+"/"+tt.name, func(t *testing.T) {
			s, err := LookupServices(tt.p, []string{tt.name})
			if err != nil {
				t.Fatal(err)
			}
			if got := tcServiceTable(s[0]); !reflect.DeepEqual(got, tt.files) {
				t.Errorf("files = %q\nwant %q", got, tt.files)
			}
			if s[0].Server != tt.server || s[0].Regenerate != tt.regen {
				t.Errorf("Server %v Regenerate %v", s[0].Server, s[0].Regenerate)
			}
		})
	}
	for _, p := range []product.Product{product.K3s, product.RKE2} {
		if n := len(Services(p)); n != 12 {
			t.Errorf("%s: %d services, want 12", p, n)
		}
	}
}

func TestServicesLookup(t *testing.T) {
	tests := []struct {
		name    string
		p       product.Product
		in      []string
		want    []string
		wantErr string
	}{
		{name: "empty is all, sorted", p: product.K3s, in: nil, want: ServiceNames(product.K3s)},
		{name: "given order, duplicates and blanks dropped", p: product.K3s, in: []string{"kubelet", " admin ", "kubelet", ""}, want: []string{"kubelet", "admin"}},
		{name: "unknown", p: product.K3s, in: []string{"admin", "etcd-ca"}, wantErr: "service etcd-ca is not recognized (valid: admin, api-server, auth-proxy, cloud-controller, controller-manager, etcd, k3s-controller, k3s-server, kube-proxy, kubelet, scheduler, supervisor)"},
		{name: "certificate-authority rejected like k3s", p: product.K3s, in: []string{"certificate-authority"}, wantErr: "service certificate-authority is not recognized"},
		{name: "rke2 rejects k3s names", p: product.RKE2, in: []string{"k3s-controller"}, wantErr: "rke2-controller, rke2-server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LookupServices(tt.p, tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUnknownService) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range got {
				names = append(names, s.Name)
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Fatalf("names = %v, want %v", names, tt.want)
			}
		})
	}
}

func TestServicesAbs(t *testing.T) {
	tests := []struct {
		f    ServiceFile
		want string
	}{
		{ServiceFile{Path: "tls/client-admin.crt"}, "/var/lib/rancher/k3s/server/tls/client-admin.crt"},
		{ServiceFile{Path: "client-kubelet.crt", Agent: true}, "/var/lib/rancher/k3s/agent/client-kubelet.crt"},
	}
	for _, tt := range tests {
		if got := tt.f.Abs("/var/lib/rancher/k3s"); got != tt.want {
			t.Errorf("Abs = %s, want %s", got, tt.want)
		}
	}
}
