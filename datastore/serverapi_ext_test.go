package datastore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/datastore/datastoretest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// The server API tests are external: datastoretest, the stand-in k3s
// server, imports datastore.

const tpPassword = "s3cret-password"

// tpK3sServer is a stand-in k3s server (datastoretest.Server) with a
// fresh current server dir and an empty kine SQLite file.
type tpK3sServer struct {
	datastoretest.Server
	URL    string
	bundle []byte
	// lastErr is why the last PUT got a 500, as a real server logs it.
	lastErr error
	// logged are the lines k3s would have logged for its 500s.
	logged []string
}

// startK3sServer generates a current server dir and serves it over TLS with
// a leaf signed by its server CA, or by servingCA when set.
func startK3sServer(t *testing.T, servingCA *testkit.CertSpec) *tpK3sServer {
	t.Helper()
	ctx := context.Background()
	s := &tpK3sServer{Server: datastoretest.Server{Dir: t.TempDir(), DBPath: filepath.Join(t.TempDir(), "state.db"), Password: tpPassword, ErrorID: 12345}}
	set, err := pki.GenerateDefaultCAs(pki.GenOptions{Now: testkit.Now})
	if err != nil {
		t.Fatalf("generate current CAs: %v", err)
	}
	if err := set.Write(ctx, s.Dir, testkit.Now); err != nil {
		t.Fatalf("write current CAs: %v", err)
	}
	if s.bundle, err = os.ReadFile(pki.ServerCAPath(s.Dir)); err != nil {
		t.Fatal(err)
	}
	if err := datastore.InitKineDB(ctx, s.DBPath); err != nil {
		t.Fatalf("create kine db: %v", err)
	}
	if servingCA != nil {
		ca, key := testkit.MakeCert(t, *servingCA)
		s.Serving = datastoretest.ServingCert(t, ca, key)
	}
	s.Refused = func(err error, logged []string) { s.lastErr, s.logged = err, append(s.logged, logged...) }
	s.URL = s.Start(t)
	return s
}

// tpBody builds the bootstrap JSON rotate-ca would send for a staged set.
func tpBody(t *testing.T, s *tpK3sServer, stage string) []byte {
	t.Helper()
	ctx := context.Background()
	opts := pki.GenOptions{Now: testkit.Now}
	var set *pki.StagedSet
	var err error
	if stage == "rotation" {
		set, err = pki.GenerateRotation(ctx, opts, s.Dir)
	} else {
		set, err = pki.GenerateDefaultCAs(opts)
	}
	if err != nil {
		t.Fatalf("stage %s: %v", stage, err)
	}
	dir := t.TempDir()
	if err := set.Write(ctx, dir, testkit.Now); err != nil {
		t.Fatalf("write staged: %v", err)
	}
	b, _, err := datastore.Build(ctx, datastore.BuildInput{CurrentDir: s.Dir, StagedDir: dir, Now: testkit.Now})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	body, err := b.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return body
}

func TestServerAPIPutCACerts(t *testing.T) {
	zeros := strings.Repeat("0", 64)
	tests := []struct {
		name    string
		token   func(hash string) pki.Token
		stage   string
		force   bool
		wantErr error
		wantMsg []string
	}{
		{"rotation accepted, token with CA hash", func(h string) pki.Token { return pki.Token{CAHash: h, Username: "server", Password: tpPassword} }, "rotation", false, nil, nil},
		{"rotation accepted, bare password token", func(string) pki.Token { return pki.Token{Password: tpPassword} }, "rotation", false, nil, nil},
		{"unrelated CAs refused without force", func(string) pki.Token { return pki.Token{Password: tpPassword} }, "unrelated", false, datastore.ErrServerRefused,
			[]string{"certificate error ID 12345", "journalctl -u k3s | grep 12345"}},
		{"unrelated CAs accepted with force", func(string) pki.Token { return pki.Token{Password: tpPassword} }, "unrelated", true, nil, nil},
		{"wrong password", func(string) pki.Token { return pki.Token{Username: "server", Password: "wrong"} }, "rotation", false, datastore.ErrServerAuth, nil},
		{"bootstrap token has no server role", func(string) pki.Token { return pki.Token{BootstrapToken: "abcdef.0123456789abcdef"} }, "rotation", false, datastore.ErrServerAuth, nil},
		{"token CA hash mismatch", func(string) pki.Token { return pki.Token{CAHash: zeros, Password: tpPassword} }, "rotation", false, datastore.ErrCAHashMismatch,
			[]string{"token CA hash does not match the Cluster CA certificate hash: " + zeros + " != "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startK3sServer(t, nil)
			h, err := pki.HashCA(srv.bundle, testkit.Now)
			if err != nil {
				t.Fatal(err)
			}
			body := tpBody(t, srv, tt.stage)
			api := &datastore.ServerAPI{URL: srv.URL, Token: tt.token(h.Hex), Product: product.K3s, Now: testkit.Clock}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = api.PutCACerts(ctx, body, tt.force)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("PutCACerts err = %v, want %v", err, tt.wantErr)
			}
			var refused *datastore.ServerRefusedError
			if errors.Is(tt.wantErr, datastore.ErrServerRefused) && (!errors.As(err, &refused) || refused.ID != "12345" || refused.Unit != "k3s" || !refused.Sent.Equal(testkit.Now) ||
				len(srv.logged) != 2 || !strings.Contains(srv.logged[0], `msg="certificate error ID 12345: `)) {
				t.Errorf("refusal %+v, logged %q: want ID 12345 of unit k3s sent at the pinned clock", refused, srv.logged)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if err != nil && strings.Contains(err.Error(), tpPassword) {
				t.Errorf("error leaks the password: %q", err)
			}
			db, err := datastore.OpenSQLite(ctx, srv.DBPath, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			kv, err := db.Get(ctx, datastore.StorageKey(tpPassword))
			if errors.Is(tt.wantErr, datastore.ErrServerRefused) && !errors.Is(srv.lastErr, pki.ErrValidation) {
				t.Errorf("server refused for %v, want a validation error", srv.lastErr)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, datastore.ErrKeyNotFound) {
					t.Errorf("refused request stored data: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("stored value: %v", err)
			}
			plain, err := datastore.Decrypt(tpPassword, kv.Value)
			if err != nil || !bytes.Equal(plain, body) {
				t.Errorf("stored value decrypts to %d bytes (err %v), want the %d sent", len(plain), err, len(body))
			}
		})
	}
}

func TestServerAPIReachability(t *testing.T) {
	srv := startK3sServer(t, nil)
	wrongCA := startK3sServer(t, &testkit.CertSpec{CN: "impostor-ca", IsCA: true})
	closed := fmt.Sprintf("https://127.0.0.1:%d", testservers.FreePort(t))
	tok := pki.Token{Password: tpPassword}
	tests := []struct {
		name string
		url  string
		call func(ctx context.Context, api *datastore.ServerAPI) error
		want error
	}{
		{"ping answers", srv.URL, func(ctx context.Context, a *datastore.ServerAPI) error { return a.Ping(ctx) }, nil},
		{"ping closed port", closed, func(ctx context.Context, a *datastore.ServerAPI) error { return a.Ping(ctx) }, datastore.ErrUnreachable},
		{"fetch closed port", closed, func(ctx context.Context, a *datastore.ServerAPI) error { _, err := a.FetchCACerts(ctx); return err }, datastore.ErrUnreachable},
		{"put closed port", closed, func(ctx context.Context, a *datastore.ServerAPI) error {
			return a.PutCACerts(ctx, []byte("{}\n"), false)
		}, datastore.ErrUnreachable},
		{"serving cert not from /cacerts", wrongCA.URL, func(ctx context.Context, a *datastore.ServerAPI) error { _, err := a.FetchCACerts(ctx); return err }, datastore.ErrCAValidation},
		{"GET on the rotate endpoint is 405", srv.URL, func(ctx context.Context, a *datastore.ServerAPI) error {
			if _, err := a.FetchCACerts(ctx); err != nil {
				return err
			}
			code, err := a.InsecureGetForTest(ctx, product.K3s.CACertsPath())
			if err == nil && code != http.StatusMethodNotAllowed {
				err = fmt.Errorf("status %d, want 405", code)
			}
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			start := time.Now()
			err := tt.call(ctx, &datastore.ServerAPI{URL: tt.url, Token: tok, Timeout: 3 * time.Second, Now: testkit.Clock})
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
