package steps

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

func TestCheckField(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	opts := pki.GenOptions{Product: product.K3s, Now: testkit.Now.Add(-time.Hour)}
	a, err := pki.GenerateCustomCA(context.Background(), opts, pki.CustomCAInput{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pki.GenerateCustomCA(context.Background(), opts, pki.CustomCAInput{})
	if err != nil {
		t.Fatal(err)
	}
	fileOf := func(set *pki.StagedSet, p string) string {
		f, _ := set.File(p)
		return string(f.Data)
	}
	rootPEM := write("root.pem", fileOf(a, pki.RootCertPath))
	rootKey := write("root.key", fileOf(a, pki.RootKeyPath))
	otherKey := write("other.key", fileOf(b, pki.RootKeyPath))
	notCert := write("notes.txt", "hello\n")
	encrypted := write("enc.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(dataDir, "server", "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "new"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := Env{DataDir: dataDir, Product: product.K3s, Now: testkit.Clock}
	spec, _ := FindFlow(Flows(), FlowRotateCustomCA)
	load, _ := FindFlow(Flows(), FlowLoad)
	tests := []struct {
		name   string
		spec   FlowSpec
		key    string
		values map[string]string
		is     error
		input  pki.ImportInput
	}{
		{"empty is for CheckValues", spec, "root-cert", map[string]string{}, nil, ""},
		{"wrong path", spec, "root-cert", map[string]string{"root-cert": filepath.Join(dir, "nope.pem")}, fs.ErrNotExist, pki.InputRootCert},
		{"not a certificate", spec, "root-cert", map[string]string{"root-cert": notCert}, pki.ErrNoCertificates, pki.InputRootCert},
		{"a good root", spec, "root-cert", map[string]string{"root-cert": rootPEM}, nil, ""},
		{"encrypted key", spec, "root-key", map[string]string{"root-cert": rootPEM, "root-key": encrypted}, pki.ErrEncryptedKey, pki.InputRootKey},
		{"key of another root", spec, "root-key", map[string]string{"root-cert": rootPEM, "root-key": otherKey}, pki.ErrKeyDoesNotMatchCert, pki.InputRootKey},
		{"the right key", spec, "root-key", map[string]string{"root-cert": rootPEM, "root-key": rootKey}, nil, ""},
		{"staging into the live dir", spec, "path", map[string]string{"path": filepath.Join(dataDir, "server", "tls")}, ErrStagedIsLive, ""},
		{"an empty staging dir", spec, "path", map[string]string{"path": filepath.Join(dir, "new")}, nil, ""},
		{"a staged dir without tls/", load, "path", map[string]string{"path": filepath.Join(dir, "new")}, ErrNoStagedTLS, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckField(env, tt.spec, tt.key, tt.values)
			if tt.is == nil {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want %v", err, tt.is)
			}
			var ie *pki.ImportError
			if tt.input != "" && (!errors.As(err, &ie) || ie.Input != tt.input) {
				t.Errorf("got %#v, want an ImportError about %s", err, tt.input)
			}
		})
	}
}

// TestCheckFieldBackup: the restore field takes a backup (its file or its
// folder) and refuses, when left, what a killed run left and what is not
// a backup, naming it.
func TestCheckFieldBackup(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	dir := BackupDir(dataDir)
	good := filepath.Join(dir, "1795780800-1")
	killed := filepath.Join(dir, incompletePrefix+"1795780900-2-7")
	for _, d := range []string{good, filepath.Join(killed, "tls")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(good, BackupFile), []byte(`{"key":"/bootstrap/0123","revision":1,"value":"s:dg=="}`), 0o600); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(dir, "notes.json")
	if err := os.WriteFile(notes, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := Env{DataDir: dataDir, Product: product.K3s, Now: testkit.Clock}
	spec, _ := FindFlow(Flows(), FlowDatastore)
	tests := []struct {
		name, value, want string
	}{
		{"the backup's file", filepath.Join(good, BackupFile), ""},
		{"the backup's folder", good, ""},
		{"an incomplete backup", killed, "incomplete backup " + killed},
		{"not a backup", notes, "is not a k3sca backup"},
		{"missing", filepath.Join(dir, "nope"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckField(env, spec, "restore", map[string]string{"restore": tt.value})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
