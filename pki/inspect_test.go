package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
)

const tcDay = 24 * time.Hour

func TestInspectStatusAt(t *testing.T) {
	nb := tcEpoch
	na := tcEpoch.Add(365 * tcDay)
	c := &x509.Certificate{NotBefore: nb, NotAfter: na}
	w := DefaultRenewWindow
	tests := []struct {
		name string
		now  time.Time
		want Status
	}{
		{"before NotBefore", nb.Add(-time.Nanosecond), StatusNotYetValid},
		{"at NotBefore", nb, StatusOK},
		{"well inside", nb.Add(100 * tcDay), StatusOK},
		{"window ends exactly at NotAfter", na.Add(-w), StatusOK},
		{"window ends just past NotAfter", na.Add(-w + time.Nanosecond), StatusWarning},
		{"at NotAfter", na, StatusWarning},
		{"past NotAfter", na.Add(time.Nanosecond), StatusExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StatusAt(c, tt.now, w); got != tt.want {
				t.Fatalf("StatusAt = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestInspectCertUsages(t *testing.T) {
	tests := []struct {
		name string
		c    x509.Certificate
		want []string
	}{
		{"none", x509.Certificate{KeyUsage: x509.KeyUsageDigitalSignature}, []string{"Unknown"}},
		{"CA", x509.Certificate{KeyUsage: x509.KeyUsageCertSign}, []string{"CertSign"}},
		{"client then server", x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}, []string{"ClientAuth", "ServerAuth"}},
		{"CA with server", x509.Certificate{KeyUsage: x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, []string{"CertSign", "ServerAuth"}},
		{"other EKU only", x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}, []string{"Unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CertUsages(&tt.c); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("CertUsages = %v, want %v", got, tt.want)
			}
		})
	}
}

// tcServerFixture writes a k3s-like data dir: five CAs (server-ca.crt is a
// 2-cert bundle), an OK admin leaf with the CA appended, an expiring
// supervisor leaf, a not-yet-valid scheduler leaf, an expired agent kubelet
// cert and a corrupt auth-proxy cert.
func tcServerFixture(t *testing.T, withServer bool) string {
	t.Helper()
	dir := t.TempDir()
	d := filepath.Join(dir, "server")
	ca, caKey := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-client-ca@1", IsCA: true, NotAfter: tcEpoch.Add(3650 * tcDay)})
	if withServer {
		for _, c := range CATypes {
			cert, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: c.DefaultCN(product.K3s) + "@1", IsCA: true, NotAfter: tcEpoch.Add(3650 * tcDay)})
			data := testkit.CertPEM(cert)
			switch c.Field {
			case "ClientCA":
				data = testkit.CertPEM(ca)
			case "ServerCA":
				old, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-server-old@0", IsCA: true, NotAfter: tcEpoch.Add(-tcDay), NotBefore: tcEpoch.Add(-400 * tcDay)})
				data = testkit.CertPEM(cert, old)
			}
			tcWrite(t, d, c.CertField().Path, data, 0o644)
		}
		admin, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "system:admin", Serial: 0x2a, Parent: ca, ParentKey: caKey, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		tcWrite(t, d, "tls/client-admin.crt", testkit.CertPEM(admin, ca), 0o644)
		sup, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "system:k3s-supervisor", Parent: ca, ParentKey: caKey, NotBefore: tcEpoch.Add(-300 * tcDay)})
		tcWrite(t, d, "tls/client-supervisor.crt", testkit.CertPEM(sup, ca), 0o644)
		sched, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "system:kube-scheduler", Parent: ca, ParentKey: caKey, NotBefore: tcEpoch.Add(tcDay)})
		tcWrite(t, d, "tls/client-scheduler.crt", testkit.CertPEM(sched, ca), 0o644)
		tcWrite(t, d, "tls/client-auth-proxy.crt", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644)
	}
	kubelet, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "system:node:n1", Parent: ca, ParentKey: caKey, NotBefore: tcEpoch.Add(-400 * tcDay)})
	tcWrite(t, dir, "agent/client-kubelet.crt", testkit.CertPEM(kubelet, ca), 0o644)
	return dir
}

func tcSubjects(list []CertInfo) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.Filename+"|"+c.Subject+"|"+string(c.Status))
	}
	return out
}

func TestInspectInventory(t *testing.T) {
	server := tcServerFixture(t, true)
	agent := tcServerFixture(t, false)
	tests := []struct {
		name        string
		dir         string
		services    []string
		wantCAs     []string
		wantLeaves  []string
		wantMissing int
		wantUnread  int
		attention   bool
		wantErr     error
	}{
		{
			name: "server, selected services", dir: server, services: []string{"admin", "kubelet", "auth-proxy"},
			wantCAs: []string{
				"client-ca.crt|k3s-client-ca@1|OK", "server-ca.crt|k3s-server-ca@1|OK", "server-ca.crt|k3s-server-old@0|EXPIRED",
				"request-header-ca.crt|k3s-request-header-ca@1|OK", "peer-ca.crt|etcd-peer-ca@1|OK", "server-ca.crt|etcd-server-ca@1|OK",
			},
			wantLeaves: []string{"client-admin.crt|system:admin|OK", "client-kubelet.crt|system:node:n1|EXPIRED"},
			// agent serving-kubelet.crt and the agent's two CA copies are missing; auth-proxy is corrupt
			wantMissing: 3, wantUnread: 1, attention: true,
		},
		{
			name: "server, statuses", dir: server, services: []string{"supervisor", "scheduler"},
			wantLeaves:  []string{"client-supervisor.crt|system:k3s-supervisor|WARNING", "client-scheduler.crt|system:kube-scheduler|NOT YET VALID"},
			wantMissing: 1, attention: true,
		},
		{
			name: "agent detected: agent services only, no CA files", dir: agent,
			wantLeaves: []string{"client-kubelet.crt|system:node:n1|EXPIRED"},
			// the agent's CA copies 2, k3s-controller 2, kube-proxy 2, serving-kubelet 1
			wantMissing: 7, attention: true,
		},
		{name: "unknown service", dir: server, services: []string{"nope"}, wantErr: ErrUnknownService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Inspect(context.Background(), InspectOptions{DataDir: tt.dir, Services: tt.services, Now: tcEpoch})
			if testkit.ExpectErr(t, err, tt.wantErr) {
				return
			}
			if len(tt.services) == 2 {
				inv.CAs = nil // the CA list was checked in the first case
			}
			if got := tcSubjects(inv.CAs); !reflect.DeepEqual(got, tt.wantCAs) {
				t.Errorf("CAs = %q\nwant %q", got, tt.wantCAs)
			}
			if got := tcSubjects(inv.Leaves); !reflect.DeepEqual(got, tt.wantLeaves) {
				t.Errorf("Leaves = %q\nwant %q", got, tt.wantLeaves)
			}
			if len(inv.Missing) != tt.wantMissing || len(inv.Unreadable) != tt.wantUnread {
				t.Errorf("Missing = %q, Unreadable = %q", inv.Missing, inv.Unreadable)
			}
			if inv.NeedsAttention() != tt.attention {
				t.Errorf("NeedsAttention = %v", inv.NeedsAttention())
			}
		})
	}
}

func TestInspectFields(t *testing.T) {
	dir := tcServerFixture(t, true)
	inv, err := Inspect(context.Background(), InspectOptions{DataDir: dir, Services: []string{"admin", "scheduler"}, Now: tcEpoch})
	if err != nil {
		t.Fatal(err)
	}
	a := inv.Leaves[0]
	if a.Service != "admin" || a.Issuer != "k3s-client-ca@1" || a.Serial != "2a" || a.IsCA ||
		a.Path != filepath.Join(dir, "server/tls/client-admin.crt") || a.Residual != a.NotAfter.Sub(tcEpoch) ||
		!reflect.DeepEqual(a.Usages, []string{"ClientAuth"}) {
		t.Errorf("admin leaf = %+v", a)
	}
	if !inv.CAs[0].IsCA || inv.CAs[0].Service != "client" || !reflect.DeepEqual(inv.CAs[0].Usages, []string{"CertSign"}) {
		t.Errorf("client CA = %+v", inv.CAs[0])
	}
	s := inv.Leaves[1]
	if s.Status != StatusNotYetValid || !s.Expiry().Equal(s.NotBefore) {
		t.Errorf("not yet valid leaf expiry = %v, NotBefore %v", s.Expiry(), s.NotBefore)
	}
	// a shorter window turns nothing into WARNING that was OK at 120 days, and
	// a 0 window means the default.
	long, err := Inspect(context.Background(), InspectOptions{DataDir: dir, Services: []string{"supervisor"}, Now: tcEpoch, RenewWindow: 30 * tcDay})
	if err != nil {
		t.Fatal(err)
	}
	if long.Leaves[0].Status != StatusOK {
		t.Errorf("supervisor with 30-day window = %s, want OK", long.Leaves[0].Status)
	}
}

func TestInspectRKE2AndCancel(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "rke2-client-ca@1", IsCA: true})
	leaf, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "system:rke2-controller", Parent: ca, ParentKey: caKey})
	tcWrite(t, dir, "agent/client-rke2-controller.crt", testkit.CertPEM(leaf, ca), 0o644)
	inv, err := Inspect(context.Background(), InspectOptions{DataDir: dir, Services: []string{"rke2-controller"}, Now: tcEpoch, Product: product.RKE2})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Leaves) != 1 || inv.Leaves[0].Subject != "system:rke2-controller" {
		t.Fatalf("rke2 leaves = %+v", inv.Leaves)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Inspect(ctx, InspectOptions{DataDir: dir, Now: tcEpoch}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Inspect err = %v", err)
	}
	if _, err := Inspect(context.Background(), InspectOptions{}); err == nil {
		t.Fatal("empty data dir accepted")
	}
}

func tcInventory() *Inventory {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	inv := &Inventory{
		CAs: []CertInfo{{Filename: "server-ca.crt", Service: "server", Subject: "k3s-server-ca@1", Issuer: "k3s-server-ca@1",
			Usages: []string{"CertSign"}, NotBefore: nb, NotAfter: nb.Add(3650 * tcDay), Residual: 3500 * tcDay, Status: StatusOK, IsCA: true}},
		Leaves: []CertInfo{
			{Filename: "client-admin.crt", Service: "admin", Subject: "system:admin", Issuer: "k3s-client-ca@1",
				Usages: []string{"ClientAuth"}, NotBefore: nb, NotAfter: nb.Add(365 * tcDay), Residual: 30*tcDay + time.Nanosecond, Status: StatusWarning},
			{Filename: "kube-scheduler.crt", Service: "scheduler", Subject: "kube-scheduler", Issuer: "k3s-server-ca@1",
				Usages: []string{"ServerAuth"}, NotBefore: nb.Add(500 * time.Millisecond), NotAfter: nb.Add(365 * tcDay), Residual: 365 * tcDay, Status: StatusNotYetValid},
		},
		Missing: []string{"/d/server/tls/client-supervisor.crt"},
	}
	inv.Rows = inv.Leaves
	return inv
}

func TestInspectK3sJSON(t *testing.T) {
	got, err := tcInventory().K3sJSON()
	if err != nil {
		t.Fatal(err)
	}
	// k3s's rows first, in their order and without a Source; then k3sca's.
	want := `{"Certificates":[` +
		`{"Filename":"client-admin.crt","Subject":"system:admin","Issuer":"k3s-client-ca@1","Usages":["ClientAuth"],"ExpiryTime":"2027-01-01T00:00:00Z","ResidualTime":2592000000000001,"Status":"WARNING"},` +
		`{"Filename":"kube-scheduler.crt","Subject":"kube-scheduler","Issuer":"k3s-server-ca@1","Usages":["ServerAuth"],"ExpiryTime":"2026-01-01T00:00:00.5Z","ResidualTime":31536000000000000,"Status":"NOT YET VALID"},` +
		`{"Filename":"server-ca.crt","Subject":"k3s-server-ca@1","Issuer":"k3s-server-ca@1","Usages":["CertSign"],"ExpiryTime":"2035-12-30T00:00:00Z","ResidualTime":302400000000000000,"Status":"OK","Source":"ca-file"}]}` + "\n"
	if string(got) != want {
		t.Fatalf("K3sJSON =\n%s\nwant\n%s", got, want)
	}
	y, err := tcInventory().K3sYAML()
	if err != nil {
		t.Fatal(err)
	}
	wantYAML := `certificates:
- filename: client-admin.crt
  subject: system:admin
  issuer: k3s-client-ca@1
  usages:
  - ClientAuth
  expirytime: 2027-01-01T00:00:00Z
  residualtime: 720h0m0.000000001s
  status: WARNING
- filename: kube-scheduler.crt
  subject: kube-scheduler
  issuer: k3s-server-ca@1
  usages:
  - ServerAuth
  expirytime: 2026-01-01T00:00:00.5Z
  residualtime: 8760h0m0s
  status: NOT YET VALID
- filename: server-ca.crt
  subject: k3s-server-ca@1
  issuer: k3s-server-ca@1
  usages:
  - CertSign
  expirytime: 2035-12-30T00:00:00Z
  residualtime: 84000h0m0s
  status: OK
  source: ca-file
`
	if string(y) != wantYAML {
		t.Fatalf("K3sYAML =\n%s\nwant\n%s", y, wantYAML)
	}
	empty, err := (&Inventory{}).K3sJSON()
	if err != nil || string(empty) != "{\"Certificates\":null}\n" {
		t.Fatalf("empty K3sJSON = %q, %v", empty, err)
	}
	var v map[string]any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
}

func TestInspectWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := tcInventory().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"CERTIFICATE AUTHORITIES",
		"FILENAME             SERVICE     SUBJECT           ISSUER            USAGES       EXPIRES                  RESIDUAL   STATUS",
		"server-ca.crt        server      k3s-server-ca@1   k3s-server-ca@1   CertSign     Dec 30, 2035 00:00 UTC   9y215d     OK",
		"",
		"LEAF CERTIFICATES",
		"FILENAME             SERVICE     SUBJECT           ISSUER            USAGES       EXPIRES                  RESIDUAL   STATUS",
		"client-admin.crt     admin       system:admin      k3s-client-ca@1   ClientAuth   Jan 01, 2027 00:00 UTC   30d        WARNING",
		"kube-scheduler.crt   scheduler   kube-scheduler    k3s-server-ca@1   ServerAuth   Jan 01, 2026 00:00 UTC   1y0d       NOT YET VALID",
		"",
		"MISSING",
		"/d/server/tls/client-supervisor.crt",
		"",
	}, "\n")
	if b.String() != want {
		t.Fatalf("WriteTable =\n%s\nwant\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Fatal("table contains escape sequences")
	}
	b.Reset()
	if err := (&Inventory{Unreadable: []string{"/x"}}).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	hdr := "FILENAME   SERVICE   SUBJECT   ISSUER   USAGES   EXPIRES   RESIDUAL   STATUS\n"
	if want := "CERTIFICATE AUTHORITIES\n" + hdr + "(none)\n\nLEAF CERTIFICATES\n" + hdr + "(none)\n\nUNREADABLE\n/x\n"; b.String() != want {
		t.Fatalf("empty WriteTable =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestInspectFormatResidual(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0m"}, {59 * time.Second, "0m"}, {90 * time.Minute, "1h"}, {47 * time.Hour, "1d"},
		{400 * tcDay, "1y35d"}, {-3 * tcDay, "-3d"}, {-5 * time.Minute, "-5m"},
	}
	for _, tt := range tests {
		if got := FormatResidual(tt.d); got != tt.want {
			t.Errorf("FormatResidual(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// tcServerAgentCerts writes the dir of a k3s server that runs an agent: the
// five CAs, the agent's four certificates signed by them and its CA copies
// (a stale copy of the server CA bundle when staleServerCopy), and in
// server/tls the shared legacy keys of the same names.
func tcServerAgentCerts(t *testing.T, staleServerCopy bool) string {
	t.Helper()
	dir := t.TempDir()
	d := filepath.Join(dir, "server")
	a := filepath.Join(dir, "agent")
	pem := map[string][]byte{}
	keys := map[string]struct {
		cert *x509.Certificate
		key  crypto.Signer
	}{}
	for _, c := range CATypes {
		cert, key := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: c.DefaultCN(product.K3s) + "@1", IsCA: true, NotAfter: tcEpoch.Add(3650 * tcDay)})
		pem[c.Field] = testkit.CertPEM(cert)
		keys[c.Field] = struct {
			cert *x509.Certificate
			key  crypto.Signer
		}{cert, key}
		tcWrite(t, d, c.CertField().Path, pem[c.Field], 0o644)
	}
	for _, n := range []string{"client-k3s-controller", "client-kube-proxy", "client-kubelet", "serving-kubelet"} {
		tcWrite(t, d, "tls/"+n+".key", keyPEM(t, testkit.ECKey(t, nil)), 0o600)
	}
	tcWrite(t, a, AgentClientCA, pem["ClientCA"], 0o600)
	serverCopy := pem["ServerCA"]
	if staleServerCopy {
		old, _ := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: "k3s-server-ca@0", IsCA: true, NotBefore: tcEpoch.Add(-400 * tcDay), NotAfter: tcEpoch.Add(-tcDay)})
		serverCopy = testkit.CertPEM(old)
	}
	tcWrite(t, a, AgentServerCA, serverCopy, 0o600)
	for _, c := range AgentCerts(product.K3s, "node1") {
		ca := keys[c.CA]
		eku := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		if c.Serving {
			eku = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}
		leaf, key := testkit.MakeCert(t, testkit.CertSpec{Now: tcEpoch, CN: c.CN, Parent: ca.cert, ParentKey: ca.key, ExtKeyUsage: eku})
		tcWrite(t, a, c.Name+".crt", testkit.CertPEM(leaf, ca.cert), 0o600)
		tcWrite(t, a, c.Name+".key", keyPEM(t, key), 0o600)
	}
	return dir
}

func TestInspectServerWithAgent(t *testing.T) {
	fresh := tcServerAgentCerts(t, false)
	stale := tcServerAgentCerts(t, true)
	agentLeaves := []string{
		"client-k3s-controller.crt|system:k3s-controller|OK",
		"client-kube-proxy.crt|system:kube-proxy|OK",
		"client-kubelet.crt|system:node:node1|OK",
		"serving-kubelet.crt|node1|OK",
	}
	serverCAs := []string{
		"client-ca.crt|k3s-client-ca@1|OK", "server-ca.crt|k3s-server-ca@1|OK", "request-header-ca.crt|k3s-request-header-ca@1|OK",
		"peer-ca.crt|etcd-peer-ca@1|OK", "server-ca.crt|etcd-server-ca@1|OK",
	}
	tests := []struct {
		name        string
		dir         string
		services    []string
		wantCAs     []string
		wantLeaves  []string
		wantMissing []string // entries under agent/ or of agent services in server/tls, relative to the data dir
		attention   bool
	}{
		{
			name: "all services: the agent's certs and CA copies beside the server's", dir: fresh,
			wantCAs:    append(append([]string{}, serverCAs...), "client-ca.crt|k3s-client-ca@1|OK", "server-ca.crt|k3s-server-ca@1|OK"),
			wantLeaves: agentLeaves,
			// only the legacy server-side certs k3s deletes at every start
			wantMissing: []string{"server/tls/client-k3s-controller.crt", "server/tls/client-kube-proxy.crt"},
		},
		{
			name: "agent services only", dir: fresh, services: []string{"kubelet", "kube-proxy", "k3s-controller"},
			wantCAs:     append(append([]string{}, serverCAs...), "client-ca.crt|k3s-client-ca@1|OK", "server-ca.crt|k3s-server-ca@1|OK"),
			wantLeaves:  []string{"client-kubelet.crt|system:node:node1|OK", "serving-kubelet.crt|node1|OK", "client-kube-proxy.crt|system:kube-proxy|OK", "client-k3s-controller.crt|system:k3s-controller|OK"},
			wantMissing: []string{"server/tls/client-kube-proxy.crt", "server/tls/client-k3s-controller.crt"},
		},
		{
			name: "server services only: no agent files", dir: fresh, services: []string{"admin"},
			wantCAs: serverCAs,
		},
		{
			name: "agent's server CA copy is stale after a rotation", dir: stale, services: []string{"kubelet"},
			wantCAs:    append(append([]string{}, serverCAs...), "client-ca.crt|k3s-client-ca@1|OK", "server-ca.crt|k3s-server-ca@0|EXPIRED"),
			wantLeaves: []string{"client-kubelet.crt|system:node:node1|OK", "serving-kubelet.crt|node1|OK"},
			attention:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Inspect(context.Background(), InspectOptions{DataDir: tt.dir, Services: tt.services, Now: tcEpoch})
			if err != nil {
				t.Fatal(err)
			}
			if got := tcSubjects(inv.CAs); !reflect.DeepEqual(got, tt.wantCAs) {
				t.Errorf("CAs = %q\nwant %q", got, tt.wantCAs)
			}
			if got := tcSubjects(inv.Leaves); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(tt.wantLeaves))) {
				t.Errorf("Leaves = %q\nwant %q", got, tt.wantLeaves)
			}
			for _, c := range inv.Leaves {
				if filepath.Dir(c.Path) != filepath.Join(tt.dir, "agent") {
					t.Errorf("leaf %s is not the agent's", c.Path)
				}
			}
			n := len(serverCAs)
			if len(inv.CAs) > n && (inv.CAs[n].Service != "agent/client" || inv.CAs[n].Path != filepath.Join(tt.dir, "agent", AgentClientCA) ||
				inv.CAs[n+1].Service != "agent/server") {
				t.Errorf("agent CA copies = %+v", inv.CAs[n:])
			}
			var missing []string
			for _, p := range inv.Missing {
				rel, _ := filepath.Rel(tt.dir, p)
				if rel = filepath.ToSlash(rel); strings.HasPrefix(rel, "agent/") ||
					rel == "server/tls/client-k3s-controller.crt" || rel == "server/tls/client-kube-proxy.crt" {
					missing = append(missing, rel)
				}
			}
			if !slices.Equal(slices.Sorted(slices.Values(missing)), slices.Sorted(slices.Values(tt.wantMissing))) {
				t.Errorf("Missing = %q\nwant %q", missing, tt.wantMissing)
			}
			if len(inv.Unreadable) > 0 || inv.NeedsAttention() != tt.attention {
				t.Errorf("Unreadable %q, NeedsAttention %v", inv.Unreadable, inv.NeedsAttention())
			}
		})
	}
}
