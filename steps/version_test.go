package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// stFlowEnv is a flow environment on the sandbox with its own simulated
// service manager and binary.
func stFlowEnv(t *testing.T, sb *sandbox.Sandbox) Env {
	t.Helper()
	return Env{DataDir: sb.DataDir, Product: product.K3s, Now: testkit.Clock,
		Services:  &sandbox.Services{DataDir: sb.DataDir, Product: product.K3s, Now: testkit.Clock},
		StageRoot: t.TempDir(), ClusterName: "sandbox"}
}

func stBuild(t *testing.T, env Env, id string, set map[string]string) *Flow {
	t.Helper()
	spec, ok := FindFlow(Flows(), id)
	if !ok {
		t.Fatalf("no flow %s", id)
	}
	vals := spec.InitialValues(env)
	for k, v := range set {
		vals[k] = v
	}
	f, err := spec.Build(context.Background(), env, vals)
	if err != nil {
		t.Fatalf("build %s: %v", id, err)
	}
	return f
}

// TestVersionRefusedBeforeFirstStep: a sandbox whose k3s reports a version
// the table refuses for the flow ends before step 1, with the reason, and
// nothing changes: not the data dir, not the datastore, no staged dir.
func TestVersionRefusedBeforeFirstStep(t *testing.T) {
	tests := []struct {
		name, version string
		flow          string
		via           Via
		reason        []string
	}{
		{"no CA rotation before 2023-02", "v1.25.6+k3s1", FlowRotateCA, ViaAuto,
			[]string{"v1.25.6+k3s1", "predates CA rotation", "v1.25.7+k3s1", "k3s 2023-02 release notes"}},
		{"custom CA before 2023-02", "v1.24.10+k3s1", FlowRotateCustomCA, ViaAuto, []string{"v1.24.10+k3s1", "v1.24.11+k3s1"}},
		{"rotate-ca handler of 2024-09 via server", "v1.31.1+k3s1", FlowRotateCA, ViaServer,
			[]string{"v1.31.1+k3s1", "cred/ipsec.psk, cred/passwd newer than datastore", "k3s-io/k3s#11014"}},
		{"staged files unreadable via server", "v1.29.8+k3s1", FlowRotateCA, ViaServer, []string{"k3s-io/k3s#10689"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			if err := sandbox.SetVersion(sb.DataDir, product.K3s, tt.version, testkit.Now); err != nil {
				t.Fatal(err)
			}
			env := stFlowEnv(t, sb)
			env.Access.Via = tt.via
			vals := map[string]string{}
			if tt.flow == FlowRotateCustomCA {
				vals["root"] = "new"
				vals["root-cert"] = filepath.Join(t.TempDir(), "root.crt")
			}
			kvBefore, treeBefore := stKV(t, sb), testkit.Fingerprint(t, sb.DataDir)
			f := stBuild(t, env, tt.flow, vals)
			var out bytes.Buffer
			r := Runner{Out: &out, Yes: true, Words: []string{"load", "sandbox"}}
			rep, err := r.Run(context.Background(), f)
			var vre *VersionRefusedError
			if !errors.Is(err, ErrVersionRefused) || !errors.As(err, &vre) {
				t.Fatalf("err = %v, want ErrVersionRefused; output:\n%s", err, out.String())
			}
			for _, want := range tt.reason {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q does not say %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), "Nothing was run") {
				t.Errorf("refusal %q does not say nothing was run", err)
			}
			for _, st := range rep.Steps {
				if st.Status != StatusPending {
					t.Errorf("step %d %s: %s, want pending", st.N, st.ID, st.Status)
				}
			}
			if rep.OK || rep.K3sVersion == nil || rep.K3sVersion.Version != tt.version || rep.Declined == "" {
				t.Errorf("report: ok %v, version %+v, declined %q", rep.OK, rep.K3sVersion, rep.Declined)
			}
			if strings.Contains(out.String(), "step 1/") {
				t.Errorf("a step was shown:\n%s", out.String())
			}
			if got := testkit.Fingerprint(t, sb.DataDir); got != treeBefore {
				t.Errorf("the data dir changed:\n%s", stLineDiff(got, treeBefore))
			}
			stSameKV(t, stKV(t, sb), kvBefore)
			if entries, _ := os.ReadDir(env.StageRoot); len(entries) != 0 {
				t.Errorf("stage root holds %v", entries)
			}
		})
	}
}

// TestVersionOtherPathGoesOn: the same k3s v1.31.1 that refuses --via
// server lets the direct write go on, with a note saying why.
func TestVersionOtherPathGoesOn(t *testing.T) {
	sb := sandboxtest.New(t)
	if err := sandbox.SetVersion(sb.DataDir, product.K3s, "v1.31.1+k3s1", testkit.Now); err != nil {
		t.Fatal(err)
	}
	env := stFlowEnv(t, sb)
	env.DryRun = true
	var out bytes.Buffer
	rep, err := (&Runner{Out: &out, DryRun: true}).Run(context.Background(), stBuild(t, env, FlowRotateCA, nil))
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out.String())
	}
	text := out.String()
	first := strings.SplitN(text, "\n", 2)[0]
	if !strings.HasPrefix(first, "k3s v1.31.1+k3s1 (from ") {
		t.Errorf("first line %q does not name the version", first)
	}
	if !strings.Contains(text, "note: k3s v1.31.1+k3s1 exits at restart after its own rotate-ca") ||
		strings.Index(text, "note:") > strings.Index(text, "step 1/") {
		t.Errorf("the note is not printed before the plan:\n%s", text)
	}
	if !rep.OK || len(rep.Preflight) == 0 {
		t.Errorf("report ok %v, preflight %v", rep.OK, rep.Preflight)
	}
}

// TestVersionInJSONReport: the version and its source reach the JSON of
// every flow's report.
func TestVersionInJSONReport(t *testing.T) {
	sb := sandboxtest.New(t)
	rep, err := (&Runner{}).Run(context.Background(), stBuild(t, stFlowEnv(t, sb), FlowCheck, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		K3sVersion struct{ Version, Source string } `json:"k3sVersion"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.K3sVersion.Version != "v1.36.3+k3s1" || !strings.Contains(got.K3sVersion.Source, "--version") {
		t.Fatalf("k3sVersion = %+v in %s", got.K3sVersion, b)
	}
}

// stLineDiff is the lines only in got (+) or only in want (-).
func stLineDiff(got, want string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var b strings.Builder
	for l := range g {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	for l := range w {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}
