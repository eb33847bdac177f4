package steps

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

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
			sb := sandboxtest.New(t)
			old := stKV(t, sb)
			l := NewLoad(stInput(sb, sandboxtest.Stage(t, sb), ViaSQLite))
			if _, err := l.Run(ctx); err != nil {
				t.Fatalf("load: %v", err)
			}
			loaded := stKV(t, sb)
			before := testkit.DumpSQLite(t, sandboxtest.DBPath(sb))
			in := RestoreInput{
				DataDir: sb.DataDir, BackupPath: l.Result().Backup, Token: tt.token, Now: testkit.Now.Add(time.Hour),
				Access: AccessInput{DataDir: sb.DataDir, Via: ViaAuto, Product: product.K3s, Services: node.NewFakeServices()},
			}
			_, err := NewRestore(in).Run(ctx)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("restore: %v, want %v", err, tt.wantErr)
				}
				if after := testkit.DumpSQLite(t, sandboxtest.DBPath(sb)); after != before {
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
			again := testkit.DumpSQLite(t, sandboxtest.DBPath(sb))
			msg, err := NewRestore(in).Run(ctx)
			if err != nil || !strings.Contains(msg, "nothing written") {
				t.Errorf("second restore: %q, %v", msg, err)
			}
			if testkit.DumpSQLite(t, sandboxtest.DBPath(sb)) != again {
				t.Error("the second restore changed the datastore")
			}
			stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
				_, err := ReadBootstrap(ctx, db, stPass(sb))
				return err
			})
		})
	}
}

// TestRestorePreviewDiffAndHash: the restore's plan lists each field it
// changes, as the load's plan does (the same lines, from the same diff),
// and says whether the join-token CA hash changes: after a rotation it
// goes back to the pre-rotation hash; after a service-key rotation it
// stays. Without a token the plan says the change is not known.
func TestRestorePreviewDiffAndHash(t *testing.T) {
	tests := []struct {
		name       string
		stage      func(t testing.TB, sb *sandbox.Sandbox) string
		token      string
		wantFields []string // "" : no field lines
		wantNote   string
	}{
		{name: "a rotation undone", stage: sandboxtest.Stage,
			wantFields: []string{"ServerCA", "ServerCAKey", "ClientCA", "RequestHeaderCA"}, wantNote: "the join-token CA hash changes from "},
		{name: "a service-key rotation undone", stage: stageServiceKey, wantFields: []string{"ServiceKey"}, wantNote: "the join-token CA hash stays "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			sb := sandboxtest.New(t)
			before := diskHash(t, sb)
			l := NewLoad(stInput(sb, tt.stage(t, sb), ViaSQLite))
			loadPlan, err := l.Preview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Run(ctx); err != nil {
				t.Fatalf("load: %v", err)
			}
			in := RestoreInput{DataDir: sb.DataDir, BackupPath: l.Result().Backup, Token: tt.token, Now: testkit.Now.Add(time.Hour),
				Access: AccessInput{DataDir: sb.DataDir, Via: ViaAuto, Product: product.K3s, Services: node.NewFakeServices()}}
			rs := NewRestore(in)
			plan, err := rs.Preview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			_ = plan.Render(&b)
			text := b.String()
			fieldLines := map[string]string{}
			for _, it := range plan.Items {
				if key, field, ok := strings.Cut(it.Target, " "); ok && key == sb.Key {
					fieldLines[field] = it.Detail
				}
			}
			for _, f := range tt.wantFields {
				if !strings.HasPrefix(fieldLines[f], "changed: ") {
					t.Errorf("the plan has no change line for %s:\n%s", f, text)
				}
			}
			// The restore lists exactly the fields the load changed.
			loaded := map[string]bool{}
			for _, it := range loadPlan.Items {
				if key, field, ok := strings.Cut(it.Target, " "); ok && key == sb.Key {
					loaded[field] = true
				}
			}
			if len(loaded) == 0 || len(loaded) != len(fieldLines) {
				t.Errorf("the load changed %v, the restore's plan lists %v", loaded, fieldLines)
			}
			for f := range loaded {
				if _, ok := fieldLines[f]; !ok {
					t.Errorf("the load changed %s, the restore's plan does not list it", f)
				}
			}
			if !strings.Contains(text, tt.wantNote) {
				t.Errorf("the plan lacks %q:\n%s", tt.wantNote, text)
			}
			if strings.HasPrefix(tt.wantNote, "the join-token CA hash changes") {
				if rs.CAHash() != before || rs.OldCAHash() == before || !strings.Contains(text, "to "+before+" (the backup's)") {
					t.Errorf("hashes: restored %s, replaced %s, before the load %s", rs.CAHash(), rs.OldCAHash(), before)
				}
				rep := rs.Tokens()
				if rep == nil || rep.New == nil || rep.New.Token == nil || rep.New.Token.CAHash != before || rep.New.Token.Password != sb.Token.Password {
					t.Errorf("the token after the restore: %+v", rep)
				}
			}
		})
	}
}

// stageServiceKey stages a new service-account key only.
func stageServiceKey(t testing.TB, sb *sandbox.Sandbox) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sk")
	if _, err := NewGenerate(GenerateInput{Kind: GenServiceKey, DataDir: sb.DataDir, Out: dir,
		Opts: pki.GenOptions{Product: product.K3s, Now: testkit.Now}}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRestoreFlowOffersTheToken: the datastore flow restoring a
// pre-rotation backup shows the restore's plan (with its field diff and
// the CA hash change) before it stops k3s, then says the CA hash changed
// back and offers the token with the restored hash (masked unless asked);
// the JSON result carries both hashes and the masked token; the restart
// plan says to give full-token nodes the new token.
func TestRestoreFlowOffersTheToken(t *testing.T) {
	sb := sandboxtest.New(t)
	env, _ := flowEnv(t, sb, true)
	before := diskHash(t, sb)
	backup := rotateWithBackup(t, env, sb)
	rotated := diskHash(t, sb)
	// The stop step, with k3s running: the restore's plan comes first.
	f := buildFlow(t, env, FlowDatastore, map[string]string{"restore": backup.Path})
	s := NewSession(f, false)
	var stop *Prepared
	for {
		p, err := s.Prepare(context.Background())
		if err != nil || p == nil {
			t.Fatalf("no stop step: %v", err)
		}
		if p.Task.ID == "stop" {
			stop = p
			break
		}
		if _, err := s.Execute(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	var restorePlan *Plan
	for _, a := range stop.Ahead {
		if strings.HasPrefix(a.Title, "Restore ") {
			restorePlan = a.Plan
			if a.PlanError != "" {
				t.Errorf("the restore's plan at the stop step: %s", a.PlanError)
			}
		}
	}
	if restorePlan == nil {
		t.Fatalf("the stop step does not show the restore's plan: %+v", stop.Ahead)
	}
	var b strings.Builder
	_ = restorePlan.Render(&b)
	for _, want := range []string{sb.Key + " ServerCA", "changed: ", "the join-token CA hash changes from " + rotated + " (now) to " + before} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the restore's plan before the stop lacks %q:\n%s", want, b.String())
		}
	}
	_ = s.Abort(context.Background())
	if f.Cleanup != nil {
		f.Cleanup()
	}

	rep, out, err := runFlow(t, env, FlowDatastore, map[string]string{"restore": backup.Path}, Runner{Yes: true, Words: []string{"restore"}})
	if err != nil || !rep.OK {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	var restored *StepReport
	for i := range rep.Steps {
		if rep.Steps[i].ID == "restore" {
			restored = &rep.Steps[i]
		}
	}
	o := restored.Outcome
	wantTok := sb.Token.WithCAHash(before)
	if len(o.Secret) != 1 || o.Secret[0] != "new token: "+wantTok.String() || len(o.Masked) != 1 || o.Masked[0] != "new token: "+wantTok.Masked() {
		t.Errorf("the restore offers %q (masked %q), want the token with the restored hash %s", o.Secret, o.Masked, before)
	}
	details := strings.Join(o.Details, "\n")
	for _, want := range []string{"the CA hash changes", "current CA hash: " + rotated, "new CA hash:     " + before} {
		if !strings.Contains(details, want) {
			t.Errorf("the restore's outcome lacks %q:\n%s", want, details)
		}
	}
	if strings.Contains(out, sb.Token.Password) {
		t.Error("the token's secret was printed without being asked for")
	}
	if res := rep.Result; res == nil || res.OldHash != rotated || res.NewHash != before || res.Token != wantTok.Masked() {
		t.Errorf("the result: %+v, want %s -> %s and the masked token", res, rotated, before)
	}
	if !strings.Contains(out, "replace the token with the new one") {
		t.Errorf("the restart plan does not say to replace the token:\n%s", out)
	}
}
