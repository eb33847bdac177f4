package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// tmuxSession drives the real k3sca binary in a detached tmux session.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func (s tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", "wz") }

// waitFor polls the screen until it contains want.
func (s tmuxSession) waitFor(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		scr := s.screen()
		if strings.Contains(scr, want) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %q; last screen:\n%s", want, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s tmuxSession) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		s.tmux("send-keys", "-t", "wz", k)
		time.Sleep(150 * time.Millisecond) // keep ESC-free key sequences apart
	}
}

// TestWizardInTmux runs the built binary's wizard at 80x24 in tmux on a
// sandbox and types through a custom-CA rotation to a new root (the
// disruptive one: confirmed by the cluster's name), then checks the screen
// and the datastore: it now holds the new server CA, which chains to the
// imported root, and the sandbox's k3s took it at its simulated restart.
func TestWizardInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "k3sca")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sbRoot := filepath.Join(dir, "sb")
	if out, err := exec.Command(bin, "sandbox", "--no-tui", "--dir", sbRoot).CombinedOutput(); err != nil {
		t.Fatalf("sandbox: %v\n%s", err, out)
	}
	dd := filepath.Join(sbRoot, "data")
	rootDir := writeRootCA(t)
	s := tmuxSession{t: t, socket: fmt.Sprintf("k3sca-test-%d", os.Getpid())}
	s.tmux("new-session", "-d", "-s", "wz", "-x", "80", "-y", "24",
		fmt.Sprintf("%s -d %s; sleep 60", bin, dd))
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })

	s.waitFor("What do you want to do?")
	s.waitFor("CA hash")
	s.keys("Down", "Down", "Down", "Enter")
	s.waitFor("▸ root of trust")
	s.keys("Right", "Down")
	s.typeText(filepath.Join(rootDir, "root.p"))
	s.keys("Tab") // completes root.pem
	s.waitFor("root.pem")
	s.keys("Down")
	s.typeText(filepath.Join(rootDir, "root.key"))
	s.keys("C-s")
	s.waitFor("Step 1/7 writes")
	s.keys("Enter") // enter alone is No
	s.waitFor("not confirmed")
	s.keys("Escape")
	s.waitFor("What do you want to do?")
	if staged, _ := filepath.Glob(filepath.Join(sbRoot, "k3sca-custom-ca-*")); len(staged) > 0 {
		t.Fatalf("a declined step wrote %v", staged)
	}

	s.keys("Down", "Down", "Down", "Enter")
	s.waitFor("▸ root of trust")
	s.keys("Right", "Down")
	s.typeText(filepath.Join(rootDir, "root.pem"))
	s.keys("Down")
	s.typeText(filepath.Join(rootDir, "root.key"))
	s.keys("C-s")
	s.waitFor("Step 1/7 writes")
	s.keys("y", "Enter")
	s.waitFor(`Type "sandbox"`)
	s.typeText("sandbox")
	s.keys("Enter")
	s.waitFor("Step 6/7 writes")
	s.keys("y", "Enter")
	done := s.waitFor("✓ done")
	for i, line := range strings.Split(done, "\n") {
		if w := len([]rune(line)); w > 80 {
			t.Errorf("line %d is %d columns wide: %q", i, w, line)
		}
	}
	sb, err := steps.OpenSandbox(dd)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(done, sb.Token.Password) {
		t.Error("the token secret is on screen before the operator asked")
	}
	s.keys("t") // the operator asks for the token; scroll down to step 3
	shown := false
	for i := 0; i < 10 && !shown; i++ {
		// The token is wider than 80 columns: it wraps onto the next line.
		shown = strings.Contains(strings.Join(strings.Fields(s.screen()), ""), "::server:"+sb.Token.Password)
		s.keys("PageDown")
	}
	if !shown {
		t.Errorf("after t the full token never showed:\n%s", s.screen())
	}
	s.keys("q")
	// After the screen is restored, the revealed token is printed whole.
	after := strings.Join(strings.Fields(s.waitFor("The token you asked to see")), "")
	if !strings.Contains(after, "::server:"+sb.Token.Password) {
		t.Errorf("the revealed token is not printed after the wizard:\n%s", s.screen())
	}

	rep, err := steps.ShowDatastore(context.Background(), steps.AccessInput{DataDir: dd, Via: steps.ViaSQLite}, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Revision < 2 {
		t.Errorf("datastore revision %d after the wizard's load, want a new one", rep.Revision)
	}
	for _, f := range rep.Fields {
		if f.Field == "ServerCA" && f.Disk != "equal" {
			t.Errorf("after the simulated restart the server CA on disk should equal the datastore's: %s", f.Disk)
		}
	}
	assertChainsToRoot(t, dd, filepath.Join(rootDir, "root.pem"))
}

// typeText types s literally.
func (s tmuxSession) typeText(text string) {
	s.t.Helper()
	s.tmux("send-keys", "-t", "wz", "-l", text)
	time.Sleep(150 * time.Millisecond)
}

// writeRootCA makes an operator's root CA with openssl when it is there
// (as an operator would), else with the engine; returns its dir.
func writeRootCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
			"-keyout", filepath.Join(dir, "root.key"), "-out", filepath.Join(dir, "root.pem"), "-days", "3650",
			"-subj", "/CN=Example Root CA", "-addext", "basicConstraints=critical,CA:TRUE",
			"-addext", "keyUsage=critical,keyCertSign,cRLSign").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl: %v\n%s", err, out)
		}
		return dir
	}
	set, err := pki.GenerateCustomCA(context.Background(), pki.GenOptions{Product: product.K3s, Now: time.Now().Add(-time.Hour)}, pki.CustomCAInput{})
	if err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{pki.RootCertPath: "root.pem", pki.RootKeyPath: "root.key"} {
		f, _ := set.File(src)
		if err := os.WriteFile(filepath.Join(dir, dst), f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// assertChainsToRoot checks that the live server CA verifies up to rootPEM.
func assertChainsToRoot(t *testing.T, dataDir, rootPEM string) {
	t.Helper()
	rootB, err := os.ReadFile(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := pki.Field("ServerCA")
	bundle, err := os.ReadFile(f.Abs(product.ServerDir(dataDir)))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertsPEM(bundle)
	if err != nil || len(certs) == 0 {
		t.Fatalf("server CA: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootB) {
		t.Fatal("root PEM")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		t.Fatalf("the server CA does not chain to the imported root: %v", err)
	}
}
