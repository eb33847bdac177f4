package cluster

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/pki"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// planText is what the screen shows for a node: the plan, or the refusal.
func planText(t *testing.T, r *ProbeResult) string {
	t.Helper()
	p, err := PlanEdits(r, newHash)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	return p.String()
}

func TestPlanGolden(t *testing.T) {
	for _, n := range fixtureNames(t) {
		t.Run(n, func(t *testing.T) {
			got := planText(t, probeFixture(t, n))
			golden := filepath.Join("testdata/golden", n+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cluster/ -run TestPlanGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("plan differs from %s:\n%s", golden, got)
			}
		})
	}
}

// TestPlanChangesOnlyTheHash checks every edit byte by byte: same length,
// only the 64 bytes of each hash differ, the password and every other byte
// (comments, quotes, CRLF) kept; then a second probe of the edited node
// has nothing to do.
func TestPlanChangesOnlyTheHash(t *testing.T) {
	for _, n := range fixtureNames(t) {
		t.Run(n, func(t *testing.T) {
			m := memFixture(t, n)
			r, err := Probe(context.Background(), m, fixtureProduct(n))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := PlanEdits(r, newHash)
			if errors.Is(err, ErrConflictingTokens) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range plan.Edits {
				if len(e.New) != len(e.Old) {
					t.Fatalf("%s: length %d -> %d", e.Path, len(e.Old), len(e.New))
				}
				allowed := map[int]bool{}
				for _, p := range e.Places {
					for i := 0; i < 64; i++ {
						allowed[p.hashOff+i] = true
					}
					if got := string(e.New[p.hashOff-3 : p.hashOff+64]); got != "K10"+newHash {
						t.Errorf("%s: new bytes %q", p.Where(), got)
					}
				}
				for i := range e.Old {
					if e.Old[i] != e.New[i] && !allowed[i] {
						t.Errorf("%s: byte %d changed outside a hash", e.Path, i)
					}
				}
				if strings.Count(string(e.Old), "\r\n") != strings.Count(string(e.New), "\r\n") {
					t.Errorf("%s: line endings changed", e.Path)
				}
			}
			secretsBefore := secretsOf(r)
			apply(t, m, plan)
			again, err := Probe(context.Background(), m, fixtureProduct(n))
			if err != nil {
				t.Fatal(err)
			}
			plan2, err := PlanEdits(again, newHash)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan2.Edits) != 0 {
				t.Errorf("second run edits again:\n%s", plan2)
			}
			if len(plan2.Manual) != len(plan.Manual) {
				t.Errorf("manual places %d then %d", len(plan.Manual), len(plan2.Manual))
			}
			if got := secretsOf(again); strings.Join(got, ",") != strings.Join(secretsBefore, ",") {
				t.Errorf("secrets changed by the edit")
			}
			for _, p := range again.Places {
				if p.PinsCA() && p.Editable() && p.CAHash != newHash {
					t.Errorf("%s still on %s", p.Where(), p.CAHash)
				}
			}
		})
	}
}

func secretsOf(r *ProbeResult) []string {
	var out []string
	for _, p := range r.Places {
		if s, ok := p.secret(); ok {
			out = append(out, p.Where()+"="+s)
		}
	}
	return out
}

func TestPlanKinds(t *testing.T) {
	plan, err := PlanEdits(probeFixture(t, "server-installsh"), newHash)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Edits) != 3 || len(plan.Unpinned) != 1 || plan.NothingToDo() {
		t.Errorf("server-installsh plan: %d edits, %d unpinned", len(plan.Edits), len(plan.Unpinned))
	}
	drop, err := PlanEdits(probeFixture(t, "agent-tokenfile"), newHash)
	if err != nil {
		t.Fatal(err)
	}
	if len(drop.Edits) != 2 || len(drop.Edits[0].Places) != 2 {
		t.Errorf("two tokens in one drop-in must be one edit: %d edits", len(drop.Edits))
	}
	cur, err := PlanEdits(probeFixture(t, "current"), newHash)
	if err != nil || !cur.NothingToDo() || len(cur.Current) != 2 {
		t.Errorf("current: %v %v", cur, err)
	}
	short, err := PlanEdits(probeFixture(t, "short"), newHash)
	if err != nil || !short.NothingToDo() || len(short.Unpinned) != 3 {
		t.Errorf("short: %v %v", short, err)
	}
	man, err := PlanEdits(probeFixture(t, "manual"), newHash)
	if err != nil || man.NothingToDo() || len(man.Manual) != 2 || len(man.Unusable) != 1 || len(man.Edits) != 0 {
		t.Errorf("manual: %v %v", man, err)
	}
	back, err := PlanEdits(probeFixture(t, "current"), oldHash)
	if err != nil || len(back.Edits) != 2 {
		t.Errorf("planning back to the old hash: %v %v", back, err)
	}
}

func TestPlanConflict(t *testing.T) {
	_, err := PlanEdits(probeFixture(t, "conflict"), newHash)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflictingTokens) {
		t.Fatalf("error %v, want a ConflictError", err)
	}
	if len(ce.Conflicts) != 1 || ce.Conflicts[0].Purpose != PurposeJoin || len(ce.Conflicts[0].Groups) != 2 {
		t.Errorf("conflicts %+v", ce.Conflicts)
	}
	// The same password with and without a hash, or under another user, is
	// no conflict; a server's agent token may differ from its token.
	full := "K10" + oldHash + "::server:same-pw"
	r, err := Probe(context.Background(), MemFiles{
		"/etc/rancher/k3s/config.yaml":        "token: same-pw\nagent-token: K10" + oldHash + "::node:other-pw\n",
		"/etc/systemd/system/k3s.service.env": "K3S_TOKEN=" + full + "\nK3S_AGENT_TOKEN=K10::node:other-pw\n",
	}, fixtureProduct(""))
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Conflicts(); len(c) != 0 {
		t.Errorf("conflicts %v", c)
	}
}

func TestPlanBadHash(t *testing.T) {
	r := probeFixture(t, "server-installsh")
	for _, h := range []string{"", "abc", strings.ToUpper(newHash), newHash[:63] + "g", newHash + "0"} {
		if _, err := PlanEdits(r, h); !errors.Is(err, ErrBadHash) {
			t.Errorf("PlanEdits(%q): %v", h, err)
		}
	}
}

func TestPlanRefusesMovedBytes(t *testing.T) {
	r := probeFixture(t, "crlf")
	for f, b := range r.content {
		r.content[f] = []byte(strings.Replace(string(b), "K10"+oldHash, "K10"+newHash, 1))
	}
	if _, err := PlanEdits(r, newHash); err == nil || !strings.Contains(err.Error(), "not where the probe found them") {
		t.Errorf("content changed after the probe: %v", err)
	}
}

func TestMaskLine(t *testing.T) {
	tok, _ := pki.ParseToken("K10" + oldHash + "::server:pw")
	file := []byte("a user:secret@host K10" + oldHash + "::server:pw b\nnext pw\n")
	start := strings.Index(string(file), "K10")
	end := strings.Index(string(file), " b\n")
	p := Place{File: "/f", tok: &tok, Masked: tok.Masked(), CAHash: oldHash, secretStart: start, secretEnd: end, hashOff: start + 3}
	spans := spansOf([]Place{p}, "/f", newHash)
	got := maskLine(file, 0, strings.Index(string(file), "\n"), spans, true)
	want := "a user:********@host K10" + newHash + "::server:******** b"
	if got != want {
		t.Errorf("maskLine\n%q\nwant\n%q", got, want)
	}
	// A span that goes on over the next line shows asterisks there.
	p.secretEnd = len(file) - 1
	spans = spansOf([]Place{p}, "/f", newHash)
	nl := strings.Index(string(file), "\n") + 1
	if got := maskLine(file, nl, len(file)-1, spans, false); got != maskedSecret {
		t.Errorf("continued span: %q", got)
	}
}

func TestPlanSameFileNamedTwice(t *testing.T) {
	m := MemFiles{
		"/etc/rancher/k3s/config.yaml":        "token-file: /etc/k3s-token\n",
		"/etc/systemd/system/k3s.service.env": "K3S_TOKEN_FILE=/etc/k3s-token\n",
		"/etc/k3s-token":                      "K10" + oldHash + "::server:pw\n",
	}
	r, err := Probe(context.Background(), m, fixtureProduct(""))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Places) != 2 {
		t.Fatalf("places: %v", r.Places)
	}
	plan, err := PlanEdits(r, newHash)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Edits) != 1 || string(plan.Edits[0].New) != "K10"+newHash+"::server:pw\n" || len(plan.Edits[0].Places) != 2 {
		t.Errorf("plan: %v", plan)
	}
}
