// Package datastoretest is the stand-in k3s server of the tests that talk
// to the server API (spec 8): testservers.Supervisor answers the HTTP side,
// Server validates and saves as k3s's rotate-ca handler does. Only test
// code imports it; datastore's own tests that use it are external
// (package datastore_test), as it imports datastore.
package datastoretest

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/internal/testservers"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// Server is a running k3s server's side of `certificate rotate-ca`: its
// server dir, its kine SQLite datastore and its token's password.
type Server struct {
	// Dir is the server dir (D = <data-dir>/server) with the current CA
	// files under tls/.
	Dir string
	// DBPath is the kine SQLite file the server stores into.
	DBPath string
	// Password is the server token's password: the basic-auth password,
	// the passphrase and the storage key's source.
	Password string
	// Now is the server's clock, which its validation uses (zero:
	// testkit.Now).
	Now time.Time
	// Serving is the listener's certificate (zero: ServingCert of Dir's
	// server CA).
	Serving tls.Certificate
	// ErrorID is the error ID of a refusal (0: random, as k3s).
	ErrorID int
	// Refused, when set, gets a refusal's error and the lines k3s logs.
	Refused func(err error, logged []string)
}

// Start serves s as the supervisor listener on 127.0.0.1 until the test
// ends: /cacerts serves Dir's server CA bundle, the rotate-ca PUT is
// Save. It returns the URL.
func (s Server) Start(t testing.TB) string {
	t.Helper()
	bundle, err := os.ReadFile(pki.ServerCAPath(s.Dir))
	if err != nil {
		t.Fatal(err)
	}
	if s.Serving.Certificate == nil {
		s.Serving = s.ServingCert(t)
	}
	return testservers.StartSupervisor(t, testservers.Supervisor{
		Bundle: bundle, Path: product.K3s.CACertsPath(), Password: s.Password, Serving: s.Serving,
		Save: s.Save, ErrorID: s.ErrorID, Now: s.now(), Refused: s.Refused,
	})
}

func (s Server) now() time.Time {
	if s.Now.IsZero() {
		return testkit.Now
	}
	return s.Now
}

// Save is k3s's rotate-ca handler after auth (spec 8, steps 2 to 6): the
// body's non-empty rotatable entries go into a temp dir with their
// timestamps as mtimes; pki.Validate checks them against Dir, refusing
// unless force; the merged bootstrap (a field from the body where it has
// content, else from Dir) is saved as Save(override=true) does: Create
// the storage key, or, when it exists and is the only bootstrap key,
// Update it at its ModRevision; last the listener's regenerate trigger is
// written. A refusal changes nothing.
func (s Server) Save(ctx context.Context, body []byte, force bool) error {
	data, err := datastore.DecodeBootstrap(body)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "rotate-ca-tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, f := range pki.RotatableFields() {
		e, ok := data[f.Name]
		if !ok || len(e.Content) == 0 {
			continue
		}
		p := f.Abs(tmp)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, e.Content, 0o600); err != nil {
			return err
		}
		if err := os.Chtimes(p, e.Timestamp, e.Timestamp); err != nil {
			return err
		}
	}
	rep, err := pki.Validate(ctx, pki.ValidateInput{CurrentDir: s.Dir, StagedDir: tmp, Now: s.now(), Force: force})
	if err != nil {
		return err
	}
	if !rep.OK {
		return rep.Err() // k3s's message: "failed to validate new CA certificates and keys: ..."
	}
	merged, fromBody, err := datastore.Build(ctx, datastore.BuildInput{CurrentDir: s.Dir, StagedDir: tmp, Now: testkit.Now})
	if err != nil {
		return err
	}
	for _, name := range fromBody { // ReadFromDisk: the client's mtimes for the new files
		e := merged[name]
		e.Timestamp = data[name].Timestamp
		merged[name] = e
	}
	plain, err := merged.Encode()
	if err != nil {
		return err
	}
	value, err := datastore.Encrypt(s.Password, plain)
	if err != nil {
		return err
	}
	if err := s.store(ctx, value); err != nil {
		return err
	}
	_, err = pki.WriteRegenerateTrigger(s.Dir, testkit.Now)
	return err
}

// store is Save(override=true)'s write of value.
func (s Server) store(ctx context.Context, value []byte) error {
	db, err := datastore.OpenSQLite(ctx, s.DBPath, 0)
	if err != nil {
		return err
	}
	defer db.Close()
	key := datastore.StorageKey(s.Password)
	if _, err := db.Get(ctx, key); errors.Is(err, datastore.ErrKeyNotFound) {
		_, err = db.Create(ctx, key, value)
		return err
	} else if err != nil {
		return err
	}
	keys, err := db.List(ctx, datastore.BootstrapPrefix)
	if err != nil {
		return err
	}
	if len(keys) != 1 {
		return fmt.Errorf("found multiple bootstrap keys in storage")
	}
	_, err = db.Update(ctx, key, keys[0].ModRevision, value)
	return err
}

// ServingCert is the listener's certificate k3s serves: a 127.0.0.1 and
// localhost serving certificate signed by Dir's server CA.
func (s Server) ServingCert(t testing.TB) tls.Certificate {
	t.Helper()
	f, _ := pki.Field("ServerCAKey")
	certs, err := pki.LoadBundle(pki.ServerCAPath(s.Dir))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pki.LoadPrivateKeys(f.Abs(s.Dir))
	if err != nil {
		t.Fatal(err)
	}
	return ServingCert(t, certs[0], keys[0])
}

// ServingCert is a 127.0.0.1 and localhost serving certificate signed by
// ca, valid around testkit.Now.
func ServingCert(t testing.TB, ca *x509.Certificate, caKey crypto.Signer) tls.Certificate {
	t.Helper()
	c, key := testkit.MakeCert(t, testkit.CertSpec{
		CN: "k3s", Parent: ca, ParentKey: caKey, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPs:         []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	})
	return testkit.TLSCert(c, key)
}
