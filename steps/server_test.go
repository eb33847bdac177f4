package steps

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// stServer is how a stand-in k3s server differs from the sandbox's files.
type stServer struct {
	// Now is the server's clock, which its validation uses (zero:
	// testkit.Now).
	Now time.Time
	// Journal, when set, is a file receiving the lines the server logs,
	// as journald would (a stub journalctl prints it).
	Journal string
}

// stSupervisor stands in for the running k3s server of a sandbox, following
// spec 8: /cacerts serves server-ca.crt; PUT /v1-k3s/cert/cacerts checks
// basic auth against the server password, writes the body's non-empty
// entries into a temp dir, validates it (refusing unless force) and saves
// the merged bootstrap data into state.db with a compare-and-swap.
func stSupervisor(t *testing.T, sb *sandbox.Sandbox) string {
	return stSupervisorWith(t, sb, stServer{})
}

// stSupervisorWith is stSupervisor with the server's own clock and log.
// A refusal is answered as k3s answers it: a random error ID in a
// Kubernetes Status, the reason logged with the ID only.
func stSupervisorWith(t *testing.T, sb *sandbox.Sandbox, opt stServer) string {
	t.Helper()
	if opt.Now.IsZero() {
		opt.Now = testkit.Now
	}
	bundle, err := os.ReadFile(pki.ServerCAPath(sb.ServerDir))
	if err != nil {
		t.Fatal(err)
	}
	return testservers.StartSupervisor(t, testservers.Supervisor{
		Bundle: bundle, Path: product.K3s.CACertsPath(), Password: sb.Token.Password, Serving: stServingCert(t, sb), Now: opt.Now,
		Save: func(ctx context.Context, body []byte, force bool) error {
			return stSupervisorSave(ctx, sb, bytes.NewReader(body), force, opt.Now)
		},
		Refused: func(_ error, lines []string) {
			t.Logf("k3s logs:\n%s", strings.Join(lines, "\n"))
			if opt.Journal == "" {
				return
			}
			f, err := os.OpenFile(opt.Journal, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			_, _ = f.WriteString(strings.Join(lines, "\n") + "\n")
		},
	})
}

func stSupervisorSave(ctx context.Context, sb *sandbox.Sandbox, body io.Reader, force bool, now time.Time) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	data, err := datastore.DecodeBootstrap(raw)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "rotate-ca-tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, f := range pki.RotatableFields() {
		if e, ok := data[f.Name]; ok && len(e.Content) > 0 {
			if err := os.MkdirAll(filepath.Dir(f.Abs(tmp)), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(f.Abs(tmp), e.Content, 0o600); err != nil {
				return err
			}
		}
	}
	rep, err := pki.Validate(ctx, pki.ValidateInput{CurrentDir: sb.ServerDir, StagedDir: tmp, Now: now, Force: force})
	if err != nil {
		return err
	}
	if !rep.OK {
		return rep.Err() // k3s's message: "failed to validate new CA certificates and keys: ..."
	}
	merged, _, err := datastore.Build(ctx, datastore.BuildInput{CurrentDir: sb.ServerDir, StagedDir: tmp, Now: testkit.Now})
	if err != nil {
		return err
	}
	plain, err := merged.Encode()
	if err != nil {
		return err
	}
	value, err := datastore.Encrypt(sb.Token.Password, plain)
	if err != nil {
		return err
	}
	db, err := datastore.OpenSQLite(ctx, sandboxtest.DBPath(sb), 0)
	if err != nil {
		return err
	}
	defer db.Close()
	kv, err := db.Get(ctx, sb.Key)
	if err != nil {
		return err
	}
	if _, err = db.Update(ctx, sb.Key, kv.ModRevision, value); err != nil {
		return err
	}
	// k3s's handler, step 6: the listener issues a new certificate at the
	// next start.
	_, err = pki.WriteRegenerateTrigger(sb.ServerDir, testkit.Now)
	return err
}

// stServingCert is the supervisor's listener cert, signed by the sandbox's server CA.
func stServingCert(t *testing.T, sb *sandbox.Sandbox) tls.Certificate {
	t.Helper()
	f, _ := pki.Field("ServerCAKey")
	caCerts, err := pki.LoadBundle(pki.ServerCAPath(sb.ServerDir))
	if err != nil {
		t.Fatal(err)
	}
	caKeys, err := pki.LoadPrivateKeys(f.Abs(sb.ServerDir))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "k3s"},
		NotBefore: testkit.Now.Add(-time.Hour), NotAfter: testkit.Now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCerts[0], key.Public(), caKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestLoadViaServer(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		fresh   bool // stage brand-new self-signed CAs instead of a cross-signed rotation
		force   bool
		token   func(sb *sandbox.Sandbox) string
		wantErr error
	}{
		{name: "cross-signed rotation saved"},
		{name: "new root refused locally", fresh: true, wantErr: ErrRefused},
		{name: "new root forced", fresh: true, force: true},
		{name: "wrong password", wantErr: datastore.ErrServerAuth, token: func(sb *sandbox.Sandbox) string {
			return pki.FormatToken(sb.Token.CAHash, "server:not-the-password")
		}},
		{name: "token CA hash of another cluster", wantErr: datastore.ErrCAHashMismatch, token: func(sb *sandbox.Sandbox) string {
			return sb.Token.WithCAHash(strings.Repeat("0", 64)).String()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			stage := sandboxtest.Stage(t, sb)
			if tc.fresh {
				stage = stFreshCAs(t)
			}
			old := stKV(t, sb)
			in := stInput(sb, stage, ViaServer)
			in.ServerURL, in.Force = stSupervisor(t, sb), tc.force
			if tc.token != nil {
				in.Token = tc.token(sb)
			}
			l := NewLoad(in)
			_, err := l.Preview(ctx)
			if err == nil {
				_, err = l.Run(ctx)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("load: %v, want %v", err, tc.wantErr)
			}
			got := stKV(t, sb)
			if tc.wantErr != nil {
				stSameKV(t, got, old)
				return
			}
			data, err := datastore.DecodeBootstrap(stDecrypt(t, sb, got.Value))
			if err != nil {
				t.Fatal(err)
			}
			staged, err := os.ReadFile(pki.ServerCAPath(stage))
			if err != nil || string(data["ServerCA"].Content) != string(staged) {
				t.Errorf("the datastore's ServerCA is not the staged one (%v)", err)
			}
		})
	}
}

// stFreshCAs stages brand-new self-signed default CAs: a new root k3s refuses without force.
func stFreshCAs(t *testing.T) string {
	t.Helper()
	set, err := pki.GenerateDefaultCAs(pki.GenOptions{Product: product.K3s, Now: testkit.Now})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := set.Write(context.Background(), dir, testkit.Now); err != nil {
		t.Fatal(err)
	}
	return dir
}
