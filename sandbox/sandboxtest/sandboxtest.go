// Package sandboxtest builds the sandboxes the tests of several packages
// run on, as net/http/httptest builds servers. Only test code imports it.
package sandboxtest

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
)

// New creates a k3s sandbox data dir, made a day before testkit.Now, under
// a short temp dir, so that <server>/kine.sock stays below the 108-byte
// unix socket limit.
func New(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	root, err := os.MkdirTemp("", "st")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	sb, err := sandbox.Create(context.Background(), sandbox.Input{
		DataDir: filepath.Join(root, "data"), Product: product.K3s, Now: testkit.Now.Add(-24 * time.Hour),
	})
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	return sb
}

// InWorkDir makes a fresh temp dir the working dir and creates the sandbox
// in as there, at the relative data dir "data" (k3s unless in names a
// product), with fixed randomness unless in has its own: every path and
// secret on screen is short and the same from run to run.
func InWorkDir(t testing.TB, in sandbox.Input) *sandbox.Sandbox {
	t.Helper()
	t.Chdir(t.TempDir())
	in.DataDir = "data"
	if in.Product == (product.Product{}) {
		in.Product = product.K3s
	}
	if in.Rand == nil {
		in.Rand = rand.NewChaCha8([32]byte{1})
	}
	sb, err := sandbox.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	return sb
}

// Stage writes a cross-signed rotation of the sandbox's CAs and returns
// its dir.
func Stage(t testing.TB, sb *sandbox.Sandbox) string {
	t.Helper()
	set, err := pki.GenerateRotation(context.Background(), pki.GenOptions{Product: product.K3s, Now: testkit.Now}, sb.ServerDir)
	if err != nil {
		t.Fatalf("generate rotation: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "stage")
	if err := set.Write(context.Background(), dir, testkit.Now); err != nil {
		t.Fatal(err)
	}
	return dir
}

// DBPath is the sandbox's kine database, server/db/state.db.
func DBPath(sb *sandbox.Sandbox) string {
	return filepath.Join(sb.ServerDir, filepath.FromSlash(pki.DatastoreFile))
}

// Snapshot maps every file under dir (slash-separated) to its content
// and mtime, so that a rewrite with the same content shows too.
func Snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b) + "|" + fi.ModTime().UTC().Format(time.RFC3339Nano)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// CheckAgentSigned fails unless every agent cert in agent is the leaf of the
// server's current bundle (signature, AKI, bundle appended) for its own key.
func CheckAgentSigned(t testing.TB, server, agent string) {
	t.Helper()
	for _, c := range pki.AgentCerts(product.K3s, sandbox.AgentNode) {
		f, _ := pki.Field(c.CA)
		bundle, err := pki.LoadBundle(f.Abs(server))
		if err != nil {
			t.Fatal(err)
		}
		certs, err := pki.LoadBundle(filepath.Join(agent, c.Name+".crt"))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := pki.LoadPrivateKeys(filepath.Join(agent, c.Name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		leaf := certs[0]
		if leaf.CheckSignatureFrom(bundle[0]) != nil || string(leaf.AuthorityKeyId) != string(bundle[0].SubjectKeyId) ||
			!pki.PublicKeyEqual(keys[0].Public(), leaf.PublicKey) || len(certs) != 1+len(bundle) {
			t.Errorf("%s.crt is not signed by the server's first %s cert for its key, with the bundle", c.Name, c.CA)
		}
		for i, b := range bundle {
			if !certs[i+1].Equal(b) {
				t.Errorf("%s.crt: cert %d is not %s bundle cert %d", c.Name, i+2, c.CA, i+1)
			}
		}
	}
}
