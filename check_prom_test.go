package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// parseProm parses the text format as Prometheus and node_exporter do.
func parseProm(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("expfmt: %v\n%s", err, b)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

// TestCheckPrometheus: -o prometheus --textfile writes, atomically and
// readable by node_exporter, a textfile the Prometheus parser reads, with
// x509-certificate-exporter's metric names and labels, one series per
// certificate of every source, values true to the files; a CA file that
// differs from the datastore's copy gets k3sca_ca_datastore_match 0.
func TestCheckPrometheus(t *testing.T) {
	sb := sandboxtest.New(t)
	dir := t.TempDir()
	textfile := filepath.Join(dir, "k3sca.prom")
	r := runAt(t, "check", "-d", sb.DataDir, "-o", "prometheus", "--textfile", textfile)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(textfile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 || !fi.ModTime().Equal(testkit.Now) {
		t.Errorf("textfile mode %v mtime %v, want 0644 at the pinned clock", fi.Mode().Perm(), fi.ModTime())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the write left %d entries in the dir (a temp file?)", len(entries))
	}
	b, err := os.ReadFile(textfile)
	if err != nil {
		t.Fatal(err)
	}
	fams := parseProm(t, b)
	stdout := runAt(t, "check", "-d", sb.DataDir, "-o", "prometheus")
	if stdout.stdout != string(b) {
		t.Errorf("stdout and --textfile differ")
	}
	bySource := map[string]int{}
	for _, name := range []string{"x509_cert_not_after", "x509_cert_not_before", "x509_cert_expired"} {
		f := fams[name]
		if f == nil || f.GetType() != dto.MetricType_GAUGE {
			t.Fatalf("%s missing or not a gauge", name)
		}
		if len(f.GetMetric()) != 49 {
			t.Errorf("%s: %d series, want 49 (34 k3s rows, 7 CA files, 3 kubeconfig, 5 datastore)", name, len(f.GetMetric()))
		}
		for _, m := range f.GetMetric() {
			l := labels(m)
			for _, want := range []string{"filename", "filepath", "serial_number", "subject_CN", "issuer_CN", "is_ca", "source"} {
				if l[want] == "" {
					t.Errorf("%s %v lacks %s", name, l, want)
				}
			}
			if l["source"] == "kubeconfig" && (l["embedded_kind"] == "" || l["embedded_key"] != "default") {
				t.Errorf("kubeconfig series without embedded_kind/embedded_key: %v", l)
			}
			if name == "x509_cert_not_after" {
				bySource[l["source"]]++
			}
		}
	}
	if want := map[string]int{"file": 41, "kubeconfig": 3, "datastore": 5}; !maps.Equal(bySource, want) {
		t.Errorf("series by source %v, want %v", bySource, want)
	}
	// Values are the certificate's own.
	certs, err := pki.CertsFromFile(pki.ServerCAPath(sb.ServerDir))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range fams["x509_cert_not_after"].GetMetric() {
		l := labels(m)
		if l["filepath"] == pki.ServerCAPath(sb.ServerDir) && l["source"] == "file" {
			found = true
			if int64(m.GetGauge().GetValue()) != certs[0].NotAfter.Unix() || l["is_ca"] != "true" || l["serial_number"] != certs[0].SerialNumber.String() {
				t.Errorf("server CA series %v = %v, want %d", l, m.GetGauge().GetValue(), certs[0].NotAfter.Unix())
			}
		}
	}
	if !found {
		t.Error("no series for the server CA file")
	}
	for _, m := range fams["x509_cert_expired"].GetMetric() {
		if m.GetGauge().GetValue() != 0 {
			t.Errorf("expired = 1 for %v", labels(m))
		}
	}
	match := fams["k3sca_ca_datastore_match"]
	if match == nil || len(match.GetMetric()) != 5 {
		t.Fatalf("k3sca_ca_datastore_match: %v", match)
	}
	for _, m := range match.GetMetric() {
		if m.GetGauge().GetValue() != 1 {
			t.Errorf("fresh sandbox: %v differs from the datastore", labels(m))
		}
	}
	if v := fams["x509_read_errors"].GetMetric()[0].GetGauge().GetValue(); v != 0 {
		t.Errorf("x509_read_errors = %v", v)
	}

	// A CA file changed on disk (a staged rotation copied in by hand) is
	// told apart from the datastore's copy, in its own series.
	ca := pki.ServerCAPath(sb.ServerDir)
	orig, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	client, err := os.ReadFile(filepath.Join(sb.ServerDir, "tls", "client-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca, append(orig, client...), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runAt(t, "check", "-d", sb.DataDir, "-o", "prometheus")
	fams = parseProm(t, []byte(r.stdout))
	for _, m := range fams["k3sca_ca_datastore_match"].GetMetric() {
		l := labels(m)
		want := 1.0
		if l["filepath"] == ca {
			want = 0
		}
		if m.GetGauge().GetValue() != want {
			t.Errorf("%s: match %v, want %v", l["filepath"], m.GetGauge().GetValue(), want)
		}
	}
	if n := len(fams["x509_cert_not_after"].GetMetric()); n != 50 {
		t.Errorf("%d series after the change, want 50 (the file's new second cert)", n)
	}
}

// TestPromQuoting: label values with the three characters the text format
// escapes still parse, whole.
func TestPromQuoting(t *testing.T) {
	inv := &pki.Inventory{Rows: []pki.CertInfo{{Filename: `a"b\c`, Path: "/x/a\"b\\c\nd", Subject: "s", SerialDecimal: strconv.Itoa(7)}}}
	var b bytes.Buffer
	if err := inv.WritePrometheus(&b, testkit.Now); err != nil {
		t.Fatal(err)
	}
	m := parseProm(t, b.Bytes())["x509_cert_not_after"].GetMetric()[0]
	if l := labels(m); l["filename"] != `a"b\c` || l["filepath"] != "/x/a\"b\\c\nd" {
		t.Errorf("labels %v", l)
	}
}
