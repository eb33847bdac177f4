package ui

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/clustertest"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/rollout"
	"github.com/k3sca/k3sca/sandbox"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// realFlowCase is one real flow driven through the wizard: how to make its
// node, how to fill its form, what to answer at each question, and what it
// must have done.
type realFlowCase struct {
	id string
	// setup makes the node (and chdirs into it) and returns its env and
	// the check of the flow's effects, run once the wizard has quit.
	setup func(t *testing.T) (steps.Env, func(t *testing.T, end rfState))
	// fill types the form's values; want is what the form then holds
	// (nil: the flow has no fields, so there is no form).
	fill func(d *rfDriver)
	want map[string]string
	// answers are the answers to the questions, in order: "y" for a
	// yes/no question, else the word to type.
	answers []string
}

// rfStageDefault is the staging dir a form proposes at the pinned clock.
func rfStageDefault(kind string) string { return fmt.Sprintf("k3sca-%s-%d", kind, testkit.Now.Unix()) }

var realFlowCases = []realFlowCase{
	{
		id: steps.FlowCheck,
		setup: func(t *testing.T) (steps.Env, func(*testing.T, rfState)) {
			_, env, svc := rfSandbox(t)
			before := rfTreeSums(t, ".")
			return env, func(t *testing.T, end rfState) {
				inv, ok := end.reps[0].Outcome.Data.(*pki.Inventory)
				if !ok || len(inv.CAs) == 0 || len(inv.Leaves) == 0 {
					t.Fatalf("no inventory: %#v", end.reps[0].Outcome)
				}
				aged := false
				for _, c := range inv.Leaves {
					if strings.HasSuffix(c.Path, filepath.FromSlash(sandbox.NearExpiryFile)) {
						aged = c.Status != pki.StatusOK
					}
				}
				if !aged {
					t.Error("the check does not flag the admin certificate near its expiry")
				}
				if !maps.Equal(before, rfTreeSums(t, ".")) || len(svc.Calls()) > 0 {
					t.Errorf("the check wrote files or called the service manager: %v", svc.Calls())
				}
			}
		},
	},
	{
		id: steps.FlowRotateCerts,
		setup: func(t *testing.T) (steps.Env, func(*testing.T, rfState)) {
			_, env, svc := rfSandbox(t)
			inv, err := steps.Check(context.Background(), steps.CheckInput{DataDir: "data", Product: product.K3s, Now: testkit.Now, Services: []string{"api-server"}})
			if err != nil || len(inv.Leaves) == 0 {
				t.Fatalf("api-server certificates: %v", err)
			}
			before := rfTreeSums(t, filepath.Join("data", "server", "tls"))
			return env, func(t *testing.T, _ rfState) {
				if got := strings.Join(svc.Calls(), ","); got != "stop k3s,start k3s" {
					t.Errorf("service calls %q", got)
				}
				after := rfTreeSums(t, filepath.Join("data", "server", "tls"))
				rotated := map[string]bool{}
				for _, c := range inv.Leaves {
					for _, p := range []string{c.Path, strings.TrimSuffix(c.Path, ".crt") + ".key"} {
						rotated[p] = true
						if after[p] == "" || after[p] == before[p] {
							t.Errorf("%s was not re-issued", p)
						}
					}
				}
				for p, sum := range before {
					if !rotated[p] && after[p] != sum {
						t.Errorf("%s changed, but it is not an api-server certificate or key", p)
					}
				}
			}
		},
		fill: func(d *rfDriver) {
			d.key(tea.KeyCtrlU, 1)
			d.typ("api-server")
		},
		want:    map[string]string{"services": "api-server"},
		answers: []string{"y"},
	},
	{
		id: steps.FlowCustomCA,
		setup: func(t *testing.T) (steps.Env, func(*testing.T, rfState)) {
			t.Chdir(t.TempDir())
			if err := os.Mkdir("data", 0o700); err != nil {
				t.Fatal(err)
			}
			env := steps.Env{DataDir: "data", Product: product.K3s, Now: testkit.Clock,
				Services: node.NewFakeServices()}
			return env, func(t *testing.T, _ rfState) {
				server := product.ServerDir("data")
				for _, f := range pki.RotatableFields() {
					if rfFileSum(t, f.Abs(server)) == "" {
						t.Errorf("the bootstrap did not write %s", f.Path)
					}
				}
				if rfFileSum(t, filepath.Join(server, "ca", "root-ca.key")) == "" {
					t.Error("no generated root key in server/ca")
				}
			}
		},
		fill:    func(*rfDriver) {},
		want:    map[string]string{},
		answers: []string{"y"},
	},
	{
		id: steps.FlowRotateCustomCA,
		setup: func(t *testing.T) (steps.Env, func(*testing.T, rfState)) {
			_, env, _ := rfSandbox(t)
			set, err := pki.GenerateCustomCA(context.Background(), pki.GenOptions{Product: product.K3s, Now: testkit.Now.Add(-time.Hour)}, pki.CustomCAInput{})
			if err != nil {
				t.Fatal(err)
			}
			if err := set.Write(context.Background(), "pki", testkit.Now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			oldHash := rfDiskHash(t)
			return env, func(t *testing.T, _ rfState) {
				root, err := os.ReadFile(filepath.Join("pki", "ca", "root-ca.pem"))
				if err != nil {
					t.Fatal(err)
				}
				live, err := os.ReadFile(pki.ServerCAPath(product.ServerDir("data")))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasSuffix(bytes.TrimSpace(live), bytes.TrimSpace(root)) {
					t.Error("the live server CA does not chain to the new root")
				}
				if sums, _ := rfStored(t); sums["ServerCA"] != rfLiveField(t, "ServerCA") {
					t.Error("the datastore's ServerCA is not the one on disk")
				}
				if rfDiskHash(t) == oldHash {
					t.Error("the CA hash did not change with the new root")
				}
			}
		},
		fill: func(d *rfDriver) {
			d.key(tea.KeyRight, 1)
			d.key(tea.KeyDown, 1)
			d.typ("pki/ca/root-ca.pem")
			d.key(tea.KeyDown, 1)
			d.typ("pki/ca/root-ca.key")
		},
		want: map[string]string{"root": "new", "root-cert": "pki/ca/root-ca.pem", "root-key": "pki/ca/root-ca.key",
			"path": rfStageDefault("custom-ca")},
		answers: []string{"y", "sandbox"},
	},
	{
		id: steps.FlowRotateCA,
		setup: func(t *testing.T) (steps.Env, func(*testing.T, rfState)) {
			_, env, _ := rfSandbox(t)
			oldHash := rfDiskHash(t)
			return env, func(t *testing.T, _ rfState) {
				staged := rfStageDefault("rotation")
				want := rfStagedField(t, staged, "ServerCA")
				if sums, _ := rfStored(t); want == "" || sums["ServerCA"] != want {
					t.Error("the datastore does not hold the staged server CA")
				}
				if rfLiveField(t, "ServerCA") != want {
					t.Error("the simulated restart did not take the staged server CA")
				}
				if rfDiskHash(t) == oldHash {
					t.Error("the CA hash did not change")
				}
			}
		},
		fill:    func(*rfDriver) {},
		want:    map[string]string{"path": rfStageDefault("rotation")},
		answers: []string{"y", "load"},
	},
	{
		id: steps.FlowRotateServiceKey,
		setup: func(t *testing.T) (steps.Env, func(*testing.T, rfState)) {
			_, env, _ := rfSandbox(t)
			oldKey, oldHash := rfLiveField(t, "ServiceKey"), rfDiskHash(t)
			return env, func(t *testing.T, _ rfState) {
				want := rfStagedField(t, rfStageDefault("service-key"), "ServiceKey")
				if sums, _ := rfStored(t); want == "" || sums["ServiceKey"] != want {
					t.Error("the datastore does not hold the staged service key")
				}
				if live := rfLiveField(t, "ServiceKey"); live != want || live == oldKey {
					t.Error("the simulated restart did not take the staged service key")
				}
				if rfDiskHash(t) != oldHash {
					t.Error("the CA hash changed with the service key")
				}
			}
		},
		fill:    func(*rfDriver) {},
		want:    map[string]string{"path": rfStageDefault("service-key")},
		answers: []string{"y", "load"},
	},
	{
		id: steps.FlowDatastore,
		setup: func(t *testing.T) (steps.Env, func(*testing.T, rfState)) {
			_, env, _ := rfSandbox(t)
			origHash := rfDiskHash(t)
			rfRunHeadless(t, env, steps.FlowRotateCA, nil, "load")
			rotatedHash := rfDiskHash(t)
			_, rev := rfStored(t)
			bs, err := steps.ListBackups("data")
			if err != nil || len(bs) != 1 {
				t.Fatalf("backups after rotate-ca: %d, %v", len(bs), err)
			}
			if rotatedHash == origHash || bs[0].Path != rfRestoreBackup {
				t.Fatalf("rotate-ca left hash %s (was %s), backup %s", rotatedHash, origHash, bs[0].Path)
			}
			return env, func(t *testing.T, _ rfState) {
				if _, now := rfStored(t); now <= rev {
					t.Errorf("the datastore revision is %d, was %d before the restore", now, rev)
				}
				if h := rfDiskHash(t); h != origHash {
					t.Errorf("after the restore and the restart the CA hash is %s, want the one before the rotation %s", h, origHash)
				}
				if bs, err := steps.ListBackups("data"); err != nil || len(bs) != 2 {
					t.Errorf("the restore did not back up the value it replaced: %d backups, %v", len(bs), err)
				}
			}
		},
		// The picker lists the one backup: ↓ chooses it.
		fill: func(d *rfDriver) {
			d.wait("the backups", func(st rfState) bool { return st.kind == "form" && st.backups == 1 })
			d.key(tea.KeyDown, 1)
		},
		want:    map[string]string{"restore": rfRestoreBackup},
		answers: []string{"restore"},
	},
	{
		id: steps.FlowLoad,
		setup: func(t *testing.T) (steps.Env, func(*testing.T, rfState)) {
			_, env, _ := rfSandbox(t)
			// The sandbox's own service manager: a new sandbox is stopped.
			svc := &sandbox.Services{DataDir: "data", Product: product.K3s, Now: testkit.Clock}
			env.Services = svc
			_, err := steps.NewGenerate(steps.GenerateInput{Kind: steps.GenRotation, DataDir: "data", Out: "staged",
				Opts: pki.GenOptions{Product: product.K3s, Now: testkit.Now}}).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			oldHash := rfDiskHash(t)
			return env, func(t *testing.T, _ rfState) {
				want := rfStagedField(t, "staged", "ServerCA")
				if sums, _ := rfStored(t); want == "" || sums["ServerCA"] != want {
					t.Error("the datastore does not hold the staged server CA")
				}
				if rfLiveField(t, "ServerCA") != want || rfDiskHash(t) == oldHash {
					t.Error("the simulated start did not take the staged server CA")
				}
				if on, err := svc.IsActive(context.Background(), product.K3s.ServerUnit()); err != nil || !on {
					t.Errorf("the sandbox's k3s is not running after the flow (%v)", err)
				}
			}
		},
		fill:    func(d *rfDriver) { d.typ("staged") },
		want:    map[string]string{"path": "staged"},
		answers: []string{"load", "y"},
	},
	{
		id: steps.FlowRollout,
		setup: func(t *testing.T) (steps.Env, func(*testing.T, rfState)) {
			c, env, newHash := rfRotatedCluster(t)
			return env, func(t *testing.T, end rfState) {
				for _, n := range c.Nodes {
					for _, h := range clustertest.TokenHashes(t, n.Root) {
						if h != newHash {
							t.Errorf("%s: a token still holds %s after the rollout", n.Name, h)
						}
					}
				}
			}
		},
		answers: []string{"sandbox"},
	},
}

// rfRestoreBackup is the backup the rotate-ca run before the datastore flow
// leaves: named after the pinned clock and the revision it replaced.
var rfRestoreBackup = filepath.Join("data", "server", steps.BackupDirName, fmt.Sprintf("%d-1", testkit.Now.Unix()), steps.BackupFile)

// TestRealFlows drives each of the real flows of steps.Flows() through the
// wizard on a real node (a sandbox, or an empty data dir for the custom-CA
// bootstrap) at both golden sizes: the form, every question (preview and
// prompt) and the end are compared with goldens after rfNormalize, and the
// flow's effects on the node are checked.
func TestRealFlows(t *testing.T) {
	specs := steps.Flows()
	if len(specs) != len(realFlowCases) {
		t.Fatalf("%d flows, %d cases", len(specs), len(realFlowCases))
	}
	for _, tc := range realFlowCases {
		at := -1
		for i, sp := range specs {
			if sp.ID == tc.id {
				at = i
			}
		}
		if at < 0 {
			t.Fatalf("no flow %s", tc.id)
		}
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", tc.id, size[0], size[1]), func(t *testing.T) {
				runRealFlow(t, tc, specs, at, size[0], size[1])
			})
		}
	}
}

// openHelp presses open and waits for flow id's help: it must say what
// the flow does, its steps and what happens at the restart.
func (d *rfDriver) openHelp(id string, open func()) rfState {
	d.t.Helper()
	text := flowHelps[id]
	if text == "" || !strings.Contains(text, "Steps:") && !strings.Contains(text, "No restart") {
		d.t.Errorf("flow %s has no help, or one without its steps: %q", id, text)
	}
	open()
	first, _, _ := strings.Cut(text, " ")
	return d.wait("the flow's help", func(st rfState) bool { return st.help && strings.Contains(st.view, first) })
}

// shot names the recorded screen st for its golden.
func (st rfState) shot(name string) rfShot { return rfShot{name, st.view, st.whole} }

// rfShot is one recorded screen and its golden name.
type rfShot struct{ name, view, whole string }

func runRealFlow(t *testing.T, tc realFlowCase, specs []steps.FlowSpec, at, w, h int) {
	env, effects := tc.setup(t)
	d := rfStart(t, Config{Env: env, Specs: specs, Sandbox: node.IsSandbox(env.DataDir), DataDirSource: "--data-dir flag"}, w, h)
	var shots []rfShot

	d.wait("the menu and the node's facts", func(st rfState) bool { return st.kind == "menu" && st.facts > 0 })
	d.key(tea.KeyDown, at)
	d.key(tea.KeyEnter, 1)

	if tc.want != nil {
		d.wait("the form", func(st rfState) bool { return st.kind == "form" })
		tc.fill(d)
		st := d.wait("the form's values", func(st rfState) bool {
			for k, v := range tc.want {
				if st.values[k] != v {
					return false
				}
			}
			return st.kind == "form"
		})
		shots = append(shots, rfShot{"form", st.view, st.whole})
		// f1 opens the flow's help while the field would take "?"; esc
		// goes back to the form as it was.
		shots = append(shots, d.openHelp(tc.id, func() { d.f1() }).shot("help"))
		d.key(tea.KeyEsc, 1)
		back := d.wait("the form again", func(st rfState) bool { return st.kind == "form" && !st.help })
		if !maps.Equal(back.values, st.values) {
			t.Errorf("after the help the form holds %v, had %v", back.values, st.values)
		}
		d.key(tea.KeyCtrlS, 1)
	}

	for i, ans := range tc.answers {
		st := d.wait(fmt.Sprintf("question %d", i+1), func(st rfState) bool {
			return st.kind == "flow" && (st.phase == phEnd || st.phase == phAsk && st.asks == i+1)
		})
		if st.phase == phEnd {
			t.Fatalf("the flow ended before question %d:\n%s", i+1, st.view)
		}
		word := ans
		if ans == "y" {
			word = ""
		}
		if st.word != word {
			t.Fatalf("question %d asks for %q, want %q:\n%s", i+1, st.word, word, st.view)
		}
		shots = append(shots, st.shot(fmt.Sprintf("question-%d", i+1)))
		d.typ(ans)
		d.key(tea.KeyEnter, 1)
	}

	end := d.wait("the end", func(st rfState) bool { return st.kind == "flow" && st.phase == phEnd && st.factsAfter })
	shots = append(shots, end.shot("end"))
	if tc.want == nil {
		// No form: ? at the end opens the flow's help.
		shots = append(shots, d.openHelp(tc.id, func() { d.typ("?") }).shot("help"))
		d.key(tea.KeyEsc, 1)
		d.wait("the end again", func(st rfState) bool { return st.kind == "flow" && !st.help && st.phase == phEnd })
	}
	// The end of a long report: page down to its last line.
	for st := end; !st.atBottom; {
		d.key(tea.KeyPgDown, 1)
		from := st.offset
		st = d.wait("the next page", func(st rfState) bool { return st.offset != from || st.atBottom })
		if st.atBottom {
			shots = append(shots, st.shot("end-bottom"))
		}
	}
	if end.asks != len(tc.answers) {
		t.Errorf("%d questions, want %d", end.asks, len(tc.answers))
	}
	if !strings.Contains(end.view, "✓ done") {
		t.Errorf("the flow did not end well:\n%s", end.view)
	}
	for _, r := range end.reps {
		if r.Status != steps.StatusDone && r.Status != steps.StatusSkipped {
			t.Errorf("step %d (%s) is %s", r.N, r.Title, r.Status)
		}
	}
	d.quit()
	effects(t, end)

	checkShots(t, shots, w, h)
}

// checkShots checks each recorded screen: it fits w x h, every value it
// shortens is printed whole by w, and it is its golden.
func checkShots(t *testing.T, shots []rfShot, w, h int) {
	t.Helper()
	for _, s := range shots {
		t.Run(s.name, func(t *testing.T) {
			requireFits(t, s.view, w, h)
			for _, p := range offeredWhole(s.view, s.whole) {
				t.Errorf("%s; the screen:\n%s", p, s.view)
			}
			requireGolden(t, rfNormalize(s.view), false)
		})
	}
}

// TestRolloutKeepsTheDryRun: the rollout step is a dry run by default, as
// talosctl's rotate-ca is. Its question shows the dry run (every node
// probed and planned, nothing changed) and says esc keeps it a dry run;
// esc then ends the flow with the step planned, every node as it was, and
// the command that rolls it out; typing the cluster's name (TestRealFlows'
// rollout case) goes on.
func TestRolloutKeepsTheDryRun(t *testing.T) {
	specs := steps.Flows()
	at := slices.IndexFunc(specs, func(sp steps.FlowSpec) bool { return sp.ID == steps.FlowRollout })
	for _, size := range sizes {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			c, env, newHash := rfRotatedCluster(t)
			before := rfTreeSums(t, "nodes")
			d := rfStart(t, Config{Env: env, Specs: specs, Sandbox: node.IsSandbox(env.DataDir), DataDirSource: "--data-dir flag"}, size[0], size[1])
			d.wait("the menu and the node's facts", func(st rfState) bool { return st.kind == "menu" && st.facts > 0 })
			d.key(tea.KeyDown, at)
			d.key(tea.KeyEnter, 1)
			ask := d.wait("the rollout's question", func(st rfState) bool { return st.kind == "flow" && st.phase == phAsk })
			for _, want := range []string{"Dry run of the rollout", "nothing changed yet", "esc keeps it a dry run", "esc dry run"} {
				if !strings.Contains(ask.view, want) {
					t.Errorf("the question lacks %q:\n%s", want, ask.view)
				}
			}
			d.key(tea.KeyEsc, 1)
			end := d.wait("the end", func(st rfState) bool { return st.kind == "flow" && st.phase == phEnd && st.factsAfter })
			if len(end.reps) != 1 || end.reps[0].Status != steps.StatusPlanned {
				t.Fatalf("the rollout step after esc: %+v", end.reps)
			}
			rr, ok := end.reps[0].Outcome.Data.(*rollout.Report)
			if !ok || !rr.DryRun || rr.Summary() != "5 nodes: 1 done, 4 planned" && rr.Summary() != "5 nodes: 5 planned" {
				t.Errorf("the kept dry run's report: %#v", end.reps[0].Outcome.Data)
			}
			joined := strings.Join(end.reps[0].Outcome.Details, "\n")
			want := "roll it out with: k3sca run rollout -d " + env.DataDir + " --inventory inventory.yml --yes --confirm sandbox"
			if !strings.Contains(joined, want) {
				t.Errorf("the outcome lacks %q:\n%s", want, joined)
			}
			if strings.Contains(end.view, "not confirmed: stopped before") || !strings.Contains(end.view, "stayed a dry run") {
				t.Errorf("the end does not say the step stayed a dry run:\n%s", end.view)
			}
			d.quit()
			if !maps.Equal(before, rfTreeSums(t, "nodes")) {
				t.Error("a file of a node changed, though the rollout stayed a dry run")
			}
			for _, n := range c.Nodes[1:] {
				for _, h := range clustertest.TokenHashes(t, n.Root) {
					if h == newHash {
						t.Errorf("%s: a token holds the new hash after a dry run", n.Name)
					}
				}
			}
			for name, view := range map[string]string{"question": ask.view, "end": end.view} {
				t.Run(name, func(t *testing.T) {
					requireFits(t, view, size[0], size[1])
					requireGolden(t, rfNormalize(view), false)
				})
			}
		})
	}
}
