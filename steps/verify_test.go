package steps

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/datastore"
)

// TestLoadVerifyRestoresBackup changes the value behind the load's back
// right after its write: the read-back check must notice, put the value
// read at Preview back with a compare-and-swap, and fail loudly.
func TestLoadVerifyRestoresBackup(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	old := stKV(t, sb)
	in := stInput(sb, stage, ViaAuto)
	in.Hook = func(point string) {
		if point != "after-write" {
			return
		}
		stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
			cur, err := db.Get(ctx, sb.Key)
			if err != nil {
				return err
			}
			foreign, err := datastore.Encrypt(stPass(sb), []byte("{}\n"))
			if err != nil {
				return err
			}
			_, err = db.Update(ctx, sb.Key, cur.ModRevision, foreign)
			return err
		})
	}
	l := NewLoad(in)
	defer l.Close()
	if _, err := l.Preview(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := l.Run(ctx)
	if !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("run: %v, want ErrVerifyFailed", err)
	}
	got := stKV(t, sb)
	if !bytes.Equal(got.Value, old.Value) || got.ModRevision <= old.ModRevision {
		t.Errorf("after the failed verify the value is not the backup (rev %d, old rev %d)", got.ModRevision, old.ModRevision)
	}
	testkit.DumpSQLite(t, sandboxtest.DBPath(sb)) // integrity check
}

// TestBackupSameSecond: a load re-run within the second of a crashed one
// must not fail on the earlier backup's name.
func TestBackupSameSecond(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	kv := stKV(t, sb)
	first, err := writeBackup(ctx, sb.DataDir, kv, "", "", ViaSQLite, testkit.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := writeBackup(ctx, sb.DataDir, kv, "", "", ViaSQLite, testkit.Now, nil)
	if err != nil {
		t.Fatalf("second backup in the same second: %v", err)
	}
	if first.Path == second.Path || first.TLSCopy == second.TLSCopy {
		t.Errorf("backups collide: %s and %s", first.Path, second.Path)
	}
	list, err := ListBackups(sb.DataDir)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListBackups = %d, %v; want 2", len(list), err)
	}
}

// TestLoadPlanFlags: a field this server holds differently from the
// datastore is reported as an unstaged change, and loading a set the
// datastore already holds writes nothing.
func TestLoadPlanFlags(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	first := NewLoad(stInput(sb, stage, ViaAuto))
	if _, err := first.Run(ctx); err != nil {
		t.Fatal(err)
	}
	loaded := stKV(t, sb)
	again := NewLoad(stInput(sb, stage, ViaAuto))
	summary, err := again.Run(ctx)
	if err != nil || len(again.Plan().Changes) != 0 {
		t.Fatalf("second load: %q, %v, %d changes; want nothing to write", summary, err, len(again.Plan().Changes))
	}
	stSameKV(t, stKV(t, sb), loaded)

	if err := os.WriteFile(filepath.Join(sb.ServerDir, "cred", "ipsec.psk"), []byte("drifted\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	drift := NewLoad(stInput(sb, stage, ViaAuto))
	defer drift.Close()
	plan, err := drift.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lp := drift.Plan()
	if len(lp.Unstaged) != 1 || lp.Unstaged[0].Field != "IPSECKey" || !strings.Contains(strings.Join(plan.Notes, "\n"), "IPSECKey is not staged") {
		t.Errorf("unstaged = %+v, notes %q; want IPSECKey flagged", lp.Unstaged, plan.Notes)
	}
}

// TestLoadFlagsFilesNewerThanTheLoad: a server file the load changes whose
// mtime lies after the load time (clock skew) would make k3s refuse to start.
func TestLoadFlagsFilesNewerThanTheLoad(t *testing.T) {
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	ca := filepath.Join(sb.ServerDir, "tls", "server-ca.crt")
	future := testkit.Now.Add(time.Hour)
	testkit.SetMtime(t, ca, future)
	l := NewLoad(stInput(sb, stage, ViaAuto))
	defer l.Close()
	plan, err := l.Preview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Plan().NewerOnDisk; len(got) != 1 || got[0] != ca || !strings.Contains(strings.Join(plan.Notes, "\n"), "newer than datastore") {
		t.Errorf("NewerOnDisk = %v, notes %q; want %s flagged", got, plan.Notes, ca)
	}
}
