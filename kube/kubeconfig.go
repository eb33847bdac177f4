package kube

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"

	"go.yaml.in/yaml/v3"
)

// ErrKubeconfig is a kubeconfig k3sca cannot use.
var ErrKubeconfig = errors.New("unusable kubeconfig")

// Kubeconfig is what a client needs from a kubeconfig: the API server's
// URL and CA, and the client certificate that authenticates.
type Kubeconfig struct {
	// Server is the API server URL ("https://127.0.0.1:6443" in k3s.yaml).
	Server *url.URL
	// CA is the PEM CA bundle the server is verified against.
	CA []byte
	// Cert is the client certificate and key.
	Cert tls.Certificate

	// serverName is the name the server is verified as ("": Server's host).
	serverName string
}

// kubeconfigFile is the part of a kubeconfig k3sca reads.
type kubeconfigFile struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server                   string `yaml:"server"`
			CertificateAuthorityData string `yaml:"certificate-authority-data"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
			User    string `yaml:"user"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			ClientCertificateData string `yaml:"client-certificate-data"`
			ClientKeyData         string `yaml:"client-key-data"`
		} `yaml:"user"`
	} `yaml:"users"`
}

// ParseKubeconfig reads the current context of a kubeconfig (or its only
// cluster and user when it names none), with the CA and client certificate
// embedded as k3s writes them (*-data fields; file references are refused:
// they name paths on the node the kubeconfig came from). Errors never hold
// the key.
func ParseKubeconfig(data []byte) (*Kubeconfig, error) {
	var f kubeconfigFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: not YAML: %v", ErrKubeconfig, err)
	}
	clusterName, userName := "", ""
	for _, c := range f.Contexts {
		if c.Name == f.CurrentContext {
			clusterName, userName = c.Context.Cluster, c.Context.User
		}
	}
	if clusterName == "" && len(f.Clusters) == 1 && len(f.Users) == 1 {
		clusterName, userName = f.Clusters[0].Name, f.Users[0].Name
	}
	if clusterName == "" {
		return nil, fmt.Errorf("%w: no current-context %q and not exactly one cluster and user", ErrKubeconfig, f.CurrentContext)
	}
	k := &Kubeconfig{}
	found := false
	for _, c := range f.Clusters {
		if c.Name != clusterName {
			continue
		}
		found = true
		u, err := url.Parse(c.Cluster.Server)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("%w: cluster %q: server %q is not an https URL", ErrKubeconfig, clusterName, c.Cluster.Server)
		}
		k.Server = u
		ca, err := base64.StdEncoding.DecodeString(c.Cluster.CertificateAuthorityData)
		if err != nil || len(ca) == 0 {
			return nil, fmt.Errorf("%w: cluster %q: no certificate-authority-data", ErrKubeconfig, clusterName)
		}
		k.CA = ca
	}
	if !found {
		return nil, fmt.Errorf("%w: no cluster %q", ErrKubeconfig, clusterName)
	}
	found = false
	for _, u := range f.Users {
		if u.Name != userName {
			continue
		}
		found = true
		cert, err1 := base64.StdEncoding.DecodeString(u.User.ClientCertificateData)
		key, err2 := base64.StdEncoding.DecodeString(u.User.ClientKeyData)
		if err1 != nil || err2 != nil || len(cert) == 0 || len(key) == 0 {
			return nil, fmt.Errorf("%w: user %q: no client-certificate-data and client-key-data", ErrKubeconfig, userName)
		}
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("%w: user %q: the client certificate and key do not make a pair", ErrKubeconfig, userName)
		}
		k.Cert = pair
	}
	if !found {
		return nil, fmt.Errorf("%w: no user %q", ErrKubeconfig, userName)
	}
	return k, nil
}

// OnHost is k with a loopback server address replaced by host (same port):
// k3s.yaml names https://127.0.0.1:6443, which is the API only on the
// server it came from. The server is still verified as the kubeconfig's
// host (127.0.0.1), which k3s's serving certificate always names.
func (k *Kubeconfig) OnHost(host string) *Kubeconfig {
	ip := net.ParseIP(k.Server.Hostname())
	if host == "" || ip == nil || !ip.IsLoopback() {
		return k
	}
	c := *k
	u := *k.Server
	u.Host = net.JoinHostPort(host, u.Port())
	c.Server = &u
	c.serverName = k.Server.Hostname()
	return &c
}

// tlsConfig verifies the server against the CA and presents the client
// certificate.
func (k *Kubeconfig) tlsConfig() (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(k.CA) {
		return nil, fmt.Errorf("%w: certificate-authority-data holds no PEM certificate", ErrKubeconfig)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{k.Cert}, ServerName: k.serverName}, nil
}
