package pki

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/k3sca/k3sca/kube"
)

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
	kc, err := kube.ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	var out []CertInfo
	add := func(kind, name string, pemData []byte, err error) error {
		if err != nil {
			return fmt.Errorf("kubeconfig %s: %w", path, err)
		}
		if pemData == nil {
			return nil
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
		ca, err := c.CA()
		if err := add("cluster", c.Name, ca, err); err != nil {
			return nil, err
		}
	}
	for _, u := range kc.Users {
		cert, err := u.Cert()
		if err := add("user", u.Name, cert, err); err != nil {
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
