package steps

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

// TestEveryStepHasAStableID: every step of every flow has an ID, unique in
// its flow, and every disruptive step names the step that undoes it.
func TestEveryStepHasAStableID(t *testing.T) {
	sb := sandboxtest.New(t)
	env, _ := flowEnv(t, sb, true)
	for _, id := range []string{FlowCheck, FlowRotateCerts, FlowRotateCA, FlowRotateServiceKey, FlowLoad, FlowDatastore} {
		vals := map[string]string{"path": filepath.Join(t.TempDir(), "s")}
		if id == FlowLoad {
			vals["path"] = sandboxtest.Stage(t, sb)
		}
		f := buildFlow(t, env, id, vals)
		var ids []string
		for _, task := range f.Tasks {
			if task.ID == "" || slices.Contains(ids, task.ID) {
				t.Errorf("%s: step %q has the ID %q (empty or repeated)", id, task.Title, task.ID)
			}
			ids = append(ids, task.ID)
			if task.Disruptive && !slices.ContainsFunc(f.Tasks, func(r *Task) bool { return r.ID == task.Restores }) {
				t.Errorf("%s: disruptive step %q restores %q, which is not a step", id, task.ID, task.Restores)
			}
		}
		if f.Cleanup != nil {
			f.Cleanup()
		}
	}
}

// TestSelectSteps: --only and --skip pick steps; an unknown ID and a stop
// without its restart are refused, naming the flow's steps.
func TestSelectSteps(t *testing.T) {
	sb := sandboxtest.New(t)
	env, _ := flowEnv(t, sb, true)
	tests := []struct {
		name       string
		only, skip []string
		want       error
		says       string
		on         []string
		needs      string
	}{
		{"all", nil, nil, nil, "", []string{"generate", "validate", "token", "stop", "load", "restart", "plan"}, "--yes --confirm load"},
		{"stage and check only", []string{"generate", "validate", "token"}, nil, nil, "", []string{"generate", "validate", "token"}, "--yes"},
		{"no restart plan", nil, []string{"plan"}, nil, "", []string{"generate", "validate", "token", "stop", "load", "restart"}, "--yes --confirm load"},
		{"unknown", []string{"stage"}, nil, ErrBadSelection, "its steps are: generate, validate, token, stop, load, restart, plan", nil, ""},
		{"stop without restart", nil, []string{"restart"}, ErrBadSelection, `step "stop" (Stop k3s for the datastore write) stops k3s; it runs only together with step "restart"`, nil, ""},
		{"only stop", []string{"stop"}, nil, ErrBadSelection, "stops k3s", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := buildFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(t.TempDir(), "s")})
			defer f.Cleanup()
			err := f.Select(tt.only, tt.skip)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
					t.Fatalf("err %v, want %v saying %q", err, tt.want, tt.says)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var on []string
			for _, task := range f.Tasks {
				if !task.off {
					on = append(on, task.ID)
				}
			}
			if !slices.Equal(on, tt.on) {
				t.Errorf("selected %v, want %v", on, tt.on)
			}
			if got := f.Needs().Flags(); got != tt.needs {
				t.Errorf("needs %q, want %q", got, tt.needs)
			}
		})
	}
}

// TestOnlyRunsTheSelectedSteps stages and validates a rotation without
// touching k3s or the datastore.
func TestOnlyRunsTheSelectedSteps(t *testing.T) {
	sb := sandboxtest.New(t)
	env, svc := flowEnv(t, sb, true)
	before := stKV(t, sb)
	f := buildFlow(t, env, FlowRotateCA, map[string]string{"path": filepath.Join(t.TempDir(), "s")})
	if err := f.Select([]string{"generate", "validate", "token"}, nil); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep, err := (&Runner{Out: &out, Yes: true}).Run(t.Context(), f)
	if err != nil || !rep.OK {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(svc.Calls()) > 0 || stKV(t, sb).ModRevision != before.ModRevision {
		t.Fatalf("unselected steps ran: calls %v", svc.Calls())
	}
	for _, st := range rep.Steps[3:] {
		if st.Status != StatusSkipped || st.Reason != "not selected (--only/--skip)" {
			t.Errorf("step %s: %s %q", st.ID, st.Status, st.Reason)
		}
	}
}
