package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/steps"
)

// rfState is what a realRecorder saw after the latest message: the
// screen drawn (ANSI stripped) and the state the tests wait on.
type rfState struct {
	view string
	// whole is what w prints for the screen (the root's whole lines).
	whole string
	kind  string // "menu", "form", "flow" or "certs"

	// The form's values, whether it builds its flow, and its error; how
	// many backups its picker lists (-1: not read yet).
	values  map[string]string
	checked map[string]error
	busy    bool
	formErr string
	backups int

	// The flow screen: its phase, how many questions it has asked, the
	// step asked about and the word to type ("" for yes/no), the step
	// reports as last copied, and whether the header read the node again
	// once the flow ended.
	phase      flowPhase
	asks       int
	askIndex   int
	word       string
	reps       []steps.StepReport
	factsAfter bool
	// The viewport's offset and whether it shows the last line.
	offset   int
	atBottom bool

	// The certificate report: whether one certificate is open, the
	// filter, the cursor and the certificate under it (by path).
	certDetail, certFiltering bool
	certFilter                string
	certPath                  string

	// help says the flow's help is over the screen.
	help bool

	facts int // facts messages seen
}

// realRecorder wraps the wizard's root model and records, on the update
// loop, the state after every message. Tests read a copy under the lock,
// so they never call into the model from another goroutine.
type realRecorder struct {
	m  *model
	mu sync.Mutex
	st rfState
}

func (r *realRecorder) Init() tea.Cmd { return r.m.Init() }

func (r *realRecorder) View() string { return r.m.View() }

func (r *realRecorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := r.m.Update(msg)
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &r.st
	st.help = false
	switch s := r.m.cur.(type) {
	case *flowHelpScreen:
		st.help = true
	case *menu:
		st.kind = "menu"
	case *form:
		st.kind, st.values, st.checked, st.busy = "form", maps.Clone(s.values), maps.Clone(s.checked), s.busy
		st.backups = -1
		if s.picker.loaded {
			st.backups = len(s.picker.list)
		}
		st.formErr = ""
		if s.err != nil {
			st.formErr = s.err.Error()
		}
	case *certReport:
		st.kind, st.certDetail, st.certFiltering, st.certFilter, st.certPath = "certs", s.detail, s.filtering, s.filter.Value(), ""
		if c, ok := s.selected(); ok {
			st.certPath = c.Path
		}
	case *flowScreen:
		if st.kind == "certs" {
			st.kind = "flow" // back from the report: the same session
		}
		if st.kind != "flow" {
			st.kind, st.asks, st.askIndex, st.factsAfter = "flow", 0, -1, false
		}
		if s.phase == phAsk && (st.phase != phAsk || st.askIndex != s.prep.Index) {
			st.asks++
			st.askIndex, st.word = s.prep.Index, s.prep.Word
		}
		st.phase, st.reps = s.phase, slices.Clone(s.reps)
		st.offset, st.atBottom = s.vp.YOffset, s.vp.AtBottom()
	}
	if _, ok := msg.(factsMsg); ok {
		st.facts++
		if st.kind == "flow" && st.phase == phEnd {
			st.factsAfter = true
		}
	}
	st.view = ansi.Strip(r.m.View())
	st.whole = ansi.Strip(r.m.whole())
	return r, cmd
}

// state returns a copy of the latest state.
func (r *realRecorder) state() rfState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// rfDriver runs the wizard on a real flow and waits on its recorded state.
type rfDriver struct {
	t   *testing.T
	tm  *teatest.TestModel
	rec *realRecorder
}

func rfStart(t *testing.T, cfg Config, w, h int) *rfDriver {
	t.Helper()
	rec := &realRecorder{m: newModel(context.Background(), cfg, deps{})}
	tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() { _ = tm.Quit() })
	return &rfDriver{t: t, tm: tm, rec: rec}
}

// wait polls the recorded state until cond holds (20 s at most).
func (d *rfDriver) wait(what string, cond func(rfState) bool) rfState {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := d.rec.state()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out waiting for %s; the screen is:\n%s", what, st.view)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (d *rfDriver) key(k tea.KeyType, times int) {
	for range times {
		d.tm.Send(tea.KeyMsg{Type: k})
	}
}

func (d *rfDriver) typ(s string) { d.tm.Type(s) }

// f1 presses F1.
func (d *rfDriver) f1() { d.tm.Send(tea.KeyMsg{Type: tea.KeyF1}) }

// quit ends the program and waits until it has returned.
func (d *rfDriver) quit() {
	d.t.Helper()
	if err := d.tm.Quit(); err != nil {
		d.t.Fatal(err)
	}
	d.tm.FinalModel(d.t, teatest.WithFinalTimeout(20*time.Second))
}

// Normalisation of the recorded screens, so that goldens hold across runs
// although every run generates new keys:
//   - a run of 8 or more lowercase hex digits (CA hashes, the header's
//     short hash, SHA-256 sums) becomes as many "x", so columns stay where
//     they were; a token's "K10" prefix is kept. This also masks pure-digit
//     runs of that length, such as the pinned timestamps in staged dir
//     names, which is harmless;
//   - a PEM size ("1234 bytes") becomes "n" digits of the same width:
//     an ECDSA signature varies by a byte or two;
//   - the size of a database copy ("44 KiB") has its digits masked in
//     place: its page count follows the sizes of the keys in it;
//   - a certificate's serial becomes "<serial>" (its length varies);
//   - a port on 127.0.0.1 (a sandbox server's supervisor listens on a
//     free one) becomes "port";
//   - trailing spaces are dropped (requireGolden does that too).
//
// Everything else (revision numbers, backup names, paths) is deterministic
// because the clock is pinned and the tests chdir into their temp dir.
var (
	realHexRun = regexp.MustCompile(`(K10)?[0-9a-f]{8,}`)
	realBytes  = regexp.MustCompile(`\b\d+ bytes\b`)
	realIEC    = regexp.MustCompile(`\b\d+(\.\d+)? [KMG]iB\b`)
	realDigit  = regexp.MustCompile(`\d`)
	realSerial = regexp.MustCompile(`(serial\s+)x+`)
	realPort   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

func rfNormalize(view string) string {
	view = realHexRun.ReplaceAllStringFunc(view, func(s string) string {
		if rest, ok := strings.CutPrefix(s, "K10"); ok {
			return "K10" + strings.Repeat("x", len(rest))
		}
		return strings.Repeat("x", len(s))
	})
	view = realBytes.ReplaceAllStringFunc(view, func(s string) string {
		n, _, _ := strings.Cut(s, " ")
		return strings.Repeat("n", len(n)) + " bytes"
	})
	view = realIEC.ReplaceAllStringFunc(view, func(s string) string { return realDigit.ReplaceAllString(s, "n") })
	view = realPort.ReplaceAllString(view, "127.0.0.1:port")
	// A serial is random: 15 or 16 hex digits.
	return realSerial.ReplaceAllString(view, "${1}<serial>")
}

// rfSandbox makes a sandbox as `k3sca sandbox` does (the admin client
// certificate near its expiry) in a fresh temp dir that becomes the
// working dir, so paths on screen are short and the same on every run. The
// env's k3s runs under a fake service manager whose start simulates what
// k3s does at start.
func rfSandbox(t *testing.T) (*sandbox.Sandbox, steps.Env, *node.FakeServices) {
	t.Helper()
	sb := sandboxtest.InWorkDir(t, sandbox.Input{Now: testkit.Now, NearExpiry: true})
	svc := node.NewFakeServices(product.K3s.ServerUnit())
	svc.OnStart = func(ctx context.Context, _ string) error {
		_, err := sandbox.SimulateRestart(ctx, sb.DataDir, product.K3s, testkit.Now)
		return err
	}
	env := steps.Env{
		DataDir: "data", Product: product.K3s, Now: testkit.Clock,
		StageRoot: ".", Services: svc, ClusterName: "sandbox",
	}
	return sb, env, svc
}

// rfFileSum is the SHA-256 of a file, "" when it cannot be read.
func rfFileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// rfTreeSums maps every regular file under dir to its SHA-256.
func rfTreeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		out[p] = rfFileSum(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rfStored is the sandbox's datastore as k3sca shows it: the SHA-256 of
// each bootstrap field and the revision of the bootstrap key.
func rfStored(t *testing.T) (map[string]string, int64) {
	t.Helper()
	rep, err := steps.ShowDatastore(context.Background(),
		steps.AccessInput{DataDir: "data", Via: steps.ViaSQLite, Product: product.K3s, Services: node.NewFakeServices()}, "")
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, f := range rep.Fields {
		sums[f.Field] = f.SHA256
	}
	return sums, rep.Revision
}

// rfLiveField is the SHA-256 of a bootstrap field's file in the live data dir.
func rfLiveField(t *testing.T, name string) string {
	t.Helper()
	f, _ := pki.Field(name)
	return rfFileSum(t, f.Abs(product.ServerDir("data")))
}

// rfStagedField is the SHA-256 of a bootstrap field's file in a staged dir.
func rfStagedField(t *testing.T, staged, name string) string {
	t.Helper()
	f, _ := pki.Field(name)
	return rfFileSum(t, f.Abs(staged))
}

// rfDiskHash is the CA hash of the live server CA.
func rfDiskHash(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(pki.ServerCAPath(product.ServerDir("data")))
	if err != nil {
		t.Fatal(err)
	}
	h, err := pki.HashCA(b, testkit.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h.Hex
}

// rfRunHeadless builds spec id with its defaults and vals and runs it as
// `k3sca run --yes --confirm <words>` would.
func rfRunHeadless(t *testing.T, env steps.Env, id string, vals map[string]string, words ...string) {
	t.Helper()
	spec, ok := steps.FindFlow(steps.Flows(), id)
	if !ok {
		t.Fatalf("no flow %s", id)
	}
	all := spec.InitialValues(env)
	maps.Copy(all, vals)
	f, err := spec.Build(context.Background(), env, all)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r := steps.Runner{Out: &out, Yes: true, Words: words}
	if _, err := r.Run(context.Background(), f); err != nil {
		t.Fatalf("%s: %v\n%s", id, err, out.String())
	}
}

// rfRotatedCluster is a 3+2 sandbox cluster in the test's dir whose first
// server ran rotate-ca up to its own restart; the env is s1's, with the
// cluster's inventory, and the new CA hash.
func rfRotatedCluster(t *testing.T) (*sandbox.Cluster, steps.Env, string) {
	t.Helper()
	root := t.TempDir()
	t.Chdir(root)
	now := testkit.Clock
	c, err := sandbox.CreateCluster(context.Background(), sandbox.ClusterInput{Root: root, Servers: 3, Agents: 2, Product: product.K3s, Now: testkit.Now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dd, err := filepath.Rel(root, c.Nodes[0].DataDir)
	if err != nil {
		t.Fatal(err)
	}
	env := steps.Env{DataDir: dd, Product: product.K3s, Now: now, StageRoot: root, ClusterName: "sandbox", RestartTimeout: 5 * time.Second,
		Services: &sandbox.Services{DataDir: dd, Product: product.K3s, Now: now}, Inventory: "inventory.yml", Local: sandbox.Clusters{}}
	spec, _ := steps.FindFlow(steps.Flows(), steps.FlowRotateCA)
	vals := spec.InitialValues(env)
	vals["path"] = filepath.Join(root, "stage")
	f, err := spec.Build(context.Background(), env, vals)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Select(nil, []string{"rollout"}); err != nil {
		t.Fatal(err)
	}
	rep, err := (&steps.Runner{Yes: true, Words: []string{"load"}}).Run(context.Background(), f)
	if err != nil || rep.Result == nil {
		t.Fatalf("rotate-ca on s1: %v", err)
	}
	return c, env, rep.Result.NewHash
}
