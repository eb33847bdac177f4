package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// declineCase is a flow that writes, with the values that make it reach
// every writing step on a fresh sandbox.
type declineCase struct {
	id   string
	vals func(t *testing.T, sb *sandbox.Sandbox) map[string]string
}

var declineCases = []declineCase{
	{FlowRotateCerts, func(*testing.T, *sandbox.Sandbox) map[string]string {
		return map[string]string{"services": "api-server"}
	}},
	{FlowRotateCA, func(t *testing.T, _ *sandbox.Sandbox) map[string]string {
		return map[string]string{"path": filepath.Join(t.TempDir(), "s")}
	}},
	{FlowRotateServiceKey, func(t *testing.T, _ *sandbox.Sandbox) map[string]string {
		return map[string]string{"path": filepath.Join(t.TempDir(), "s")}
	}},
	{FlowRotateCustomCA, func(t *testing.T, _ *sandbox.Sandbox) map[string]string {
		root := customRoot(t)
		return map[string]string{"root": "new", "root-cert": filepath.Join(root, "ca/root-ca.pem"), "root-key": filepath.Join(root, "ca/root-ca.key"),
			"path": filepath.Join(t.TempDir(), "s")}
	}},
	{FlowLoad, func(t *testing.T, sb *sandbox.Sandbox) map[string]string {
		return map[string]string{"path": sandboxtest.Stage(t, sb)}
	}},
	{FlowDatastore, func(t *testing.T, sb *sandbox.Sandbox) map[string]string {
		// A backup to restore: the one a load of a rotation leaves.
		l := NewLoad(stInput(sb, sandboxtest.Stage(t, sb), ViaSQLite))
		defer l.Close()
		if _, err := l.Run(context.Background()); err != nil {
			t.Fatalf("load for a backup: %v", err)
		}
		return map[string]string{"restore": l.Result().Backup}
	}},
}

// scriptedAsker answers yes to every question but the no-th (1-based),
// where it answers No, or returns an interrupt when cancel is set.
type scriptedAsker struct {
	no     int
	cancel bool
	asked  []string
}

func (a *scriptedAsker) Confirm(_ context.Context, step int, title, word string) (bool, error) {
	a.asked = append(a.asked, fmt.Sprintf("%d %s [%s]", step, title, word))
	if len(a.asked) != a.no {
		return true, nil
	}
	if a.cancel {
		return false, context.Canceled
	}
	return false, nil
}

// TestDeclineLeavesTheServiceAsItWas declines every question of every
// writing flow (a No, and ctrl+c at the question), with k3s running and
// stopped before the flow, and interrupts every step of it while it runs:
// k3s is always left as it was, and the datastore is unchanged unless the
// report says a step wrote it.
func TestDeclineLeavesTheServiceAsItWas(t *testing.T) {
	tmpl := sandboxtest.New(t)
	for _, tc := range declineCases {
		for _, running := range []bool{true, false} {
			for _, cancel := range []bool{false, true} {
				how := map[bool]string{false: "no", true: "ctrl+c"}[cancel]
				for q := 1; ; q++ {
					asked := 0
					t.Run(fmt.Sprintf("%s/running=%v/%s-at-question-%d", tc.id, running, how, q), func(t *testing.T) {
						asked = declineAt(t, copySandbox(t, tmpl), tc, running, &scriptedAsker{no: q, cancel: cancel})
					})
					if asked < q || t.Failed() {
						if q == 1 && asked == 0 {
							t.Fatalf("%s asked nothing", tc.id)
						}
						break
					}
				}
			}
			for step := 1; ; step++ {
				n := 0
				t.Run(fmt.Sprintf("%s/running=%v/interrupted-during-step-%d", tc.id, running, step), func(t *testing.T) {
					n = interruptAt(t, copySandbox(t, tmpl), tc, running, step)
				})
				if step >= n || t.Failed() {
					break
				}
			}
		}
	}
}

// copySandbox is a copy of tmpl, mtimes kept: a fresh node for each case
// without generating its keys again.
func copySandbox(t *testing.T, tmpl *sandbox.Sandbox) *sandbox.Sandbox {
	t.Helper()
	root, err := os.MkdirTemp("", "st")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	dd := filepath.Join(root, "data")
	if err := fsutil.CopyDir(context.Background(), tmpl.DataDir, dd); err != nil {
		t.Fatal(err)
	}
	sb := *tmpl
	sb.DataDir, sb.ServerDir = dd, product.ServerDir(dd)
	return &sb
}

// declineAt runs tc with the asker and checks the node; it returns how
// many questions were asked.
func declineAt(t *testing.T, sb *sandbox.Sandbox, tc declineCase, running bool, a *scriptedAsker) int {
	env, svc := flowEnv(t, sb, running)
	vals := tc.vals(t, sb)
	before := stKV(t, sb)
	rep, out, err := runFlow(t, env, tc.id, vals, Runner{Ask: a})
	if len(a.asked) < a.no {
		// Fewer questions than a.no: the flow ran to its end, all answered yes.
		if err != nil {
			t.Fatalf("all yes: %v\n%s", err, out)
		}
		return len(a.asked)
	}
	if err == nil || (!errors.Is(err, ErrDeclined) && !errors.Is(err, context.Canceled)) {
		t.Fatalf("declined at %q: err %v\n%s", a.asked[len(a.asked)-1], err, out)
	}
	checkLeftAsItWas(t, sb, svc, running, before, rep, out)
	if rep.Declined == "" {
		t.Errorf("the report has no top-level reason for the stop: %+v", rep)
	}
	return len(a.asked)
}

// interruptAt cancels the run's context while step runs (ctrl+c during
// it) and checks the node; it returns the flow's number of steps.
func interruptAt(t *testing.T, sb *sandbox.Sandbox, tc declineCase, running bool, step int) int {
	env, svc := flowEnv(t, sb, running)
	vals := tc.vals(t, sb)
	before := stKV(t, sb)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := buildFlow(t, env, tc.id, vals)
	task, fired := f.Tasks[step-1], false
	run := task.Run
	task.Run = func(ctx context.Context, progress func(string)) (*Outcome, error) {
		cancel()
		fired = true
		return run(ctx, progress)
	}
	var buf bytes.Buffer
	r := Runner{Out: &buf, Yes: true, Words: f.Needs().Words}
	rep, err := r.Run(ctx, f)
	if !fired {
		// The step was skipped (k3s was already stopped): nothing to
		// interrupt, and the flow ran as confirmed.
		return len(f.Tasks)
	}
	if step < len(f.Tasks) && !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted during step %d: %v\n%s", step, err, buf.String())
	}
	checkLeftAsItWas(t, sb, svc, running, before, rep, buf.String())
	return len(f.Tasks)
}

// checkLeftAsItWas: k3s runs exactly when it ran before the flow, the
// report and the output say so, and the datastore holds its old value
// unless a step that writes it reported it did.
func checkLeftAsItWas(t *testing.T, sb *sandbox.Sandbox, svc *node.FakeServices, running bool, before datastore.KV, rep Report, out string) {
	t.Helper()
	unit := product.K3s.ServerUnit()
	started := false
	for _, st := range rep.Steps {
		started = started || st.Status == StatusDone && (strings.HasPrefix(st.Title, "Start k3s") || strings.HasPrefix(st.Title, "Restart k3s"))
	}
	if started && !running {
		// ctrl+c while the confirmed start ran: it ran to its end, and a
		// started k3s is not stopped again.
		running = true
	}
	if active, _ := svc.IsActive(context.Background(), unit); active != running {
		t.Errorf("k3s active=%v after the flow, was %v (calls %v)\n%s", active, running, svc.Calls(), out)
	}
	if rep.Node == nil || rep.Node.Active != running {
		t.Errorf("the report's node state %+v, want active=%v", rep.Node, running)
	} else if !running && !strings.Contains(out, "k3s is stopped, as it was before this flow: start it with: systemctl start k3s") {
		t.Errorf("the output does not say how to start the stopped k3s:\n%s", out)
	}
	wrote := false
	for _, st := range rep.Steps {
		if st.Status == StatusDone && (strings.HasPrefix(st.Title, "Load") || strings.HasPrefix(st.Title, "Restore")) {
			wrote = true
		}
	}
	if after := stKV(t, sb); !wrote && (after.ModRevision != before.ModRevision || !bytes.Equal(after.Value, before.Value)) {
		t.Errorf("the datastore changed, but no step reports a write:\n%s", out)
	}
	if rep.RolledBack && !strings.Contains(out, "rolled back: undid") {
		t.Errorf("a rollback ran but the output does not say so:\n%s", out)
	}
}

// TestUnfinishedFlowNamesItsStagedDir: a flow stopped after it staged a set
// names the staged dir (private keys that will never be loaded), prints the
// command that removes it, and in plain mode offers to remove it; the
// printed command, run, removes it. A finished flow leaves nothing to name.
func TestUnfinishedFlowNamesItsStagedDir(t *testing.T) {
	for _, accept := range []bool{false, true} {
		t.Run(fmt.Sprintf("accept=%v", accept), func(t *testing.T) {
			sb := sandboxtest.New(t)
			env, _ := flowEnv(t, sb, true)
			stage := filepath.Join(t.TempDir(), "s")
			a := &offerAsker{scriptedAsker: scriptedAsker{no: 2}, accept: accept}
			rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": stage}, Runner{Ask: a})
			if !errors.Is(err, ErrDeclined) {
				t.Fatalf("declined at the stop: %v\n%s", err, out)
			}
			if !strings.Contains(out, "left behind: "+stage) || !strings.Contains(out, "remove it with: rm -rf "+stage) {
				t.Fatalf("the staged dir is not named:\n%s", out)
			}
			if !a.offered {
				t.Fatal("plain mode did not offer to remove the staged dir")
			}
			if accept {
				if len(rep.Leftovers) > 0 || !strings.Contains(out, "removed "+stage) {
					t.Fatalf("accepted removal: leftovers %v\n%s", rep.Leftovers, out)
				}
				if _, err := os.Stat(stage); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s is still there", stage)
				}
				return
			}
			if len(rep.Leftovers) != 1 || rep.Leftovers[0].Path != stage {
				t.Fatalf("leftovers %+v", rep.Leftovers)
			}
			if b, err := exec.Command("bash", "-c", rep.Leftovers[0].Remove).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", rep.Leftovers[0].Remove, err, b)
			}
			if _, err := os.Stat(stage); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the printed command did not remove %s", stage)
			}
		})
	}
	sb := sandboxtest.New(t)
	env, _ := flowEnv(t, sb, true)
	rep, out, err := runFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(t.TempDir(), "s")}, Runner{Yes: true, Words: []string{"load"}})
	if err != nil || len(rep.Leftovers) > 0 || strings.Contains(out, "left behind") {
		t.Fatalf("a finished flow names leftovers: %v %+v\n%s", err, rep.Leftovers, out)
	}
}

// offerAsker is a scriptedAsker that answers the offer to remove a
// leftover (asked as step 0) with accept.
type offerAsker struct {
	scriptedAsker
	accept, offered bool
}

func (a *offerAsker) Confirm(ctx context.Context, step int, title, word string) (bool, error) {
	if step == 0 {
		a.offered = true
		return a.accept, nil
	}
	return a.scriptedAsker.Confirm(ctx, step, title, word)
}
