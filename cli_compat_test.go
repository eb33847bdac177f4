package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
	"github.com/k3sca/k3sca/steps"
)

var updateCLI = flag.Bool("update-cli", false, "rewrite the CLI compatibility goldens under testdata/cli")

// cliGolden is what a single-step command gave for a script: its exit code
// and its stdout (JSON normalised, or text).
type cliGolden struct {
	Exit   int    `json:"exit"`
	JSON   any    `json:"json,omitempty"`
	Stdout string `json:"stdout,omitempty"`
}

var (
	sha256Hex = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	sha16Hex  = regexp.MustCompile(`\b[0-9a-f]{16}\b`)
	unixSufx  = regexp.MustCompile(`-1[0-9]{9}\b`)
	tokenHash = regexp.MustCompile(`K10[0-9a-f]{64}`)
	sha12Hex  = regexp.MustCompile(`(sha256 |/bootstrap/)[0-9a-f]{12}\b`)
	byteCount = regexp.MustCompile(`\b[0-9]+ bytes\b`)
	// The size of a copy of state.db follows its pages, whose number
	// follows the random keys' encoded sizes.
	sizeKiB = regexp.MustCompile(`\b[0-9]+(\.[0-9]+)? KiB\b`)
)

// normaliser replaces the values that change from run to run: temp
// paths, hashes (keys are random), unix-time suffixes of generated names.
type normaliser struct{ paths [][2]string }

func (n normaliser) str(s string) string {
	for _, p := range n.paths {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	s = tokenHash.ReplaceAllString(s, "K10<sha256>")
	s = sha12Hex.ReplaceAllString(s, "$1<sha12>")
	s = byteCount.ReplaceAllString(s, "<n> bytes")
	s = sizeKiB.ReplaceAllString(s, "<n> KiB")
	s = sha256Hex.ReplaceAllString(s, "<sha256>")
	s = sha16Hex.ReplaceAllString(s, "<sha16>")
	return unixSufx.ReplaceAllString(s, "-<unix>")
}

func (n normaliser) value(v any) any {
	switch x := v.(type) {
	case string:
		return n.str(x)
	case []any:
		for i := range x {
			x[i] = n.value(x[i])
		}
	case map[string]any:
		for k := range x {
			switch k {
			case "size", "dbSize":
				// Certificate sizes vary with the signature's DER length, a copy of state.db with its pages.
				x[k] = "<size>"
			case "value":
				// An encrypted bootstrap value.
				x[k] = "<value>"
			default:
				x[k] = n.value(x[k])
			}
		}
	}
	return v
}

// subset reports where got lacks or changes what want pins: every key of
// want must be in got with the same value; got may have more keys (fields
// added later do not break a script). Lists must match element for
// element.
func subset(want, got any, at string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{at + ": not an object"}
		}
		var diffs []string
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, at+"."+k+": missing")
				continue
			}
			diffs = append(diffs, subset(w[k], gv, at+"."+k)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			b, _ := json.Marshal(got)
			return []string{at + ": got " + string(b)}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, subset(w[i], g[i], at+"["+string(rune('0'+i%10))+"]")...)
		}
		return diffs
	}
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	if string(wb) != string(gb) {
		return []string{at + ": want " + string(wb) + ", got " + string(gb)}
	}
	return nil
}

// checkCLIGolden compares r with testdata/cli/<name>.json: the exit code,
// and the JSON fields (a subset) or the text.
func checkCLIGolden(t *testing.T, name string, r result, n normaliser, isJSON bool) {
	t.Helper()
	got := cliGolden{Exit: r.code}
	if isJSON {
		var v any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("%s: stdout is not JSON (%v):\n%s\nstderr:\n%s", name, err, r.stdout, r.stderr)
		}
		got.JSON = n.value(v)
	} else {
		got.Stdout = n.str(r.stdout)
	}
	path := testkit.Testdata(filepath.Join("cli", name+".json"))
	if *updateCLI {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v (run with -update-cli)", name, err)
		return
	}
	var want cliGolden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if got.Exit != want.Exit {
		t.Errorf("%s: exit %d, want %d\nstderr:\n%s", name, got.Exit, want.Exit, r.stderr)
	}
	if isJSON {
		for _, d := range subset(want.JSON, got.JSON, "$") {
			t.Errorf("%s: %s", name, d)
		}
		return
	}
	if got.Stdout != want.Stdout {
		t.Errorf("%s: stdout\n%s\nwant\n%s", name, got.Stdout, want.Stdout)
	}
}

// TestSingleStepCommandsCompat pins, for scripts, the exit codes and the
// JSON fields (or the text) of the single-step commands: generate,
// validate, token, rotate, load, datastore restore, backups and show. New
// fields may be added; a pinned one may not change or go away.
func TestSingleStepCommandsCompat(t *testing.T) {
	sb := sandboxtest.New(t)
	top := t.TempDir()
	stage := filepath.Join(top, "stage")
	fresh := filepath.Join(top, "fresh")
	n := normaliser{paths: [][2]string{{stage, "$STAGE"}, {fresh, "$FRESH"}, {sb.DataDir, "$DATA"}, {top, "$TOP"}}}
	set, err := pki.GenerateDefaultCAs(pki.GenOptions{Product: product.K3s, Now: testkit.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Write(t.Context(), fresh, testkit.Now); err != nil {
		t.Fatal(err)
	}
	d := []string{"-d", sb.DataDir}
	run := func(name string, isJSON bool, args ...string) result {
		t.Helper()
		r := runAt(t, append(args, d...)...)
		checkCLIGolden(t, name, r, n, isJSON)
		return r
	}

	run("generate-dry-run", false, "generate", "rotation", "--out", stage, "--dry-run")
	run("generate-no-out", false, "generate", "rotation")
	run("generate-no-yes", false, "generate", "rotation", "--out", stage)
	run("generate", false, "generate", "rotation", "--out", stage, "--yes")
	run("generate-nonempty", false, "generate", "rotation", "--out", stage, "--yes")

	run("validate-accepted", true, "validate", "--path", stage, "-o", "json")
	run("validate-refused", true, "validate", "--path", fresh, "-o", "json")
	run("validate-forced", true, "validate", "--path", fresh, "--force", "-o", "json")
	run("validate-text", false, "validate", "--path", stage)

	run("token", true, "token", "-o", "json")
	run("token-staged", true, "token", "--path", stage, "-o", "json")

	run("rotate-dry-run", false, "rotate", "-s", "api-server", "--dry-run")

	run("load-dry-run", true, "load", "--path", stage, "--dry-run", "-o", "json")
	run("load-refused", true, "load", "--path", fresh, "--dry-run", "-o", "json")
	run("load-no-yes", false, "load", "--path", stage)
	run("load-force-no-name", true, "load", "--path", fresh, "--force", "--yes", "--confirm", "load", "-o", "json")
	run("load-no-word", true, "load", "--path", stage, "--yes", "-o", "json")
	r := run("load", true, "load", "--path", stage, "--yes", "--confirm", "load", "-o", "json")
	var j loadJSON
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.Backup == "" {
		t.Fatalf("load: no backup in %s (%v)", r.stdout, err)
	}
	run("datastore-backups", true, "datastore", "backups", "-o", "json")
	run("datastore-show", true, "datastore", "show", "-o", "json")
	run("restore-dry-run", false, "datastore", "restore", j.Backup, "--dry-run")
	run("restore-no-yes", false, "datastore", "restore", j.Backup)
	run("restore-no-word", false, "datastore", "restore", j.Backup, "--yes")
	run("restore", false, "datastore", "restore", j.Backup, "--yes", "--confirm", "restore")
	run("rotate-no-yes", false, "rotate", "-s", "api-server")
	run("rotate", false, "rotate", "-s", "api-server", "--yes")
}

// TestCheckTextIsTheSharedRenderer: `k3sca check` prints exactly what the
// shared renderer (pki.Inventory.WriteText, used by the headless runner)
// prints for the same inventory, so check can adopt it without a change
// to its output.
func TestCheckTextIsTheSharedRenderer(t *testing.T) {
	sb := sandboxtest.New(t)
	r := runAt(t, "check", "-d", sb.DataDir)
	// The check flow's report, as check builds it (the admin kubeconfig's
	// and the datastore's certificates included), through the shared
	// renderer.
	env := steps.Env{DataDir: sb.DataDir, Product: product.K3s, Now: testkit.Clock, Window: pki.DefaultRenewWindow,
		Services: nodeServices(sb.DataDir)}.WithDefaults()
	spec, _ := steps.FindFlow(steps.Flows(), steps.FlowCheck)
	flow, err := spec.Build(t.Context(), env, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := (&steps.Runner{}).Run(t.Context(), flow)
	if err != nil {
		t.Fatal(err)
	}
	inv := checkReport(rep)
	if inv == nil || len(inv.Kubeconfig) == 0 {
		t.Fatalf("the check flow's report has no kubeconfig rows: %+v", inv)
	}
	var b strings.Builder
	if err := inv.WriteText(&b, inv.TLSDir); err != nil {
		t.Fatal(err)
	}
	if r.stdout != b.String() {
		t.Errorf("check prints\n%s\nthe shared renderer\n%s", r.stdout, b.String())
	}
}

// TestWhileK3sRunsTheHintedFlowWrites: with the sandbox's k3s running on
// SQLite, load and datastore restore cannot write (they never stop k3s);
// each names the flow that does, and that printed command, run as it is,
// writes and leaves k3s running.
func TestWhileK3sRunsTheHintedFlowWrites(t *testing.T) {
	sb := sandboxtest.New(t)
	d := []string{"-d", sb.DataDir}
	stage := stageRotation(t, sb.DataDir)
	if r := runAt(t, append([]string{"sandbox", "start"}, d...)...); r.code != exitOK {
		t.Fatalf("sandbox start: %d %s", r.code, r.stderr)
	}
	hinted := func(t *testing.T, r result) []string {
		t.Helper()
		_, cmd, ok := strings.Cut(r.stderr, "starts it again: k3sca ")
		if r.code != exitFailure || !ok {
			t.Fatalf("exit %d, stderr %q; want 1 naming the flow", r.code, r.stderr)
		}
		cmd, _, _ = strings.Cut(cmd, "\n")
		return strings.Fields(cmd)
	}
	active := func(t *testing.T) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(sb.DataDir, ".k3sca-service"))
		if err != nil || strings.TrimSpace(string(b)) != "active" {
			t.Fatalf("k3s is %q (%v), want active", b, err)
		}
	}
	load := runAt(t, append([]string{"load", "--path", stage, "--yes", "--confirm", "load"}, d...)...)
	active(t)
	r := runAt(t, append(hinted(t, load), "-o", "json")...)
	var rep steps.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != exitOK || rep.Result == nil || !rep.Result.Wrote || rep.Result.Backup == "" {
		t.Fatalf("the hinted load: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	active(t)
	restore := runAt(t, append([]string{"datastore", "restore", rep.Result.Backup, "--yes", "--confirm", "restore"}, d...)...)
	active(t)
	if r := runAt(t, hinted(t, restore)...); r.code != exitOK || !strings.Contains(r.stdout, "Restore "+rep.Result.Backup+": restored") {
		t.Fatalf("the hinted restore: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	active(t)
}
