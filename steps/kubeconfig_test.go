package steps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestSandboxKubeconfig: a sandbox has the admin kubeconfig a k3s server
// writes, under its own root and never the machine's /etc; it embeds the
// server CA and the admin certificate, and a simulated start rewrites it
// after a CA rotation, as k3s does at every start.
func TestSandboxKubeconfig(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	path := node.KubeconfigPath(sb.DataDir, product.K3s)
	if want := filepath.Join(filepath.Dir(sb.DataDir), "etc", "rancher", "k3s", "k3s.yaml"); path != want {
		t.Fatalf("kubeconfig at %s, want %s", path, want)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig %v, mode %v; want 0600", err, fi)
	}
	certs, err := pki.InspectKubeconfig(path, testkit.Now, pki.DefaultRenewWindow)
	if err != nil || len(certs) != 3 {
		t.Fatalf("kubeconfig certs %d, %v; want the server CA, the admin cert and its CA", len(certs), err)
	}
	admin, _ := pki.CertsFromFile(filepath.Join(sb.ServerDir, "tls", "client-admin.crt"))
	server, _ := pki.CertsFromFile(pki.ServerCAPath(sb.ServerDir))
	want := []struct{ kind, serial string }{{"cluster", server[0].SerialNumber.String()}, {"user", admin[0].SerialNumber.String()}, {"user", admin[1].SerialNumber.String()}}
	for i, w := range want {
		if c := certs[i]; c.Embedded.Kind != w.kind || c.Embedded.Key != "default" || c.SerialDecimal != w.serial {
			t.Errorf("cert %d = %s/%s serial %s, want %s/default serial %s", i, c.Embedded.Kind, c.Embedded.Key, c.SerialDecimal, w.kind, w.serial)
		}
	}
	l := NewLoad(stInput(sb, sandboxtest.Stage(t, sb), ViaAuto))
	if _, err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.SimulateRestart(ctx, sb.DataDir, product.K3s, testkit.Now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	certs, err = pki.InspectKubeconfig(path, testkit.Now, pki.DefaultRenewWindow)
	rotated, _ := pki.CertsFromFile(pki.ServerCAPath(sb.ServerDir))
	if rotated[0].Equal(server[0]) {
		t.Fatal("the load did not change the server CA")
	}
	if err != nil || certs[0].Subject != rotated[0].Subject.CommonName || !certs[0].NotAfter.Equal(rotated[0].NotAfter) ||
		certs[0].SerialDecimal != rotated[0].SerialNumber.String() || certs[0].SubjectName.String() != rotated[0].Subject.String() {
		t.Errorf("after the rotation the kubeconfig holds %s, want the new server CA %s (%v)", certs[0].Subject, rotated[0].Subject.CommonName, err)
	}
}

// TestInspectKubeconfigErrors: an absent kubeconfig wraps ErrNoKubeconfig;
// a broken one is an error naming the file.
func TestInspectKubeconfigErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := pki.InspectKubeconfig(filepath.Join(dir, "k3s.yaml"), testkit.Now, 0); err == nil || !errors.Is(err, pki.ErrNoKubeconfig) {
		t.Errorf("absent: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("users:\n- name: default\n  user:\n    client-certificate-data: not-base64!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.InspectKubeconfig(bad, testkit.Now, 0); err == nil || errors.Is(err, pki.ErrNoKubeconfig) {
		t.Errorf("broken: %v", err)
	}
}
