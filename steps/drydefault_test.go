package steps

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestNoKeepsADryByDefaultStepDry: a No at a step that is a dry run by
// default (the rollout) runs its dry run instead of ending the flow: the
// step is planned with the dry run's outcome, nothing before it is undone,
// the flow goes on and ends OK. Without DryRun, or at an ordinary writing
// step, a No still declines and rolls back.
func TestNoKeepsADryByDefaultStepDry(t *testing.T) {
	tests := []struct {
		name       string
		dryDefault bool
		dryRun     bool
		wantStatus Status
		wantOK     bool
		wantUndo   bool
		wantAfter  Status // the step after it
	}{
		{"dry by default", true, true, StatusPlanned, true, false, StatusDone},
		{"dry by default without a dry run", true, false, StatusDeclined, false, true, StatusPending},
		{"an ordinary writing step", false, true, StatusDeclined, false, true, StatusPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var did []string
			first := &Task{ID: "first", Title: "First", Writes: true,
				Run: func(context.Context, func(string)) (*Outcome, error) {
					did = append(did, "first")
					return &Outcome{Summary: "first done"}, nil
				},
				Undo: func(context.Context) error { did = append(did, "undo first"); return nil }}
			dry := &Task{ID: "rollout", Title: "Roll out", Writes: true, Word: "cluster", DryByDefault: tt.dryDefault,
				Run: func(context.Context, func(string)) (*Outcome, error) {
					did = append(did, "rollout")
					return &Outcome{}, nil
				}}
			if tt.dryRun {
				dry.DryRun = func(context.Context, func(string)) (*Outcome, error) {
					did = append(did, "rollout dry run")
					return &Outcome{Summary: "5 nodes: 5 planned", Details: []string{"roll it out with: k3sca run rollout"}}, nil
				}
			}
			after := &Task{ID: "after", Title: "After",
				Run: func(context.Context, func(string)) (*Outcome, error) {
					did = append(did, "after")
					return &Outcome{}, nil
				}}
			f := &Flow{ID: "t", Title: "T", Tasks: []*Task{first, dry, after}}
			var out strings.Builder
			ask := &scriptedAsker{no: 2}
			rep, err := (&Runner{Out: &out, Ask: ask}).Run(context.Background(), f)
			st := rep.Steps[1]
			if st.Status != tt.wantStatus || rep.OK != tt.wantOK || rep.Steps[2].Status != tt.wantAfter {
				t.Fatalf("step 2 %s (want %s), step 3 %s (want %s), ok %v: %v\n%s", st.Status, tt.wantStatus, rep.Steps[2].Status, tt.wantAfter, rep.OK, err, out.String())
			}
			if undone := strings.Contains(strings.Join(did, ","), "undo first"); undone != tt.wantUndo {
				t.Errorf("undo of step 1: %v, want %v (%v)", undone, tt.wantUndo, did)
			}
			if strings.Contains(strings.Join(did, ","), "rollout,") || did[len(did)-1] == "rollout" {
				t.Errorf("the step ran after a No: %v", did)
			}
			if !tt.wantOK {
				if !errors.Is(err, ErrDeclined) {
					t.Errorf("err %v, want ErrDeclined", err)
				}
				return
			}
			if err != nil || st.Outcome == nil || st.Outcome.Summary != "5 nodes: 5 planned" || rep.Declined != "" {
				t.Errorf("kept dry: %v %+v declined %q", err, st.Outcome, rep.Declined)
			}
			for _, want := range []string{"a No keeps this step a dry run", "step 2/3 planned (dry run): 5 nodes: 5 planned", "roll it out with: k3sca run rollout"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("the output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}
