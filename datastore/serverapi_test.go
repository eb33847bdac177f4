package datastore

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

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

const tpPassword = "s3cret-password"

// tpK3sServer is a k3s supervisor (testservers.Supervisor) validating with pki.Validate against a real
// current server dir and storing through kine's SQLite file.
type tpK3sServer struct {
	URL        string
	bundle     []byte
	currentDir string
	dbPath     string
	// lastErr is why the last PUT got a 500, as a real server logs it.
	lastErr error
	// logged are the lines k3s would have logged for its 500s.
	logged []string
}

// startK3sServer generates a current server dir and serves it over TLS with
// a leaf signed by servingCA, or by the server CA itself when servingCA is nil.
func startK3sServer(t *testing.T, servingCA *tpCA) *tpK3sServer {
	t.Helper()
	ctx := context.Background()
	s := &tpK3sServer{currentDir: t.TempDir()}
	set, err := pki.GenerateDefaultCAs(pki.GenOptions{Now: testkit.Now})
	if err != nil {
		t.Fatalf("generate current CAs: %v", err)
	}
	if err := set.Write(ctx, s.currentDir, testkit.Now); err != nil {
		t.Fatalf("write current CAs: %v", err)
	}
	caPath := pki.ServerCAPath(s.currentDir)
	if servingCA == nil {
		servingCA = tpLoadCA(t, caPath, filepath.Join(s.currentDir, "tls", "server-ca.key"))
	}
	if s.bundle, err = os.ReadFile(caPath); err != nil {
		t.Fatal(err)
	}
	s.dbPath = filepath.Join(t.TempDir(), "state.db")
	if err := InitKineDB(ctx, s.dbPath); err != nil {
		t.Fatalf("create kine db: %v", err)
	}
	s.URL = testservers.StartSupervisor(t, testservers.Supervisor{
		Bundle: s.bundle, Path: product.K3s.CACertsPath(), Password: tpPassword, Serving: servingCA.tpTLSCert(t),
		Save: s.validateAndSave, ErrorID: 12345, Now: testkit.Now,
		Refused: func(err error, logged []string) { s.lastErr, s.logged = err, append(s.logged, logged...) },
	})
	return s
}

func (s *tpK3sServer) validateAndSave(ctx context.Context, body []byte, force bool) error {
	b, err := DecodeBootstrap(body)
	if err != nil {
		return err
	}
	staged, err := os.MkdirTemp("", "rotate-ca-tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(staged)
	for _, f := range pki.RotatableFields() {
		if e, ok := b[f.Name]; ok && len(e.Content) > 0 {
			if err := os.MkdirAll(filepath.Dir(f.Abs(staged)), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(f.Abs(staged), e.Content, 0o600); err != nil {
				return err
			}
		}
	}
	rep, err := pki.Validate(ctx, pki.ValidateInput{CurrentDir: s.currentDir, StagedDir: staged, Now: testkit.Now, Force: force})
	if err != nil {
		return err
	}
	if !rep.OK {
		return rep.Err()
	}
	value, err := Encrypt(tpPassword, body)
	if err != nil {
		return err
	}
	db, err := OpenSQLite(ctx, s.dbPath, 0)
	if err != nil {
		return err
	}
	defer db.Close()
	key := StorageKey(tpPassword)
	kv, err := db.Get(ctx, key)
	if errors.Is(err, ErrKeyNotFound) {
		_, err = db.Create(ctx, key, value)
		return err
	} else if err != nil {
		return err
	}
	_, err = db.Update(ctx, key, kv.ModRevision, value)
	return err
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
		{"unrelated CAs refused without force", func(string) pki.Token { return pki.Token{Password: tpPassword} }, "unrelated", false, ErrServerRefused,
			[]string{"certificate error ID 12345", "journalctl -u k3s | grep 12345"}},
		{"unrelated CAs accepted with force", func(string) pki.Token { return pki.Token{Password: tpPassword} }, "unrelated", true, nil, nil},
		{"wrong password", func(string) pki.Token { return pki.Token{Username: "server", Password: "wrong"} }, "rotation", false, ErrServerAuth, nil},
		{"bootstrap token has no server role", func(string) pki.Token { return pki.Token{BootstrapToken: "abcdef.0123456789abcdef"} }, "rotation", false, ErrServerAuth, nil},
		{"token CA hash mismatch", func(string) pki.Token { return pki.Token{CAHash: zeros, Password: tpPassword} }, "rotation", false, ErrCAHashMismatch,
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
			api := &ServerAPI{URL: srv.URL, Token: tt.token(h.Hex), Product: product.K3s, Now: testClock}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = api.PutCACerts(ctx, body, tt.force)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("PutCACerts err = %v, want %v", err, tt.wantErr)
			}
			var refused *ServerRefusedError
			if errors.Is(tt.wantErr, ErrServerRefused) && (!errors.As(err, &refused) || refused.ID != "12345" || refused.Unit != "k3s" || !refused.Sent.Equal(testkit.Now) ||
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
			db, err := OpenSQLite(ctx, srv.dbPath, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			kv, err := db.Get(ctx, StorageKey(tpPassword))
			if errors.Is(tt.wantErr, ErrServerRefused) && !errors.Is(srv.lastErr, pki.ErrValidation) {
				t.Errorf("server refused for %v, want a validation error", srv.lastErr)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, ErrKeyNotFound) {
					t.Errorf("refused request stored data: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("stored value: %v", err)
			}
			plain, err := Decrypt(tpPassword, kv.Value)
			if err != nil || !bytes.Equal(plain, body) {
				t.Errorf("stored value decrypts to %d bytes (err %v), want the %d sent", len(plain), err, len(body))
			}
		})
	}
}

func TestServerAPIReachability(t *testing.T) {
	srv := startK3sServer(t, nil)
	wrongCA := startK3sServer(t, tpNewCA(t, "impostor-ca"))
	closed := fmt.Sprintf("https://127.0.0.1:%d", tpFreePort(t))
	tok := pki.Token{Password: tpPassword}
	tests := []struct {
		name string
		url  string
		call func(ctx context.Context, api *ServerAPI) error
		want error
	}{
		{"ping answers", srv.URL, func(ctx context.Context, a *ServerAPI) error { return a.Ping(ctx) }, nil},
		{"ping closed port", closed, func(ctx context.Context, a *ServerAPI) error { return a.Ping(ctx) }, ErrUnreachable},
		{"fetch closed port", closed, func(ctx context.Context, a *ServerAPI) error { _, err := a.FetchCACerts(ctx); return err }, ErrUnreachable},
		{"put closed port", closed, func(ctx context.Context, a *ServerAPI) error { return a.PutCACerts(ctx, []byte("{}\n"), false) }, ErrUnreachable},
		{"serving cert not from /cacerts", wrongCA.URL, func(ctx context.Context, a *ServerAPI) error { _, err := a.FetchCACerts(ctx); return err }, ErrCAValidation},
		{"GET on the rotate endpoint is 405", srv.URL, func(ctx context.Context, a *ServerAPI) error {
			if _, err := a.FetchCACerts(ctx); err != nil {
				return err
			}
			code, _, err := a.get(ctx, a.client(nil), product.K3s.CACertsPath())
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
			err := tt.call(ctx, &ServerAPI{URL: tt.url, Token: tok, Timeout: 3 * time.Second, Now: testClock})
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestServerAPIPutResult(t *testing.T) {
	tests := []struct {
		name    string
		p       product.Product
		status  int
		body    string
		want    error
		wantMsg string
	}{
		{"204", product.K3s, 204, "", nil, ""},
		{"401", product.K3s, 401, "not authorized", ErrServerAuth, "k3s:server"},
		{"403", product.RKE2, 403, "forbidden", ErrServerAuth, "rke2:server"},
		{"500 with ID on rke2", product.RKE2, 500, `{"message":"certificate error ID 54321"}`, ErrServerRefused, "journalctl -u rke2-server | grep 54321"},
		{"500 without ID", product.K3s, 500, "boom", ErrServerStatus, "500"},
		{"404", product.K3s, 404, "", ErrServerStatus, "/v1-k3s/cert/cacerts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&ServerAPI{Product: tt.p}).putResult(tt.status, []byte(tt.body), testkit.Now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantMsg)
			}
		})
	}
}
