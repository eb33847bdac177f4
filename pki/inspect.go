package pki

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	// CAs lists every cert of each CA bundle of the layout, CA by CA: the
	// server's (when the server dir exists), then the agent's copies
	// agent/client-ca.crt and agent/server-ca.crt (Service "agent/client",
	// "agent/server") when the agent dir exists and an agent service is
	// selected.
	CAs []CertInfo
	// Leaves lists the first cert of every leaf file of the selected services;
	// the CA certs k3s appends to leaf files are reported under CAs instead.
	Leaves []CertInfo
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
	services, serverDir, err := selectServices(o.Product, o.DataDir, o.Services)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	inv := &Inventory{TLSDir: filepath.Join(product.ServerDir(o.DataDir), TLSDir)}
	if serverDir {
		d := product.ServerDir(o.DataDir)
		for _, ca := range CATypes {
			if err := inv.add(ctx, &inv.CAs, ca.CertField().Abs(d), ca.Type, o, true); err != nil {
				return nil, err
			}
		}
	}
	if agent := AgentDir(o.DataDir); hasAgentFiles(services) && agentDirExists(agent) {
		// The agent's copies of the CA bundles: after a CA rotation they stay
		// stale until the agent restarts.
		for _, c := range []struct{ file, service string }{{AgentClientCA, "agent/client"}, {AgentServerCA, "agent/server"}} {
			if err := inv.add(ctx, &inv.CAs, filepath.Join(agent, c.file), c.service, o, true); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range services {
		for _, f := range s.Files {
			if !strings.HasSuffix(f.Path, ".crt") {
				continue
			}
			if err := inv.add(ctx, &inv.Leaves, f.Abs(o.DataDir), s.Name, o, false); err != nil {
				return nil, err
			}
		}
	}
	return inv, nil
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

// agentDirExists reports whether p is a directory.
func agentDirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// add reads one file and appends its certs (all, or only the first) to list.
func (inv *Inventory) add(ctx context.Context, list *[]CertInfo, path, service string, o InspectOptions, all bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		inv.Missing = append(inv.Missing, path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect: read %s: %w", path, err)
	}
	certs, err := ParseCertsPEM(data)
	if err != nil {
		inv.Unreadable = append(inv.Unreadable, path)
		return nil
	}
	if !all {
		certs = certs[:1]
	}
	for _, c := range certs {
		*list = append(*list, newCertInfo(c, path, service, o.Now, o.RenewWindow))
	}
	return nil
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
	}
}

// k3sCert is one entry of `k3s certificate check -o json`.
type k3sCert struct {
	Filename     string
	Subject      string
	Issuer       string
	Usages       []string
	ExpiryTime   time.Time
	ResidualTime time.Duration
	Status       string
}

// K3sJSON renders the inventory (CAs first, then leaves) in the JSON shape of
// `k3s certificate check -o json`, with its trailing newline. Like k3s, an
// empty inventory gives {"Certificates":null}.
func (inv *Inventory) K3sJSON() ([]byte, error) {
	var out struct{ Certificates []k3sCert }
	for _, list := range [][]CertInfo{inv.CAs, inv.Leaves} {
		for _, c := range list {
			out.Certificates = append(out.Certificates, k3sCert{
				Filename: c.Filename, Subject: c.Subject, Issuer: c.Issuer, Usages: c.Usages,
				ExpiryTime: c.Expiry(), ResidualTime: c.Residual, Status: string(c.Status),
			})
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	return append(b, '\n'), nil
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
