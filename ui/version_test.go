package ui

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/k3sca/k3sca/k3sver"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/steps"
)

// versionSpec is the rotate test flow with a preflight that finds k3s
// v1.26.6+k3s1 and fs.
func versionSpec(p *probe, fs ...k3sver.Finding) steps.FlowSpec {
	s := rotateSpec(p)
	build := s.Build
	s.Build = func(ctx context.Context, env steps.Env, v map[string]string) (*steps.Flow, error) {
		f, err := build(ctx, env, v)
		if f != nil {
			f.Preflight = func(context.Context) *steps.Preflight {
				return &steps.Preflight{K3s: &node.K3sVersion{Version: "v1.26.6+k3s1", Source: "test"}, Findings: fs}
			}
		}
		return f, err
	}
	return s
}

// TestVersionWarningAtEveryQuestion: a preflight warning is shown at the
// first question, before the plan.
func TestVersionWarningAtEveryQuestion(t *testing.T) {
	p := &probe{}
	warn := k3sver.Finding{ID: "rotate-ca-data-dir", Source: "k3s-io/k3s#7774", Action: k3sver.Warn, Text: "k3s v1.26.6+k3s1's own rotate-ca ignores --data-dir"}
	s := start(t, Config{Env: testEnv(), Specs: []steps.FlowSpec{inventorySpec(), versionSpec(p, warn)}}, 120, 40)
	toYesNo(s)
	view := s.finalView()
	if !strings.Contains(view, "! k3s version: k3s v1.26.6+k3s1's own rotate-ca ignores --data-dir [k3s-io/k3s#7774]") {
		t.Errorf("no version warning at the question:\n%s", view)
	}
}

// TestVersionRefusalEndsBeforeStepOne: a refusing preflight ends the flow
// with its reason and the hint; no step ran.
func TestVersionRefusalEndsBeforeStepOne(t *testing.T) {
	p := &probe{}
	refuse := k3sver.Finding{ID: "restart-creds-newer", Source: "k3s-io/k3s#11014", Action: k3sver.Refuse, Text: "k3s v1.26.6+k3s1 refuses this"}
	s := start(t, Config{Env: testEnv(), Specs: []steps.FlowSpec{inventorySpec(), versionSpec(p, refuse)}}, 120, 40)
	openItem(s, menuRotate)
	s.waitFor("▸ Staging dir")
	s.key(tea.KeyCtrlS, 1)
	s.waitFor("Nothing was run")
	view := s.finalView()
	for _, want := range []string{"refused before its first step on v1.26.6+k3s1", "[k3s-io/k3s#11014]", "Upgrade k3s"} {
		if !strings.Contains(strings.Join(strings.Fields(view), " "), want) {
			t.Errorf("view does not say %q:\n%s", want, view)
		}
	}
	if p.staged.Load() {
		t.Error("the stage step ran")
	}
}
