package steps

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestFlowRefusedWhileLocked runs every writing flow while another k3sca
// holds the data dir's lock: the first writing step is refused, naming the
// holder, and nothing is done (no step wrote, k3s as it was, the datastore
// unchanged).
func TestFlowRefusedWhileLocked(t *testing.T) {
	tmpl := sandboxtest.New(t)
	for _, tc := range declineCases {
		for _, running := range []bool{true, false} {
			t.Run(tc.id+map[bool]string{true: "/running", false: "/stopped"}[running], func(t *testing.T) {
				sb := copySandbox(t, tmpl)
				env, svc := flowEnv(t, sb, running)
				vals := tc.vals(t, sb)
				before := stKV(t, sb)
				release, err := node.Lock(sb.DataDir, "k3sca wizard, flow rotate-ca", testkit.Now.Add(-time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				defer release()
				spec, _ := FindFlow(Flows(), tc.id)
				f, err := spec.Build(t.Context(), env, withInitial(spec, env, vals))
				if err != nil {
					t.Fatal(err)
				}
				rep, out, err := runFlow(t, env, tc.id, vals, Runner{Yes: true, Words: f.Needs().Words})
				if !errors.Is(err, node.ErrLocked) || !strings.Contains(err.Error(), "k3sca wizard, flow rotate-ca") {
					t.Fatalf("run while locked: %v, want ErrLocked naming the holder\n%s", err, out)
				}
				for _, st := range rep.Steps {
					if st.Writes && st.Status == StatusDone {
						t.Errorf("step %d (%s) ran while locked", st.N, st.Title)
					}
				}
				if rep.OK || rep.RolledBack {
					t.Errorf("report: ok %t, rolled back %t", rep.OK, rep.RolledBack)
				}
				checkLeftAsItWas(t, sb, svc, running, before, rep, out)
				if sd := vals["stage-dir"]; sd != "" {
					if _, err := os.Stat(sd); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("the staged dir %s was created", sd)
					}
				}
			})
		}
	}
}

// withInitial is spec's initial values with vals over them.
func withInitial(spec FlowSpec, env Env, vals map[string]string) map[string]string {
	all := spec.InitialValues(env)
	for k, v := range vals {
		all[k] = v
	}
	return all
}
