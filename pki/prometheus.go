package pki

import (
	"crypto/x509/pkix"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The metric families of x509-certificate-exporter (enix), with its help
// texts, so that its dashboards and alerts work on k3sca's textfile.
var promFamilies = []struct{ name, help string }{
	{"x509_cert_not_before", "Indicates the certificate's not before timestamp"},
	{"x509_cert_not_after", "Indicates the certificate's not after timestamp"},
	{"x509_cert_expired", "Indicates if the certificate is expired"},
}

// Sources as the source label of a series gives them.
const (
	promSourceFile       = "file"
	promSourceKubeconfig = "kubeconfig"
	promSourceDatastore  = "datastore"
)

// promSeries is one certificate's label set.
type promSeries struct {
	labels []string // name=value pairs, already escaped and quoted
	cert   CertInfo
}

// WritePrometheus writes the inventory in the Prometheus text exposition
// format, as node_exporter's textfile collector reads it: for every
// certificate (k3s's rows, the CA files, the admin kubeconfig's and the
// datastore's CAs) the three gauges of x509-certificate-exporter with its
// labels (filename, filepath, embedded_kind and embedded_key for a
// kubeconfig, serial_number, issuer_* and subject_* for the non-empty
// C, ST, L, O, OU and CN), plus is_ca and source (file, kubeconfig,
// datastore); then x509_read_errors, and, when the datastore was read,
// k3sca_ca_datastore_match per CA file (0: the file differs from the
// datastore's copy).
func (inv *Inventory) WritePrometheus(w io.Writer, now time.Time) error {
	var series []promSeries
	add := func(list []CertInfo, source string) {
		for _, c := range list {
			series = append(series, promSeries{labels: promLabels(c, source), cert: c})
		}
	}
	add(inv.Rows, promSourceFile)
	add(inv.CAs, promSourceFile)
	add(inv.Kubeconfig, promSourceKubeconfig)
	add(inv.Datastore, promSourceDatastore)
	var b strings.Builder
	for _, fam := range promFamilies {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", fam.name, fam.help, fam.name)
		for _, s := range series {
			var v int64
			switch fam.name {
			case "x509_cert_not_before":
				v = s.cert.NotBefore.Unix()
			case "x509_cert_not_after":
				v = s.cert.NotAfter.Unix()
			default:
				if now.Unix() > s.cert.NotAfter.Unix() {
					v = 1
				}
			}
			fmt.Fprintf(&b, "%s{%s} %d\n", fam.name, strings.Join(s.labels, ","), v)
		}
	}
	errs := len(inv.Unreadable)
	if inv.KubeconfigUnreadable {
		errs++
	}
	fmt.Fprintf(&b, "# HELP x509_read_errors Indicates the number of read failure(s)\n# TYPE x509_read_errors gauge\nx509_read_errors %d\n", errs)
	if len(inv.Datastore) > 0 {
		b.WriteString("# HELP k3sca_ca_datastore_match Whether the CA file on disk holds the same bytes as the datastore's bootstrap data (0: it differs; k3s replaces it at its next start, or refuses to start when the file is newer)\n# TYPE k3sca_ca_datastore_match gauge\n")
		differs := map[string]bool{}
		for _, p := range inv.DatastoreDiffers {
			differs[p] = true
		}
		seen := map[string]bool{}
		for _, c := range inv.Datastore {
			if seen[c.Path] {
				continue
			}
			seen[c.Path] = true
			v := 1
			if differs[c.Path] {
				v = 0
			}
			fmt.Fprintf(&b, "k3sca_ca_datastore_match{filename=%s,filepath=%s} %d\n", promQuote(c.Filename), promQuote(c.Path), v)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

// promLabels is the label set of one certificate, in
// x509-certificate-exporter's order, then k3sca's two.
func promLabels(c CertInfo, source string) []string {
	l := []string{"filename=" + promQuote(c.Filename), "filepath=" + promQuote(c.Path)}
	if c.Embedded.Kind != "" {
		l = append(l, "embedded_kind="+promQuote(c.Embedded.Kind), "embedded_key="+promQuote(c.Embedded.Key))
	}
	l = append(l, "serial_number="+promQuote(c.SerialDecimal))
	l = append(l, nameLabels("issuer", c.IssuerName)...)
	l = append(l, nameLabels("subject", c.SubjectName)...)
	return append(l, "is_ca="+promQuote(strconv.FormatBool(c.IsCA)), "source="+promQuote(source))
}

// nameLabels are the prefix_C ... prefix_CN labels of the non-empty
// fields of n, each its first value.
func nameLabels(prefix string, n pkix.Name) []string {
	var l []string
	for _, f := range []struct {
		key string
		v   []string
	}{{"C", n.Country}, {"ST", n.Province}, {"L", n.Locality}, {"O", n.Organization}, {"OU", n.OrganizationalUnit}, {"CN", []string{n.CommonName}}} {
		if len(f.v) > 0 && f.v[0] != "" {
			l = append(l, prefix+"_"+f.key+"="+promQuote(f.v[0]))
		}
	}
	return l
}

// promQuote quotes a label value with the text format's three escapes.
func promQuote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}
