package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

type result struct {
	code           int
	stdout, stderr string
}

// runAt runs the CLI with the pinned clock and no user config file.
func runAt(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb)
	a.now = testkit.Clock
	a.home = func() (string, error) { return t.TempDir(), nil }
	code := a.execute(context.Background(), a.commandTree(args), args)
	return result{code, out.String(), errb.String()}
}

func TestSettingsPrecedence(t *testing.T) {
	cfgDir := t.TempDir()
	cfg := filepath.Join(cfgDir, "k3sca", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("data-dir: /from/config\nproduct: rke2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env, flag, want string
		useConfig             bool
	}{
		{name: "default", want: "/var/lib/rancher/k3s"},
		{name: "config file", useConfig: true, want: "/from/config"},
		{name: "env beats config", useConfig: true, env: "/from/env", want: "/from/env"},
		{name: "flag beats env", useConfig: true, env: "/from/env", flag: "/from/flag", want: "/from/flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("K3SCA_DATA_DIR", tc.env)
			t.Setenv("K3S_DATA_DIR", "/never/read")
			a := newApp(&bytes.Buffer{}, &bytes.Buffer{})
			a.home = func() (string, error) {
				if tc.useConfig {
					return cfgDir, nil
				}
				return t.TempDir(), nil
			}
			root := a.rootCommand()
			if tc.flag != "" {
				if err := root.PersistentFlags().Set(keyDataDir, tc.flag); err != nil {
					t.Fatal(err)
				}
			}
			if tc.env == "" {
				os.Unsetenv("K3SCA_DATA_DIR")
			}
			if err := a.bindSettings(root); err != nil {
				t.Fatal(err)
			}
			got, err := a.dataDir()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("data dir = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateCommand(t *testing.T) {
	sb := sandboxtest.New(t)
	stage := filepath.Join(t.TempDir(), "stage")
	if r := runAt(t, "generate", "rotation", "-d", sb.DataDir, "--out", stage, "--yes"); r.code != 0 {
		t.Fatalf("generate rotation: %d %s", r.code, r.stderr)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	set, err := pki.GenerateDefaultCAs(pki.GenOptions{Product: product.K3s, Now: testkit.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Write(context.Background(), fresh, testkit.Now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		code      int
		class     string
		errPrefix string
	}{
		{name: "cross-signed rotation accepted", args: []string{"--path", stage}, code: 0, class: "cross-signed"},
		{name: "fresh self-signed refused", args: []string{"--path", fresh}, code: 3, class: "new-root",
			errPrefix: "ETCDServerCA: new CA bundle contains only a single certificate"},
		{name: "fresh self-signed forced", args: []string{"--path", fresh, "--force"}, code: 0, class: "new-root",
			errPrefix: "ETCDServerCA: new CA bundle contains only a single certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runAt(t, append([]string{"validate", "-d", sb.DataDir, "-o", "json"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", r.code, tc.code, r.stderr)
			}
			var j validateJSON
			if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
				t.Fatalf("stdout is not only JSON: %v\n%s", err, r.stdout)
			}
			if j.Class != tc.class {
				t.Errorf("class = %q, want %q", j.Class, tc.class)
			}
			if tc.errPrefix == "" && len(j.Errors) != 0 {
				t.Errorf("errors = %q, want none", j.Errors)
			}
			if tc.errPrefix != "" && (len(j.Errors) == 0 || !strings.HasPrefix(j.Errors[0], tc.errPrefix)) {
				t.Errorf("errors = %q, want first starting %q", j.Errors, tc.errPrefix)
			}
			if len(j.Hash.Old) != 64 || len(j.Hash.New) != 64 || j.Hash.Old == j.Hash.New {
				t.Errorf("hash = %+v, want two different 64-hex hashes", j.Hash)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	sb := sandboxtest.New(t)
	tests := []struct {
		name string
		args []string
	}{
		{"validate without path", []string{"validate", "-d", sb.DataDir}},
		{"unknown flag", []string{"check", "--nope"}},
		{"bad output", []string{"check", "-d", sb.DataDir, "-o", "xml"}},
		{"textfile without prometheus", []string{"check", "-d", sb.DataDir, "--textfile", t.TempDir() + "/x.prom"}},
		{"textfile not .prom", []string{"check", "-d", sb.DataDir, "-o", "prometheus", "--textfile", t.TempDir() + "/x.txt"}},
		{"bad exit codes", []string{"check", "-d", sb.DataDir, "--exit-codes", "icinga"}},
		{"bad product", []string{"check", "--product", "k8s"}},
		{"unknown service", []string{"rotate", "-d", sb.DataDir, "--service", "nope", "--dry-run"}},
		{"generate without out", []string{"generate", "rotation", "-d", sb.DataDir}},
		{"bad key type", []string{"generate", "custom-ca", "-d", sb.DataDir, "--out", t.TempDir() + "/x", "--key-type", "dsa"}},
		{"load without yes", []string{"load", "-d", sb.DataDir, "--path", stageRotation(t, sb.DataDir)}},
		{"load without the word", []string{"load", "-d", sb.DataDir, "--path", stageRotation(t, sb.DataDir), "--yes"}},
		{"generate without yes", []string{"generate", "rotation", "-d", sb.DataDir, "--out", t.TempDir() + "/g"}},
		{"rotate without yes", []string{"rotate", "-d", sb.DataDir}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := runAt(t, tc.args...); r.code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %s", r.code, exitUsage, r.stderr)
			}
		})
	}
}

func TestGenerateRefusesUnsafeOut(t *testing.T) {
	sb := sandboxtest.New(t)
	live := filepath.Join(sb.ServerDir, "tls")
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := testkit.Fingerprint(t, sb.DataDir)
	for _, out := range []string{live, filepath.Join(live, "stage"), nonEmpty} {
		if r := runAt(t, "generate", "rotation", "-d", sb.DataDir, "--out", out, "--yes"); r.code != exitFailure {
			t.Errorf("--out %s: exit %d, want 1", out, r.code)
		}
	}
	dry := filepath.Join(t.TempDir(), "dry")
	r := runAt(t, "generate", "custom-ca", "-d", sb.DataDir, "--out", dry, "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "tls/server-ca.crt") {
		t.Fatalf("dry run: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(dry); !os.IsNotExist(err) {
		t.Errorf("dry run created %s", dry)
	}
	if after := testkit.Fingerprint(t, sb.DataDir); after != before {
		t.Errorf("data dir changed")
	}
}

func TestTokenMasksSecret(t *testing.T) {
	sb := sandboxtest.New(t)
	r := runAt(t, "token", "-d", sb.DataDir, "-o", "json")
	if r.code != 0 || strings.Contains(r.stdout, sb.Token.Password) || !strings.Contains(r.stdout, "server:********") {
		t.Fatalf("masked token: exit %d stdout %s", r.code, r.stdout)
	}
	// One spelling everywhere, --show-token; the old --show-secret still
	// works for scripts, with a deprecation note on stderr.
	for _, flag := range []string{"--show-token", "--show-secret"} {
		r = runAt(t, "token", "-d", sb.DataDir, flag)
		if r.code != 0 || !strings.Contains(r.stdout, sb.Token.String()) {
			t.Fatalf("%s: exit %d stdout %s", flag, r.code, r.stdout)
		}
		if flag == "--show-secret" && !strings.Contains(r.stderr, "older spelling of --show-token") {
			t.Errorf("--show-secret without a deprecation note: %s", r.stderr)
		}
	}
}

func TestCheckExitCode(t *testing.T) {
	sb := sandboxtest.New(t)
	r := runAt(t, "check", "-d", sb.DataDir)
	if r.code != 0 {
		t.Errorf("fresh sandbox: exit %d, stderr %s", r.code, r.stderr)
	}
	// A server runs an agent: check lists the agent's files beside the server's.
	for _, f := range []string{"client-ca.crt", "server-ca.crt", "client-k3s-controller.crt", "client-kube-proxy.crt", "client-kubelet.crt", "serving-kubelet.crt"} {
		if !strings.Contains(r.stdout, filepath.Join(sb.DataDir, "agent", f)) {
			t.Errorf("check does not list agent/%s:\n%s", f, r.stdout)
		}
	}
	if r := runAt(t, "check", "-d", sb.DataDir, "--renew-days", "400", "-o", "json"); r.code != 1 || !json.Valid([]byte(r.stdout)) {
		t.Errorf("400-day window: exit %d, want 1 with JSON stdout", r.code)
	}
}

func TestLoadRoundTrip(t *testing.T) {
	sb := sandboxtest.New(t)
	stage := filepath.Join(t.TempDir(), "stage")
	if r := runAt(t, "generate", "rotation", "-d", sb.DataDir, "--out", stage, "--yes"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	before := testkit.Fingerprint(t, sb.DataDir)
	r := runAt(t, "load", "-d", sb.DataDir, "--path", stage, "--dry-run", "-o", "json")
	if r.code != 0 {
		t.Fatalf("dry run: exit %d %s", r.code, r.stderr)
	}
	if testkit.Fingerprint(t, sb.DataDir) != before {
		t.Fatalf("dry run changed the data dir")
	}
	r = runAt(t, "load", "-d", sb.DataDir, "--path", stage, "--yes", "--confirm", "load", "-o", "json")
	if r.code != 0 {
		t.Fatalf("load: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	var j loadJSON
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatal(err)
	}
	if !j.OK || j.Via != "sqlite" || j.NewRevision <= j.Revision || j.Backup == "" {
		t.Fatalf("load result %+v", j)
	}
	if fi, err := os.Stat(j.Backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup %s: %v %v", j.Backup, fi, err)
	}
	r = runAt(t, "datastore", "restore", j.Backup, "-d", sb.DataDir, "--yes", "--confirm", "restore")
	if r.code != 0 {
		t.Fatalf("restore: exit %d %s", r.code, r.stderr)
	}
}

func TestLiveDirAsStagingDir(t *testing.T) {
	sb := sandboxtest.New(t)
	before := testkit.Fingerprint(t, sb.DataDir)
	for _, args := range [][]string{
		{"validate", "--path", sb.ServerDir},
		{"validate", "--path", filepath.Join(sb.ServerDir, "tls")},
		{"load", "--path", sb.ServerDir, "--yes", "--confirm", "load"},
		{"generate", "service-key", "--out", sb.ServerDir, "--overwrite", "--yes"},
	} {
		r := runAt(t, append(args, "-d", sb.DataDir)...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "live") {
			t.Errorf("%v: exit %d, stderr %q; want 1 naming the live dir", args, r.code, r.stderr)
		}
	}
	if testkit.Fingerprint(t, sb.DataDir) != before {
		t.Errorf("the data dir changed")
	}
}

func TestGenerateBadImports(t *testing.T) {
	sb := sandboxtest.New(t)
	dir := t.TempDir()
	rootCA := filepath.Join(sb.ServerDir, "tls", "client-ca.crt")
	rootKey := filepath.Join(sb.ServerDir, "tls", "client-ca.key")
	leaf := filepath.Join(sb.ServerDir, "tls", "client-admin.crt")
	pem, err := os.ReadFile(rootCA)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	encrypted := write("enc.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
	truncated := write("trunc.pem", string(pem[:len(pem)-40]))
	tests := []struct {
		name, cert, key, want string
	}{
		{"encrypted key", rootCA, encrypted, "encrypted"},
		{"truncated certificate", truncated, rootKey, "truncated"},
		{"certificate as key", rootCA, rootCA, "not a private key"},
		{"not a CA", leaf, rootKey, "not a CA"},
		{"key of another cert", rootCA, filepath.Join(sb.ServerDir, "tls", "server-ca.key"), "does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := runAt(t, "generate", "custom-ca", "-d", sb.DataDir, "--out", out, "--root-cert", tc.cert, "--root-key", tc.key, "--yes")
			if r.code != exitFailure || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, tc.key) {
				t.Errorf("exit %d, stderr %q; want 1 saying %q and naming %s", r.code, r.stderr, tc.want, tc.key)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s was created", out)
			}
		})
	}
}

// TestRunCheckExitsLikeCheck: `run check` and `check` give the same exit
// for the same certificates.
func TestRunCheckExitsLikeCheck(t *testing.T) {
	sb := sandboxtest.New(t)
	for _, days := range []string{"120", "400"} {
		a := runAt(t, "check", "-d", sb.DataDir, "--renew-days", days)
		b := runAt(t, "run", "check", "-d", sb.DataDir, "--renew-days", days)
		if a.code != b.code {
			t.Errorf("--renew-days %s: check exits %d, run check %d\n%s", days, a.code, b.code, b.stderr)
		}
	}
}

// TestLogOnEveryCommand: --log is taken by every command and records the
// command, the names of the flags given (never their values) and the exit.
func TestLogOnEveryCommand(t *testing.T) {
	sb := sandboxtest.New(t)
	for _, args := range [][]string{
		{"check", "-d", sb.DataDir},
		{"run", "check", "-d", sb.DataDir, "--token", sb.Token.String()},
		{"validate", "-d", sb.DataDir, "--path", t.TempDir()},
	} {
		logFile := filepath.Join(t.TempDir(), "log")
		r := runAt(t, append(args, "--log", logFile)...)
		b, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatalf("%v: no log: %v", args, err)
		}
		log := string(b)
		want := fmt.Sprintf("msg=exit code=%d", r.code)
		if !strings.Contains(log, "msg=command path=\"k3sca "+args[0]) || !strings.Contains(log, want) {
			t.Errorf("%v: log lacks the command or %q:\n%s", args, want, log)
		}
		if strings.Contains(log, sb.Token.Password) {
			t.Errorf("%v: the token reached the log", args)
		}
	}
}

// TestCheckTextNeverTruncates: `k3sca check` in text mode, piped, prints
// every path and subject whole and aligns the columns (text/tabwriter).
func TestCheckTextNeverTruncates(t *testing.T) {
	sb := sandboxtest.New(t)
	r := runAt(t, "check", "-d", sb.DataDir)
	inv, err := steps.Check(context.Background(), steps.CheckInput{DataDir: sb.DataDir, Product: product.K3s, Now: testkit.Now})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.stdout, "~") {
		t.Errorf("a cell is cut with ~:\n%s", r.stdout)
	}
	for _, c := range append(inv.CAs, inv.Leaves...) {
		// Its file (relative to server/tls, as the FILE column shows it:
		// kube-controller-manager/kube-controller-manager.crt is the
		// longest) and its subject, whole, on one line.
		file := pki.RelPath(inv.TLSDir, c.Path)
		found := false
		for _, l := range strings.Split(r.stdout, "\n") {
			f := strings.Fields(l)
			found = found || slices.Contains(f, file) && strings.Contains(l, c.Subject)
		}
		if !found {
			t.Errorf("%s (%s) is not whole on one line in:\n%s", file, c.Subject, r.stdout)
		}
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	col := strings.Index(lines[0], "SUBJECT")
	for _, l := range lines[1:] {
		if len(l) > col && l[col-1] != ' ' {
			t.Errorf("SUBJECT column not aligned at %d: %q", col, l)
		}
	}
}
