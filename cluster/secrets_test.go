package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// render is every way a value can reach a screen or a log.
func render(v any) []string {
	return []string{fmt.Sprint(v), fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), fmt.Sprintf("%s", v), fmt.Sprintf("%q", v)}
}

// TestNoSecretInAnyOutput renders everything this package produces for
// every fixture (probes, places, conflicts, plans, edits, diffs, errors,
// topologies) and greps it for the fixtures' passwords.
func TestNoSecretInAnyOutput(t *testing.T) {
	var out []string
	for _, n := range fixtureNames(t) {
		r := probeFixture(t, n)
		out = append(out, render(r)...)
		out = append(out, r.Problems...)
		for _, p := range r.Places {
			out = append(out, render(p)...)
			out = append(out, render(&p)...)
			out = append(out, p.Masked, p.Key, p.Via)
			if p.Err != nil {
				out = append(out, p.Err.Error())
			}
		}
		out = append(out, render(r.Places)...)
		for _, c := range r.Conflicts() {
			out = append(out, render(c)...)
		}
		for _, h := range []string{newHash, oldHash} {
			plan, err := PlanEdits(r, h)
			if err != nil {
				out = append(out, render(err)...)
				continue
			}
			out = append(out, render(plan)...)
			out = append(out, render(*plan)...)
			for _, e := range plan.Edits {
				out = append(out, render(e)...)
				out = append(out, render(&e)...)
				out = append(out, e.Diff)
			}
		}
	}
	for _, dir := range []string{"testdata/inventory", "testdata/inventory/bad"} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			topo, err := ParseInventory(b, e.Name())
			if err != nil {
				out = append(out, render(err)...)
				continue
			}
			out = append(out, render(topo)...)
			out = append(out, topo.Notes()...)
			for _, n := range topo.Nodes() {
				out = append(out, render(n)...)
				out = append(out, n.Describe()...)
			}
		}
	}
	r, err := Probe(context.Background(), MemFiles{"/etc/rancher/k3s/config.yaml": "token: \"K10" + oldHash + "::server:yaml-PASSWORD-err\n"}, fixtureProduct(""))
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, render(r)...)
	all := strings.Join(out, "\n")
	if len(all) < 10000 {
		t.Fatalf("only %d bytes rendered: the test renders too little", len(all))
	}
	for _, s := range append(fixtureSecrets, "yaml-PASSWORD-err") {
		if i := strings.Index(all, s); i >= 0 {
			lo := max(0, i-80)
			t.Errorf("secret %q in output: ...%s...", s, all[lo:min(len(all), i+40)])
		}
	}
}
