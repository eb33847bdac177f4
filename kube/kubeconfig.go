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

// File is a kubeconfig document (kind Config) as k3s writes it to
// /etc/rancher/<product>/<product>.yaml: its clusters, contexts and
// users in file order. It is the one parser of kubeconfigs in k3sca:
// ParseKubeconfig takes a client's view from it, pki lists the
// certificates it embeds. Embedded data stays base64 until asked for; a
// user's key is decoded only by ParseKubeconfig, for its client.
type File struct {
	CurrentContext string
	Clusters       []Cluster
	Contexts       []Context
	Users          []User
}

// Cluster is one entry of clusters.
type Cluster struct {
	Name, Server string
	caData       string
}

// Context is one entry of contexts.
type Context struct {
	Name, Cluster, User string
}

// User is one entry of users. Its key is never held decoded.
type User struct {
	Name              string
	certData, keyData string
}

// String names the user and what it embeds, never its key.
func (u User) String() string {
	return fmt.Sprintf("user %q (client certificate: %v, client key: %v)", u.Name, u.certData != "", u.keyData != "")
}

// GoString is String: a key is never printed.
func (u User) GoString() string { return u.String() }

// CA is the cluster's certificate-authority-data, decoded (nil when
// absent).
func (c Cluster) CA() ([]byte, error) {
	return decodeData(c.caData, "cluster", c.Name, "certificate-authority-data")
}

// Cert is the user's client-certificate-data, decoded (nil when absent).
func (u User) Cert() ([]byte, error) {
	return decodeData(u.certData, "user", u.Name, "client-certificate-data")
}

func decodeData(b64, kind, name, field string) ([]byte, error) {
	if b64 == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %s: %v", ErrKubeconfig, kind, name, field, err)
	}
	return b, nil
}

// ParseFile reads a kubeconfig document. Errors never hold key data.
func ParseFile(data []byte) (*File, error) {
	var f kubeconfigFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: not YAML: %v", ErrKubeconfig, err)
	}
	out := &File{CurrentContext: f.CurrentContext}
	for _, c := range f.Clusters {
		out.Clusters = append(out.Clusters, Cluster{Name: c.Name, Server: c.Cluster.Server, caData: c.Cluster.CertificateAuthorityData})
	}
	for _, c := range f.Contexts {
		out.Contexts = append(out.Contexts, Context{Name: c.Name, Cluster: c.Context.Cluster, User: c.Context.User})
	}
	for _, u := range f.Users {
		out.Users = append(out.Users, User{Name: u.Name, certData: u.User.ClientCertificateData, keyData: u.User.ClientKeyData})
	}
	return out, nil
}

// ParseKubeconfig reads the current context of a kubeconfig (or its only
// cluster and user when it names none), with the CA and client certificate
// embedded as k3s writes them (*-data fields; file references are refused:
// they name paths on the node the kubeconfig came from). Errors never hold
// the key.
func ParseKubeconfig(data []byte) (*Kubeconfig, error) {
	f, err := ParseFile(data)
	if err != nil {
		return nil, err
	}
	return f.Client()
}

// Client is the client's view of f: the cluster and user of its current
// context (or its only cluster and user when it names none).
func (f *File) Client() (*Kubeconfig, error) {
	clusterName, userName := "", ""
	for _, c := range f.Contexts {
		if c.Name == f.CurrentContext {
			clusterName, userName = c.Cluster, c.User
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
		u, err := url.Parse(c.Server)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("%w: cluster %q: server %q is not an https URL", ErrKubeconfig, clusterName, c.Server)
		}
		k.Server = u
		ca, err := c.CA()
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
		cert, err1 := u.Cert()
		key, err2 := base64.StdEncoding.DecodeString(u.keyData)
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
