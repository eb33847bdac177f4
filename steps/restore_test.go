package steps

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/product"
)

// TestRestore loads a rotation, then puts the backup back.
func TestRestore(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		twice   bool  // restore again: the second run writes nothing
		wantErr error // nil: the restore succeeds
	}{
		{name: "token from server/token"},
		{name: "restore twice", twice: true},
		{name: "token of another password", token: "0123456789abcdef0123456789abcdef", wantErr: ErrWrongToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			sb := stSandbox(t)
			old := stKV(t, sb)
			l := NewLoad(stInput(sb, stStage(t, sb), ViaSQLite))
			if _, err := l.Run(ctx); err != nil {
				t.Fatalf("load: %v", err)
			}
			loaded := stKV(t, sb)
			before := stDump(t, stDBPath(sb))
			in := RestoreInput{
				DataDir: sb.DataDir, BackupPath: l.Result().Backup, Token: tt.token, Now: testkit.Now.Add(time.Hour),
				Access: AccessInput{DataDir: sb.DataDir, Via: ViaAuto, Product: product.K3s, Services: stServices{}},
			}
			_, err := NewRestore(in).Run(ctx)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("restore: %v, want %v", err, tt.wantErr)
				}
				if after := stDump(t, stDBPath(sb)); after != before {
					t.Error("a refused restore changed the datastore")
				}
				if bks, err := ListBackups(sb.DataDir); err != nil || len(bks) != 1 {
					t.Errorf("a refused restore wrote a backup: %d backups, %v", len(bks), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			got := stKV(t, sb)
			if got.ModRevision <= loaded.ModRevision {
				t.Errorf("after restore: revision %d, loaded %d", got.ModRevision, loaded.ModRevision)
			}
			// The restored value holds the original content, every entry
			// stamped with the restore time so servers take it at start.
			gotB, err := datastore.DecodeBootstrap(stDecrypt(t, sb, got.Value))
			if err != nil {
				t.Fatal(err)
			}
			oldB, err := datastore.DecodeBootstrap(stDecrypt(t, sb, old.Value))
			if err != nil {
				t.Fatal(err)
			}
			if d := oldB.Diff(gotB); len(d) > 0 {
				t.Errorf("restored content differs from the backup: %v", d)
			}
			for k, e := range gotB {
				if !e.Timestamp.Equal(in.Now) {
					t.Errorf("%s stamped %s, want the restore time %s", k, e.Timestamp, in.Now)
				}
			}
			bks, err := ListBackups(sb.DataDir)
			if err != nil || len(bks) != 2 {
				t.Fatalf("want the load's backup and a safety backup: %d, %v", len(bks), err)
			}
			safety := bks[0] // newest first
			if safety.Value != string(loaded.Value) || safety.Revision != loaded.ModRevision || !safety.Created.Equal(in.Now) {
				t.Errorf("safety backup holds revision %d from %s, want the loaded value at %d", safety.Revision, safety.Created, loaded.ModRevision)
			}
			// The restore, too, copied the whole datastore before it wrote.
			if c := safety.DatastoreCopy; c == nil || c.Kind != CopySQLite || !c.Taken {
				t.Errorf("safety backup's copy %+v, want a copy of state.db", c)
			} else if kv := stSQLiteValue(t, c.Path, sb.Key); kv.ModRevision != loaded.ModRevision {
				t.Errorf("the copy holds revision %d, want the loaded value at %d", kv.ModRevision, loaded.ModRevision)
			}
			if !tt.twice {
				return
			}
			again := stDump(t, stDBPath(sb))
			msg, err := NewRestore(in).Run(ctx)
			if err != nil || !strings.Contains(msg, "nothing written") {
				t.Errorf("second restore: %q, %v", msg, err)
			}
			if stDump(t, stDBPath(sb)) != again {
				t.Error("the second restore changed the datastore")
			}
			stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
				_, err := ReadBootstrap(ctx, db, stPass(sb))
				return err
			})
		})
	}
}
