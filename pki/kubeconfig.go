package pki

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// kubeconfig is the part of a kubeconfig (kind Config) that embeds
// certificates: what k3s writes to /etc/rancher/<product>/<product>.yaml.
type kubeconfig struct {
	Clusters []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			CAData string `yaml:"certificate-authority-data"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			CertData string `yaml:"client-certificate-data"`
		} `yaml:"user"`
	} `yaml:"users"`
}

// ErrNoKubeconfig is what InspectKubeconfig wraps when the file is absent
// (an agent, or a server started with --write-kubeconfig elsewhere).
var ErrNoKubeconfig = errors.New("no admin kubeconfig")

// InspectKubeconfig lists the certificates a kubeconfig embeds, as
// x509-certificate-exporter's kubeconfig source does: every cluster's
// certificate-authority-data, then every user's client-certificate-data,
// each cert of each with its embedding (kind "cluster" or "user", and
// the name). The private key data is never decoded.
func InspectKubeconfig(path string, now time.Time, window time.Duration) ([]CertInfo, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoKubeconfig, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig: %w", err)
	}
	var kc kubeconfig
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&kc); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	var out []CertInfo
	add := func(kind, name, b64 string) error {
		if b64 == "" {
			return nil
		}
		pemData, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return fmt.Errorf("kubeconfig %s: %s %q: %w", path, kind, name, err)
		}
		certs, err := ParseCertsPEM(pemData)
		if err != nil {
			return fmt.Errorf("kubeconfig %s: %s %q: %w", path, kind, name, err)
		}
		for _, c := range certInfos(certs, path, kind+"/"+name, now, window) {
			c.Embedded = Embedded{Kind: kind, Key: name}
			out = append(out, c)
		}
		return nil
	}
	for _, c := range kc.Clusters {
		if err := add("cluster", c.Name, c.Cluster.CAData); err != nil {
			return nil, err
		}
	}
	for _, u := range kc.Users {
		if err := add("user", u.Name, u.User.CertData); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AddKubeconfig records the kubeconfig's certs, or why they are not there.
func (inv *Inventory) AddKubeconfig(path string, certs []CertInfo, err error) {
	inv.KubeconfigPath, inv.Kubeconfig = path, certs
	if err != nil {
		inv.KubeconfigNote = err.Error()
		inv.KubeconfigUnreadable = !errors.Is(err, ErrNoKubeconfig)
	}
}

// AddDatastoreCAs records the CA bundles of the datastore's bootstrap data
// (content by bootstrap field name, e.g. "ServerCA"), each cert placed at
// the disk path of its field under serverDir, and which CA files on disk
// differ from them. A CA the datastore does not hold is skipped.
func (inv *Inventory) AddDatastoreCAs(content map[string][]byte, serverDir string, now time.Time, window time.Duration) {
	for _, ca := range CATypes {
		data, ok := content[ca.Field]
		if !ok {
			continue
		}
		path := ca.CertField().Abs(serverDir)
		if disk, err := os.ReadFile(path); err != nil || !bytes.Equal(disk, data) {
			inv.DatastoreDiffers = append(inv.DatastoreDiffers, path)
		}
		certs, err := ParseCertsPEM(data)
		if err != nil {
			inv.DatastoreNote = strings.TrimPrefix(inv.DatastoreNote+"; ", "; ") + ca.Field + " in the datastore: " + err.Error()
			continue
		}
		inv.Datastore = append(inv.Datastore, certInfos(certs, path, ca.Type, now, window)...)
	}
}
