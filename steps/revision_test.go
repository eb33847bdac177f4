package steps

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestLoadRefusesAMovedDatastore: the plan the operator confirmed names a
// revision; when the bootstrap value moves after it was shown (here while
// k3s is being stopped, after the load's plan was shown with the stop's
// question), the load refuses, even though the new value would be valid,
// and k3s is started again.
func TestLoadRefusesAMovedDatastore(t *testing.T) {
	sb := sandboxtest.New(t)
	env, svc := flowEnv(t, sb, true)
	spec, _ := FindFlow(Flows(), FlowRotateCA)
	f, err := spec.Build(context.Background(), env, withInitial(spec, env, map[string]string{"stage-dir": filepath.Join(t.TempDir(), "s")}))
	if err != nil {
		t.Fatal(err)
	}
	var moved datastore.KV
	for _, task := range f.Tasks {
		if task.Disruptive {
			run := task.Run
			task.Run = func(ctx context.Context, progress func(string)) (*Outcome, error) {
				out, err := run(ctx, progress)
				// Another writer, after the plan was shown.
				stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
					cur, err := db.Get(ctx, sb.Key)
					if err != nil {
						return err
					}
					if _, err := db.Update(ctx, sb.Key, cur.ModRevision, cur.Value); err != nil {
						return err
					}
					moved, err = db.Get(ctx, sb.Key)
					return err
				})
				return out, err
			}
		}
	}
	var buf bytes.Buffer
	r := Runner{Out: &buf, Yes: true, Words: f.Needs().Words}
	rep, err := r.Run(context.Background(), f)
	if !errors.Is(err, ErrConcurrent) || !strings.Contains(err.Error(), "since the plan showed revision") {
		t.Fatalf("run: %v, want ErrConcurrent\n%s", err, buf.String())
	}
	if got := stKV(t, sb); got.ModRevision != moved.ModRevision || !bytes.Equal(got.Value, moved.Value) {
		t.Errorf("the datastore changed after the refusal: revision %d, the other writer left %d", got.ModRevision, moved.ModRevision)
	}
	if active, _ := svc.IsActive(context.Background(), "k3s"); !active || rep.Node == nil || !rep.Node.Active {
		t.Errorf("k3s not started again after the refusal (calls %v)", svc.Calls())
	}
}
