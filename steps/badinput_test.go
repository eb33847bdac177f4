package steps

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// stSetValue replaces the live bootstrap value through a direct handle.
func stSetValue(value []byte) func(t *testing.T, sb *sandbox.Sandbox) {
	return func(t *testing.T, sb *sandbox.Sandbox) {
		stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
			_, err := db.Update(ctx, sb.Key, stKV(t, sb).ModRevision, value)
			return err
		})
	}
}

// stReplaceDB removes state.db and lets create make a new one in its place.
func stReplaceDB(create func(ctx context.Context, path string) error) func(t *testing.T, sb *sandbox.Sandbox) {
	return func(t *testing.T, sb *sandbox.Sandbox) {
		p := sandboxtest.DBPath(sb)
		for _, f := range []string{p, p + "-wal", p + "-shm"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
		}
		if err := create(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}

func stOtherTableDB(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE TABLE other (name TEXT, value BLOB); INSERT INTO other VALUES ('/bootstrap/x', 'y')")
	return err
}

// stDefaultCAStage writes fresh self-signed default CAs, which k3s refuses
// without --force (single-certificate bundles).
func stDefaultCAStage(t *testing.T, _ *sandbox.Sandbox) string {
	set, err := pki.GenerateDefaultCAs(pki.GenOptions{Product: product.K3s, Now: testkit.Now})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "fresh")
	if err := set.Write(context.Background(), dir, testkit.Now); err != nil {
		t.Fatal(err)
	}
	return dir
}

func stSymlinkStage(t *testing.T, sb *sandbox.Sandbox) string {
	dir := sandboxtest.Stage(t, sb)
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "tls", "extra.crt")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadBadInputs: each bad input ends in its own error, and the
// datastore (every row, integrity ok) is left exactly as it was.
func TestLoadBadInputs(t *testing.T) {
	otherPass := "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name  string
		setup func(t *testing.T, sb *sandbox.Sandbox)
		stage func(t *testing.T, sb *sandbox.Sandbox) string // nil: a valid rotation
		input func(in *LoadInput, sb *sandbox.Sandbox)
		mid   func(t *testing.T, sb *sandbox.Sandbox) // between Preview and Run
		want  []error
		msg   string // the error text must contain it
		fast  bool   // must fail within 5 s
	}{
		{name: "wrong token", input: func(in *LoadInput, _ *sandbox.Sandbox) { in.Token = otherPass }, want: []error{ErrWrongToken}},
		{name: "value without colon", setup: stSetValue([]byte("junk-without-a-colon")),
			want: []error{datastore.ErrNotDelimited, datastore.ErrCorruptValue}},
		{name: "value not base64", setup: stSetValue([]byte("0011223344556677:!!not base64!!")),
			want: []error{datastore.ErrCorruptValue}},
		{name: "value too short", setup: stSetValue([]byte("0011223344556677:" + base64.StdEncoding.EncodeToString([]byte("short")))),
			want: []error{datastore.ErrCorruptValue}},
		{name: "value sealed with another passphrase", setup: func(t *testing.T, sb *sandbox.Sandbox) {
			v, err := datastore.Encrypt(otherPass, []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			stSetValue(v)(t, sb)
		}, want: []error{datastore.ErrWrongToken}},
		{name: "no kine table", setup: stReplaceDB(stOtherTableDB), want: []error{datastore.ErrKineTableMissing}},
		{name: "no bootstrap key", setup: stReplaceDB(datastore.InitKineDB), want: []error{ErrNoBootstrapData}},
		{name: "two bootstrap keys", setup: func(t *testing.T, sb *sandbox.Sandbox) {
			stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
				_, err := db.Create(ctx, datastore.BootstrapPrefix+"/000000000000", []byte("0011223344556677:AAAA"))
				return err
			})
		}, want: []error{ErrMultipleKeys}},
		{name: "bootstrap lock", setup: stSetValue([]byte{}), want: []error{ErrBootstrapLocked}},
		{name: "unreachable etcd", fast: true, input: func(in *LoadInput, _ *sandbox.Sandbox) {
			in.Access.Via = ViaEtcd
			in.Access.Etcd = datastore.EtcdConfig{Endpoints: []string{fmt.Sprintf("http://127.0.0.1:%d", stFreePort(t))}, DialTimeout: time.Second}
		}, want: []error{datastore.ErrUnreachable}},
		{name: "k3s running, via sqlite", input: func(in *LoadInput, _ *sandbox.Sandbox) {
			in.Access.Via, in.Access.Services = ViaSQLite, node.NewFakeServices(product.K3s.ServerUnit())
		}, want: []error{ErrK3sRunning}},
		{name: "k3s running, via auto without kine socket", input: func(in *LoadInput, _ *sandbox.Sandbox) {
			in.Access.Services = node.NewFakeServices(product.K3s.ServerUnit())
		}, want: []error{ErrK3sRunning}},
		{name: "fresh default CAs refused", stage: stDefaultCAStage, want: []error{ErrRefused}, msg: "ServiceKey: old ServiceAccount signing key not in new"},
		{name: "symlink in staged dir", stage: stSymlinkStage, want: []error{fsutil.ErrSymlink}},
		// k3s itself would take rotate-ca --path=<server dir> and refuse the
		// unchanged single-certificate bundles; k3sca refuses it up front.
		{name: "live server dir as staged dir", stage: func(_ *testing.T, sb *sandbox.Sandbox) string { return sb.ServerDir },
			want: []error{ErrStagedIsLive}},
		{name: "live tls dir as staged dir", stage: func(_ *testing.T, sb *sandbox.Sandbox) string { return filepath.Join(sb.ServerDir, "tls") },
			want: []error{ErrStagedIsLive}},
		{name: "data dir as staged dir", stage: func(_ *testing.T, sb *sandbox.Sandbox) string { return sb.DataDir },
			want: []error{ErrStagedIsLive}},
		{name: "concurrent change", mid: func(t *testing.T, sb *sandbox.Sandbox) {
			v, err := datastore.Encrypt(stPass(sb), stDecrypt(t, sb, stKV(t, sb).Value))
			if err != nil {
				t.Fatal(err)
			}
			stSetValue(v)(t, sb)
		}, want: []error{ErrConcurrent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			sb := sandboxtest.New(t)
			stage := ""
			if tt.stage != nil {
				stage = tt.stage(t, sb)
			} else {
				stage = sandboxtest.Stage(t, sb)
			}
			if tt.setup != nil {
				tt.setup(t, sb)
			}
			in := stInput(sb, stage, ViaAuto)
			if tt.input != nil {
				tt.input(&in, sb)
			}
			l := NewLoad(in)
			defer l.Close()
			before := testkit.DumpSQLite(t, sandboxtest.DBPath(sb))
			start := time.Now()
			var err error
			var read datastore.KV
			if tt.mid != nil {
				if _, err := l.Preview(ctx); err != nil {
					t.Fatalf("preview: %v", err)
				}
				read = stKV(t, sb)
				tt.mid(t, sb)
				before = testkit.DumpSQLite(t, sandboxtest.DBPath(sb))
			}
			if _, err = l.Run(ctx); err == nil {
				t.Fatal("Run succeeded")
			}
			t.Logf("err: %v", err)
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error does not match %q", w)
				}
			}
			if lp := l.Plan(); errors.Is(err, ErrRefused) && (lp == nil || lp.Validation.OK || len(lp.Validation.Errors) == 0) {
				t.Error("a refusal must leave the plan with the validation errors (the CLI prints them)")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error does not contain %q", tt.msg)
			}
			if tt.fast && time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if after := testkit.DumpSQLite(t, sandboxtest.DBPath(sb)); after != before {
				t.Errorf("the datastore changed:\nbefore\n%s\nafter\n%s", before, after)
			}
			_, statErr := os.Stat(BackupDir(sb.DataDir))
			if backup := statErr == nil; backup != (tt.mid != nil) {
				t.Errorf("backup dir exists %t, want %t", backup, tt.mid != nil)
			}
			if tt.mid != nil {
				bks, err := ListBackups(sb.DataDir)
				if err != nil || len(bks) != 1 || bks[0].Value != string(read.Value) || bks[0].Revision != read.ModRevision {
					t.Errorf("want one backup of the value read at revision %d: %d backups, %v", read.ModRevision, len(bks), err)
				}
			}
		})
	}
}
