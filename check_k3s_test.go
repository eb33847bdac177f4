package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v2"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

var updateK3sCheck = flag.Bool("update-k3s-check", false, "rewrite testdata/k3s-check/sandbox.{json,yaml} with k3sCheckOracle")

// k3sFilesForServices is k3s's pkg/util/services FilesForServices for
// services.All (Server, then Agent), paths relative to the data dir, in
// the order of that function; D is server/, A is agent/. k3s ranges over
// the map FilesForServices returns, so across services its own order
// changes from run to run: this is the order the map is built in.
var k3sFilesForServices = [][]string{
	{"server/tls/client-kube-apiserver.crt", "server/tls/client-kube-apiserver.key", "server/tls/serving-kube-apiserver.crt", "server/tls/serving-kube-apiserver.key"}, // api-server
	{"server/tls/client-admin.crt", "server/tls/client-admin.key"},                               // admin
	{"server/tls/client-auth-proxy.crt", "server/tls/client-auth-proxy.key"},                     // auth-proxy
	{"server/tls/client-k3s-cloud-controller.crt", "server/tls/client-k3s-cloud-controller.key"}, // cloud-controller
	{"server/tls/client-controller.crt", "server/tls/client-controller.key", "server/tls/kube-controller-manager/kube-controller-manager.crt", "server/tls/kube-controller-manager/kube-controller-manager.key"},               // controller-manager
	{"server/tls/etcd/client.crt", "server/tls/etcd/client.key", "server/tls/etcd/server-client.crt", "server/tls/etcd/server-client.key", "server/tls/etcd/peer-server-client.crt", "server/tls/etcd/peer-server-client.key"}, // etcd
	{"server/tls/client-scheduler.crt", "server/tls/client-scheduler.key", "server/tls/kube-scheduler/kube-scheduler.crt", "server/tls/kube-scheduler/kube-scheduler.key"},                                                     // scheduler
	{"server/tls/client-supervisor.crt", "server/tls/client-supervisor.key"}, // supervisor
	{}, // k3s-server: no files
	{"server/tls/client-kube-proxy.crt", "server/tls/client-kube-proxy.key", "agent/client-kube-proxy.crt", "agent/client-kube-proxy.key"},                                                // kube-proxy
	{"server/tls/client-kubelet.key", "server/tls/serving-kubelet.key", "agent/client-kubelet.crt", "agent/client-kubelet.key", "agent/serving-kubelet.crt", "agent/serving-kubelet.key"}, // kubelet
	{"server/tls/client-k3s-controller.crt", "server/tls/client-k3s-controller.key", "agent/client-k3s-controller.crt", "agent/client-k3s-controller.key"},                                // k3s-controller
}

// k3sCertificate is k3s's pkg/cli/cert Certificate.
type k3sCertificate struct {
	Filename     string
	Subject      string
	Issuer       string
	Usages       []string
	ExpiryTime   time.Time
	ResidualTime time.Duration
	Status       string
}

// k3sCheckOracle is k3s's collectCertInfo, transcribed: every file of
// k3sFilesForServices read with certutil.CertsFromFile (a missing file, or
// one without a certificate such as a key, is skipped), every cert of it
// a row, status by GetCertStatus with the warning time now+120 days
// (config.CertificateRenewDays), usages by GetCertUsages. It is written
// from k3s's source, not from k3sca's code, so that the fixture it makes
// is what k3s prints for the sandbox's files.
func k3sCheckOracle(t *testing.T, dataDir string, now time.Time) []k3sCertificate {
	t.Helper()
	warn := now.Add(120 * 24 * time.Hour)
	var rows []k3sCertificate
	for _, files := range k3sFilesForServices {
		for _, rel := range files {
			certs, err := pki.CertsFromFile(filepath.Join(dataDir, filepath.FromSlash(rel)))
			if err != nil {
				continue
			}
			for _, c := range certs {
				status := "OK"
				switch {
				case now.Before(c.NotBefore):
					status = "NOT YET VALID"
				case now.After(c.NotAfter):
					status = "EXPIRED"
				case warn.After(c.NotAfter):
					status = "WARNING"
				}
				expiry := c.NotAfter
				if status == "NOT YET VALID" {
					expiry = c.NotBefore
				}
				rows = append(rows, k3sCertificate{
					Filename: filepath.Base(rel), Subject: c.Subject.CommonName, Issuer: c.Issuer.CommonName,
					Usages: k3sUsages(c), ExpiryTime: expiry, ResidualTime: c.NotAfter.Sub(now), Status: status,
				})
			}
		}
	}
	return rows
}

// k3sUsages is k3s's GetCertUsages.
func k3sUsages(c *x509.Certificate) []string {
	u := []string{}
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
		u = append(u, "Unknown")
	}
	return u
}

// k3sDocuments encodes rows as k3s's JSONFormatter and YAMLFormatter do.
func k3sDocuments(t *testing.T, rows []k3sCertificate) (j, y []byte) {
	t.Helper()
	doc := struct{ Certificates []k3sCertificate }{rows}
	var jb, yb bytes.Buffer
	if err := json.NewEncoder(&jb).Encode(doc); err != nil {
		t.Fatal(err)
	}
	if err := yaml.NewEncoder(&yb).Encode(doc); err != nil {
		t.Fatal(err)
	}
	return jb.Bytes(), yb.Bytes()
}

// TestCheckK3sRows: `k3sca check -o json|yaml` on the sandbox gives, row
// for row and in order, what k3s's own code gives for the same files (the
// fixtures under testdata/k3s-check, made by k3sCheckOracle: 34 rows, 17
// service files of two certificates each, the two legacy server copies
// k3s deletes at start being absent), then k3sca's extra rows, each marked
// with a Source k3s's rows never carry.
func TestCheckK3sRows(t *testing.T) {
	sb := sandboxtest.New(t)
	wantJSON, wantYAML := k3sDocuments(t, k3sCheckOracle(t, sb.DataDir, testkit.Now))
	fixJSON, fixYAML := filepath.Join("testdata", "k3s-check", "sandbox.json"), filepath.Join("testdata", "k3s-check", "sandbox.yaml")
	if *updateK3sCheck {
		for f, b := range map[string][]byte{fixJSON: wantJSON, fixYAML: wantYAML} {
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		format, fixture string
		oracle          []byte
	}{{"json", fixJSON, wantJSON}, {"yaml", fixYAML, wantYAML}} {
		t.Run(tc.format, func(t *testing.T) {
			fixture, err := os.ReadFile(tc.fixture)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fixture, tc.oracle) {
				t.Fatalf("%s is not what k3s's code gives for the sandbox (-update-k3s-check rewrites it)", tc.fixture)
			}
			r := runAt(t, "check", "-d", sb.DataDir, "-o", tc.format)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			k3s, extra := splitK3sRows(t, tc.format, []byte(r.stdout))
			if !bytes.Equal(k3s, fixture) {
				t.Errorf("k3s's rows differ from %s:\n%s\nwant\n%s", tc.fixture, k3s, fixture)
			}
			// The five CA files, the agent's two copies, the kubeconfig's
			// three (CA bundle, admin cert and its CA) and the datastore's five.
			want := map[string]int{pki.SourceCAFile: 5, pki.SourceAgentCAFile: 2, pki.SourceKubeconfig: 3, pki.SourceDatastore: 5}
			if !reflect.DeepEqual(extra, want) {
				t.Errorf("extra rows by source = %v, want %v", extra, want)
			}
		})
	}
}

// splitK3sRows re-encodes the rows without a Source as k3s would and
// counts the others by source.
func splitK3sRows(t *testing.T, format string, out []byte) ([]byte, map[string]int) {
	t.Helper()
	var doc struct {
		Certificates []struct {
			k3sCertificate `yaml:",inline"`
			Source         string
		}
	}
	var err error
	if format == "json" {
		err = json.Unmarshal(out, &doc)
	} else {
		err = yaml.Unmarshal(out, &doc)
	}
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", format, err, out)
	}
	var rows []k3sCertificate
	extra := map[string]int{}
	seenExtra := false
	for _, c := range doc.Certificates {
		if c.Source != "" {
			extra[c.Source]++
			seenExtra = true
			continue
		}
		if seenExtra {
			t.Errorf("k3s row %s (%s) after k3sca's rows: k3s's rows come first", c.Filename, c.Subject)
		}
		rows = append(rows, c.k3sCertificate)
	}
	j, y := k3sDocuments(t, rows)
	if format == "json" {
		return j, extra
	}
	// yaml.v2 decodes times in UTC and durations from their strings, so
	// the re-encoding is byte for byte what was read.
	if !strings.Contains(string(out), "source: ca-file") {
		t.Errorf("yaml extra rows carry no source field:\n%s", out)
	}
	return y, extra
}

// TestCheckDatastore: the datastore's CAs come from the datastore (read
// with the node's token), a CA file that differs from them is marked,
// and a datastore that cannot be read is a note on stderr, never a
// failure or a row.
func TestCheckDatastore(t *testing.T) {
	sb := sandboxtest.New(t)
	rows := func(r result) (datastore, differs int) {
		t.Helper()
		var doc pki.K3sReport
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("exit %d %v: %s", r.code, err, r.stderr)
		}
		for _, c := range doc.Certificates {
			if c.Source == pki.SourceDatastore {
				datastore++
			}
			if c.DatastoreDiffers {
				differs++
			}
		}
		return datastore, differs
	}
	wrong := "K10" + strings.Repeat("0", 64) + "::server:" + strings.Repeat("f", 32)
	r := runAt(t, "check", "-d", sb.DataDir, "-o", "json", "--token", wrong)
	if n, _ := rows(r); r.code != 0 || n != 0 || !strings.Contains(r.stderr, "note: not read: ") {
		t.Errorf("wrong token: exit %d, %d datastore rows, stderr %q; want 0, none and a note", r.code, n, r.stderr)
	}
	ca := pki.ServerCAPath(sb.ServerDir)
	b, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca, append(b, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runAt(t, "check", "-d", sb.DataDir, "-o", "json")
	if n, d := rows(r); n != 5 || d != 1 || !strings.Contains(r.stderr, ca+" differs from the datastore's copy") {
		t.Errorf("edited server CA: %d datastore rows, %d marked differing, stderr %q; want 5, 1 and a note", n, d, r.stderr)
	}
}
