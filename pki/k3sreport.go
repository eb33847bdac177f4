package pki

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v2"
)

// Sources of the rows k3sca adds to k3s's: a consumer tells them apart by
// K3sCertificate.Source, which k3s's own rows never carry.
const (
	// SourceCAFile is a cert of a CA bundle of the server dir (server-ca.crt, ...).
	SourceCAFile = "ca-file"
	// SourceAgentCAFile is a cert of the agent's copy of a CA bundle.
	SourceAgentCAFile = "agent-ca-file"
	// SourceKubeconfig is a cert embedded in the admin kubeconfig.
	SourceKubeconfig = "kubeconfig"
	// SourceDatastore is a CA cert of the datastore's bootstrap data.
	SourceDatastore = "datastore"
)

// K3sCertificate is one row of `k3s certificate check -o json|yaml`: the
// fields, names and order of k3s's pkg/cli/cert Certificate, so that JSON
// (encoding/json) and YAML (yaml.v2, as k3s encodes it) come out as k3s
// writes them. The last two fields are k3sca's and only on its extra rows.
type K3sCertificate struct {
	Filename     string
	Subject      string
	Issuer       string
	Usages       []string
	ExpiryTime   time.Time
	ResidualTime time.Duration
	Status       string
	// Source is empty on k3s's rows and names what an extra row is
	// (SourceCAFile, SourceAgentCAFile, SourceKubeconfig, SourceDatastore).
	Source string `json:",omitempty" yaml:",omitempty"`
	// DatastoreDiffers marks a CA file row whose file differs from the
	// datastore's copy (k3s replaces the file from the datastore at start).
	DatastoreDiffers bool `json:",omitempty" yaml:",omitempty"`
}

// K3sReport is the document of `k3s certificate check -o json|yaml`
// (pkg/cli/cert CertificateInfo, whose ReferenceTime is never encoded).
type K3sReport struct {
	Certificates []K3sCertificate
}

// K3sReport returns k3s's rows, in k3s's order, then k3sca's: the CA
// bundles, the admin kubeconfig's certs and the datastore's CAs. An empty
// inventory gives {"Certificates":null}, as k3s does.
func (inv *Inventory) K3sReport() K3sReport {
	var r K3sReport
	differs := map[string]bool{}
	for _, p := range inv.DatastoreDiffers {
		differs[p] = true
	}
	add := func(list []CertInfo, source func(CertInfo) string) {
		for _, c := range list {
			src := source(c)
			r.Certificates = append(r.Certificates, K3sCertificate{
				Filename: c.Filename, Subject: c.Subject, Issuer: c.Issuer, Usages: c.Usages,
				ExpiryTime: c.Expiry(), ResidualTime: c.Residual, Status: string(c.Status),
				Source: src, DatastoreDiffers: src == SourceCAFile && differs[c.Path],
			})
		}
	}
	add(inv.Rows, func(CertInfo) string { return "" })
	add(inv.CAs, caSource)
	add(inv.Kubeconfig, func(CertInfo) string { return SourceKubeconfig })
	add(inv.Datastore, func(CertInfo) string { return SourceDatastore })
	return r
}

// caSource tells the server's CA bundles from the agent's copies.
func caSource(c CertInfo) string {
	if strings.HasPrefix(c.Service, "agent/") {
		return SourceAgentCAFile
	}
	return SourceCAFile
}

// K3sJSON renders K3sReport as `k3s certificate check -o json` does
// (json.Encoder.Encode: compact, one trailing newline).
func (inv *Inventory) K3sJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(inv.K3sReport()); err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	return b.Bytes(), nil
}

// K3sYAML renders K3sReport as `k3s certificate check -o yaml` does:
// yaml.v2's Encoder (lower-case keys, RFC3339Nano times, durations as
// strings), the library and call k3s uses.
func (inv *Inventory) K3sYAML() ([]byte, error) {
	var b bytes.Buffer
	if err := yaml.NewEncoder(&b).Encode(inv.K3sReport()); err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	return b.Bytes(), nil
}
