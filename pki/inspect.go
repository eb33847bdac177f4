package pki

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/product"
)

// Status is the verdict of `k3s certificate check` on one certificate.
type Status string

// The four statuses k3s reports.
const (
	StatusOK          Status = "OK"
	StatusWarning     Status = "WARNING"
	StatusExpired     Status = "EXPIRED"
	StatusNotYetValid Status = "NOT YET VALID"
)

// DefaultRenewWindow is k3s's CertificateRenewDays (120 days since 2025-05).
const DefaultRenewWindow = 120 * 24 * time.Hour

// CertInfo describes one certificate found on disk.
type CertInfo struct {
	Filename        string        // base name of the file, as k3s prints it
	Path            string        // absolute path of the file
	Service         string        // service of a leaf file, CA type ("server", "etcd/peer") of a CA bundle
	Subject, Issuer string        // common names
	Usages          []string      // CertSign, ServerAuth, ClientAuth or Unknown
	NotBefore       time.Time     // start of validity
	NotAfter        time.Time     // end of validity
	Residual        time.Duration // NotAfter minus the inspection time, negative once expired
	Status          Status        // verdict at the inspection time
	IsCA            bool          // BasicConstraints CA flag
	Serial          string        // serial number in lowercase hex
	// SubjectKeyID and AuthorityKeyID are the key identifiers in
	// lowercase hex ("" when the extension is absent): Chain follows them.
	SubjectKeyID, AuthorityKeyID string
	SerialDecimal                string // serial number in decimal, as x509-certificate-exporter labels it
	Index                        int    // position of the certificate in its file, 0 for the first
	// Embedded names where a kubeconfig holds it: Kind "cluster" or
	// "user", Key the cluster's or user's name (x509-certificate-exporter's
	// embedded_kind and embedded_key); zero for a PEM file.
	Embedded Embedded
	// Subject and issuer names as x509-certificate-exporter labels them.
	SubjectName, IssuerName pkix.Name
}

// Embedded locates a certificate inside a kubeconfig.
type Embedded struct {
	Kind, Key string
}

// Expiry is the time k3s shows in its expiry column: NotBefore for a
// certificate that is not yet valid, NotAfter otherwise.
func (c CertInfo) Expiry() time.Time {
	if c.Status == StatusNotYetValid {
		return c.NotBefore
	}
	return c.NotAfter
}

// InspectOptions selects what Inspect reads. Empty Services means all when
// the server dir (DataDir/server) exists and the agent services otherwise, as
// k3s does; a zero Now means time.Now(); a zero RenewWindow means DefaultRenewWindow.
type InspectOptions struct {
	DataDir     string          // k3s data dir
	Services    []string        // service names limiting the leaf files
	Now         time.Time       // inspection time
	RenewWindow time.Duration   // WARNING threshold
	Product     product.Product // k3s or rke2
}

// Inventory is the result of Inspect.
type Inventory struct {
	// DataDir is the data dir it was read from.
	DataDir string
	// CAs lists every cert of each CA bundle of the layout, CA by CA: the
	// server's (when the server dir exists), then the agent's copies
	// agent/client-ca.crt and agent/server-ca.crt (Service "agent/client",
	// "agent/server") when the agent dir exists and an agent service is
	// selected.
	CAs []CertInfo
	// Leaves lists the first cert of every leaf file of the selected services,
	// service by service in name order.
	Leaves []CertInfo
	// Rows are the rows of `k3s certificate check`: every cert of every
	// leaf file of the selected services (the CA certs k3s appends to a
	// leaf file included), service by service in the order of k3s's
	// services.All, file by file in the order of its FilesForServices.
	Rows []CertInfo
	// Kubeconfig lists the certs embedded in the admin kubeconfig
	// (KubeconfigPath) when it was read; KubeconfigNote says why not.
	// KubeconfigUnreadable says the file exists but could not be read.
	Kubeconfig           []CertInfo
	KubeconfigPath       string
	KubeconfigNote       string
	KubeconfigUnreadable bool
	// Datastore lists the CA certs of the datastore's bootstrap data, CA by
	// CA (Path is the file each belongs to on disk), when it was read;
	// DatastoreNote says why not. DatastoreDiffers lists the CA files
	// whose bytes differ from the datastore's.
	Datastore        []CertInfo
	DatastoreNote    string
	DatastoreDiffers []string
	// Missing lists files of the layout that do not exist.
	Missing []string
	// Unreadable lists files that exist but that k3s could not parse (k3s
	// skips them silently).
	Unreadable []string
	// TLSDir is the server's tls dir, which paths show relative to.
	TLSDir string `json:"-"`
}

// StatusAt classifies c at now with the WARNING window, as k3s's GetCertStatus does.
func StatusAt(c *x509.Certificate, now time.Time, window time.Duration) Status {
	switch {
	case now.Before(c.NotBefore):
		return StatusNotYetValid
	case now.After(c.NotAfter):
		return StatusExpired
	case now.Add(window).After(c.NotAfter):
		return StatusWarning
	}
	return StatusOK
}

// CertUsages lists k3s's usage names of c: CertSign first, then ServerAuth and
// ClientAuth in EKU order, or Unknown when there are none.
func CertUsages(c *x509.Certificate) []string {
	var u []string
	if c.KeyUsage&x509.KeyUsageCertSign != 0 {
		u = append(u, "CertSign")
	}
	for _, e := range c.ExtKeyUsage {
		switch e {
		case x509.ExtKeyUsageServerAuth:
			u = append(u, "ServerAuth")
		case x509.ExtKeyUsageClientAuth:
			u = append(u, "ClientAuth")
		}
	}
	if len(u) == 0 {
		u = []string{"Unknown"}
	}
	return u
}

// NeedsAttention reports whether any certificate is EXPIRED, WARNING or NOT YET VALID.
func (inv *Inventory) NeedsAttention() bool {
	if len(inv.Unreadable) > 0 {
		return true
	}
	for _, list := range [][]CertInfo{inv.CAs, inv.Leaves} {
		for _, c := range list {
			if c.Status != StatusOK {
				return true
			}
		}
	}
	return false
}

// Inspect reads the CA bundles and the leaf certificates of the selected
// services under o.DataDir, like `k3s certificate check`: on a server that
// runs an agent, the agent's certificates in <data-dir>/agent (and its CA
// copies) as well as the server's.
func Inspect(ctx context.Context, o InspectOptions) (*Inventory, error) {
	if o.DataDir == "" {
		return nil, errors.New("inspect: data dir is empty")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.RenewWindow == 0 {
		o.RenewWindow = DefaultRenewWindow
	}
	services, serverDir, err := selectServices(o.Product, o.DataDir, o.Services, LocalLstat)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	inv := &Inventory{DataDir: o.DataDir, TLSDir: filepath.Join(product.ServerDir(o.DataDir), TLSDir)}
	if serverDir {
		d := product.ServerDir(o.DataDir)
		for _, ca := range CATypes {
			if err := inv.add(ctx, &inv.CAs, ca.CertField().Abs(d), ca.Type, o); err != nil {
				return nil, err
			}
		}
	}
	if agent := AgentDir(o.DataDir); hasAgentFiles(services) && fsutil.DirExists(agent) {
		// The agent's copies of the CA bundles: after a CA rotation they stay
		// stale until the agent restarts.
		for _, c := range []struct{ file, service string }{{AgentClientCA, "agent/client"}, {AgentServerCA, "agent/server"}} {
			if err := inv.add(ctx, &inv.CAs, filepath.Join(agent, c.file), c.service, o); err != nil {
				return nil, err
			}
		}
	}
	files := map[string][]CertInfo{}
	for _, s := range services {
		for _, f := range s.Files {
			if !strings.HasSuffix(f.Path, ".crt") {
				continue
			}
			path := f.Abs(o.DataDir)
			certs, err := inv.read(ctx, path, s.Name, o)
			if err != nil {
				return nil, err
			}
			if len(certs) > 0 {
				inv.Leaves = append(inv.Leaves, certs[0])
				files[path] = certs
			}
		}
	}
	for _, s := range inK3sOrder(o.Product, services) {
		for _, f := range s.Files {
			inv.Rows = append(inv.Rows, files[f.Abs(o.DataDir)]...)
		}
	}
	return inv, nil
}

// inK3sOrder orders services as k3s's services.All lists them
// (pkg/util/services: Server, then Agent). k3s itself ranges over a Go map
// of them, so its row order changes from run to run; this is the order it
// builds that map in, one of the orders it prints.
func inK3sOrder(p product.Product, services []Service) []Service {
	n := p.Name()
	order := []string{"api-server", "admin", "auth-proxy", "cloud-controller", "controller-manager", "etcd",
		"scheduler", "supervisor", n + "-server", "kube-proxy", "kubelet", n + "-controller"}
	byName := map[string]Service{}
	for _, s := range services {
		byName[s.Name] = s
	}
	var out []Service
	for _, name := range order {
		if s, ok := byName[name]; ok {
			out = append(out, s)
		}
	}
	return out
}

// hasAgentFiles reports whether a service of the selection has files in the agent dir.
func hasAgentFiles(services []Service) bool {
	for _, s := range services {
		for _, f := range s.Files {
			if f.Agent {
				return true
			}
		}
	}
	return false
}

// add reads one file and appends all its certs to list.
func (inv *Inventory) add(ctx context.Context, list *[]CertInfo, path, service string, o InspectOptions) error {
	certs, err := inv.read(ctx, path, service, o)
	*list = append(*list, certs...)
	return err
}

// read reads the certs of one file, noting it as missing or unreadable.
func (inv *Inventory) read(ctx context.Context, path, service string, o InspectOptions) ([]CertInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		inv.Missing = append(inv.Missing, path)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect: read %s: %w", path, err)
	}
	certs, err := ParseCertsPEM(data)
	if err != nil {
		inv.Unreadable = append(inv.Unreadable, path)
		return nil, nil
	}
	return certInfos(certs, path, service, o.Now, o.RenewWindow), nil
}

// certInfos describes the certs of one file, in order.
func certInfos(certs []*x509.Certificate, path, service string, now time.Time, window time.Duration) []CertInfo {
	out := make([]CertInfo, 0, len(certs))
	for i, c := range certs {
		ci := newCertInfo(c, path, service, now, window)
		ci.Index = i
		out = append(out, ci)
	}
	return out
}

func newCertInfo(c *x509.Certificate, path, service string, now time.Time, window time.Duration) CertInfo {
	return CertInfo{
		Filename:  filepath.Base(path),
		Path:      path,
		Service:   service,
		Subject:   c.Subject.CommonName,
		Issuer:    c.Issuer.CommonName,
		Usages:    CertUsages(c),
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
		Residual:  c.NotAfter.Sub(now),
		Status:    StatusAt(c, now, window),
		IsCA:      c.IsCA,
		Serial:    fmt.Sprintf("%x", c.SerialNumber),

		SubjectKeyID:   fmt.Sprintf("%x", c.SubjectKeyId),
		AuthorityKeyID: fmt.Sprintf("%x", c.AuthorityKeyId),

		SerialDecimal: c.SerialNumber.String(),
		SubjectName:   c.Subject,
		IssuerName:    c.Issuer,
	}
}

// WriteTable renders the inventory as plain text with columns aligned across
// a CA section and a leaf section, then the missing and unreadable files.
func (inv *Inventory) WriteTable(w io.Writer) error {
	header := []string{"FILENAME", "SERVICE", "SUBJECT", "ISSUER", "USAGES", "EXPIRES", "RESIDUAL", "STATUS"}
	rows := func(list []CertInfo) [][]string {
		out := [][]string{header}
		for _, c := range list {
			out = append(out, []string{c.Filename, c.Service, c.Subject, c.Issuer, strings.Join(c.Usages, ","),
				c.Expiry().UTC().Format("Jan 02, 2006 15:04 MST"), FormatResidual(c.Residual), string(c.Status)})
		}
		return out
	}
	cas, leaves := rows(inv.CAs), rows(inv.Leaves)
	width := make([]int, len(header))
	for _, r := range append(cas, leaves...) {
		for i, cell := range r {
			width[i] = max(width[i], len(cell))
		}
	}
	var b strings.Builder
	for i, sec := range []struct {
		title string
		rows  [][]string
	}{{"CERTIFICATE AUTHORITIES", cas}, {"LEAF CERTIFICATES", leaves}} {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(sec.title + "\n")
		for _, r := range sec.rows {
			for i, cell := range r[:len(r)-1] {
				fmt.Fprintf(&b, "%-*s   ", width[i], cell)
			}
			b.WriteString(r[len(r)-1] + "\n")
		}
		if len(sec.rows) == 1 {
			b.WriteString("(none)\n")
		}
	}
	for _, l := range []struct {
		title string
		paths []string
	}{{"MISSING", inv.Missing}, {"UNREADABLE", inv.Unreadable}} {
		if len(l.paths) > 0 {
			fmt.Fprintf(&b, "\n%s\n%s\n", l.title, strings.Join(l.paths, "\n"))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// FormatResidual renders a remaining lifetime compactly: "3y41d", "29d",
// "5h", "12m"; negative durations get a leading "-".
func FormatResidual(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	const day = 24 * time.Hour
	switch {
	case d >= 365*day:
		return fmt.Sprintf("%s%dy%dd", sign, d/(365*day), (d%(365*day))/day)
	case d >= day:
		return fmt.Sprintf("%s%dd", sign, d/day)
	case d >= time.Hour:
		return fmt.Sprintf("%s%dh", sign, d/time.Hour)
	}
	return fmt.Sprintf("%s%dm", sign, d/time.Minute)
}
