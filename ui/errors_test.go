package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/steps"
)

func TestHintFor(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&steps.StepError{Step: 2, Title: "Load", Err: fmt.Errorf("load: %w", steps.ErrK3sRunning)}, "Stop k3s"},
		{fmt.Errorf("x: %w", steps.ErrStagedIsLive), "outside <data-dir>/server"},
		{context.Canceled, "cancelled"},
		{errors.New("something else"), ""},
	}
	for _, tt := range tests {
		got := hintFor(tt.err)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("hintFor(%v) = %q, want it to hold %q", tt.err, got, tt.want)
		}
	}
}

func TestRenderErrorFitsAndHints(t *testing.T) {
	err := &steps.StepError{Step: 5, Title: "Load into the datastore",
		Err: fmt.Errorf("load data/server/db/state.db: a very long explanation of what went wrong: %w", steps.ErrK3sRunning)}
	for _, w := range []int{80, 120} {
		out := renderError(err, w, DefaultStyles(nil))
		for _, l := range strings.Split(out, "\n") {
			if n := len([]rune(l)); n > w {
				t.Errorf("width %d: line %q is %d wide", w, l, n)
			}
		}
		for _, want := range []string{"✗ error", "step 5 (Load into the datastore)", "Next:", "Stop k3s"} {
			if !strings.Contains(out, want) {
				t.Errorf("width %d: %q missing from\n%s", w, want, out)
			}
		}
	}
}
