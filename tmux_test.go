package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/steps"
)

// tmuxSession drives the real k3sca binary in a detached tmux session.
// tmuxSandbox skips the test without tmux or under -short, and returns
// the built binary, the test's temp dir and a sandbox the binary made in
// it (sbRoot; its data dir is sbRoot/data).
func tmuxSandbox(t *testing.T) (bin, dir, sbRoot string) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir = t.TempDir()
	bin = builtBinary(t)
	sbRoot = filepath.Join(dir, "sb")
	if out, err := exec.Command(bin, "sandbox", "--no-tui", "--dir", sbRoot).CombinedOutput(); err != nil {
		t.Fatalf("sandbox: %v\n%s", err, out)
	}
	return bin, dir, sbRoot
}

// startTmux runs cmd in a detached 80x24 tmux session on a socket of its
// own (named after name and the process), killed when the test ends.
func startTmux(t *testing.T, name, cmd string) tmuxSession {
	t.Helper()
	s := tmuxSession{t: t, socket: fmt.Sprintf("k3sca-%s-%d", name, os.Getpid())}
	s.tmux("new-session", "-d", "-s", "wz", "-x", "80", "-y", "24", cmd)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

// flowIndex is the place of the flow id in the wizard's menu (-1: none).
func flowIndex(id string) int {
	for i, sp := range steps.Flows() {
		if sp.ID == id {
			return i
		}
	}
	return -1
}

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
	bin, _, sbRoot := tmuxSandbox(t)
	dd := filepath.Join(sbRoot, "data")
	origPEM, err := os.ReadFile(pki.ServerCAPath(product.ServerDir(dd)))
	if err != nil {
		t.Fatal(err)
	}
	orig, err := pki.HashCA(origPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rootDir := writeRootCA(t)
	s := startTmux(t, "test", fmt.Sprintf("%s -d %s; sleep 60", bin, dd))

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
	if staged, _ := filepath.Glob(filepath.Join(sbRoot, "k3sca-custom-ca-*")); len(staged) > 0 {
		t.Fatalf("a declined step wrote %v", staged)
	}
	// esc after the No goes back to the form, filled as it was.
	s.keys("Escape")
	form := s.waitFor("▸ root of trust")
	if !strings.Contains(form, "root.pem") || !strings.Contains(form, "[new]") {
		t.Fatalf("the form forgot its values:\n%s", form)
	}
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
	sb, err := sandbox.Open(dd)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(done, sb.Token.Password) {
		t.Error("the token secret is on screen before the operator asked")
	}
	s.keys("t") // the operator asks for the token
	s.waitFor("t hide token")
	// w prints the screen's whole lines on the normal screen: the token is
	// wider than 80 columns, the terminal soft-wraps it, -J joins it.
	s.keys("w")
	whole := s.waitFor("enter goes back")
	if joined := s.joined(); !strings.Contains(joined, "::server:"+sb.Token.Password) {
		t.Errorf("w did not print the whole token:\n%s", whole)
	}
	s.keys("Enter")
	s.waitFor("t hide token")
	s.keys("q")
	s.waitFor("The token you asked to see")
	// After the screen is restored, the token and the backup with its undo
	// command are printed whole: copy them from capture-pane -J and use them.
	after := s.joined()
	tokLine := lineWith(t, after, "new token: K10")
	_, tokText, _ := strings.Cut(tokLine, "new token: ")
	tok, err := pki.ParseToken(strings.TrimSpace(tokText))
	if err != nil {
		t.Fatalf("the printed token does not parse: %v\n%s", err, after)
	}
	if tok.Password != sb.Token.Password {
		t.Errorf("the printed token holds another password")
	}
	caPEM, err := os.ReadFile(pki.ServerCAPath(product.ServerDir(dd)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := pki.HashCA(caPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tok.CAHash != h.Hex {
		t.Errorf("the printed token pins %s, the new CA hash is %s", tok.CAHash, h.Hex)
	}
	for i, line := range strings.Split(s.screen(), "\n") {
		if strings.Contains(line, "~") {
			t.Errorf("line %d after exit cuts a value: %q", i, line)
		}
	}
	backupLine := lineWith(t, after, "backup: ")
	_, backup, _ := strings.Cut(backupLine, "backup: ")
	backup = strings.TrimSpace(backup)
	if b, err := steps.ReadBackup(backup); err != nil || b.CAHash != orig.Hex {
		t.Fatalf("the printed backup path %q: %v; want the backup of the value before the rotation (CA hash %s)\n%s", backup, err, orig.Hex, after)
	}
	undoLine := lineWith(t, after, "undo with: ")
	_, undo, _ := strings.Cut(undoLine, "undo with: ")
	undoArgs := strings.Fields(undo)
	if len(undoArgs) < 4 || undoArgs[0] != "k3sca" || !slices.Contains(undoArgs, backup) {
		t.Fatalf("undo command %q does not restore %s", undo, backup)
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

	// The printed undo command, as copied, puts the backup back: the
	// datastore flow stops k3s for the SQLite write and starts it again.
	if out, err := exec.Command(bin, undoArgs[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", undo, err, out)
	}
	after2, err := steps.ShowDatastore(context.Background(), steps.AccessInput{DataDir: dd, Via: steps.ViaSQLite}, "")
	if err != nil {
		t.Fatal(err)
	}
	if after2.Revision <= rep.Revision {
		t.Errorf("after the undo command the datastore revision is %d, was %d", after2.Revision, rep.Revision)
	}
	// k3s was started again on the restored value: the server CA on disk
	// is the datastore's, and no longer the rotated one.
	for _, f := range after2.Fields {
		if f.Field == "ServerCA" && f.Disk != "equal" {
			t.Errorf("after the undo command the server CA on disk is not the datastore's: %s", f.Disk)
		}
	}
	restoredPEM, err := os.ReadFile(pki.ServerCAPath(product.ServerDir(dd)))
	if err != nil {
		t.Fatal(err)
	}
	if rh, err := pki.HashCA(restoredPEM, time.Now()); err != nil || rh.Hex != orig.Hex {
		t.Errorf("after the undo command the server CA hash is %s (%v), want the one before the rotation %s", rh.Hex, err, orig.Hex)
	}
}

// joined is the pane with its soft-wrapped lines joined (capture-pane -J),
// as a triple-click would copy them.
func (s tmuxSession) joined() string {
	return s.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "wz")
}

// lineWith is the last line of text that contains want.
func lineWith(t *testing.T, text, want string) string {
	t.Helper()
	var found string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, want) {
			found = l
		}
	}
	if found == "" {
		t.Fatalf("no line with %q in:\n%s", want, text)
	}
	return found
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
