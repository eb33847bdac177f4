package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// The flows of these tests are pure: their tasks touch no file, so the
// screens stay the same whatever the real flows do.

// testToken is the token the rotate flow's last step prints.
const (
	testSecret = "s3cr3t-t0ken-passw0rd-that-must-stay-hidden"
	testToken  = "K10" + "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0" + "::server:" + testSecret
)

// probe records what the test flows did.
type probe struct {
	staged, loaded, undone atomic.Bool
	cleaned                atomic.Int32
}

// testInventory is a check result with every status.
func testInventory() *pki.Inventory {
	tls := "/var/lib/rancher/k3s/server/tls/"
	return &pki.Inventory{
		CAs: []pki.CertInfo{
			{Path: tls + "server-ca.crt", Subject: "k3s-server-ca@1795780800", Status: pki.StatusOK, Residual: 3650 * 24 * time.Hour},
			{Path: tls + "client-ca.crt", Subject: "k3s-client-ca@1795780800", Status: pki.StatusWarning, Residual: 20 * 24 * time.Hour},
		},
		Leaves: []pki.CertInfo{
			{Path: tls + "client-admin.crt", Subject: "system:admin", Status: pki.StatusExpired, Residual: -48 * time.Hour},
			{Path: tls + "serving-kube-apiserver.crt", Subject: "kube-apiserver", Status: pki.StatusOK, Residual: 300 * 24 * time.Hour},
		},
	}
}

// testReport is an accepted cross-signed rotation with a warning.
func testReport() *pki.Report {
	rep := &pki.Report{OK: true, Accepted: true, Class: pki.ClassCrossSigned, Changed: []string{"ServerCA", "ClientCA"},
		Warnings: []string{"ClientCA: the new CA expires before the old one"}}
	rep.Hash.Old, rep.Hash.New = strings.Repeat("a", 64), strings.Repeat("b", 64)
	return rep
}

// inventorySpec is a one-step read-only flow without fields.
func inventorySpec() steps.FlowSpec {
	return steps.FlowSpec{
		ID: "check", Title: "Check certificates", Summary: "Every CA and leaf certificate with its expiry.",
		Build: func(context.Context, steps.Env, map[string]string) (*steps.Flow, error) {
			return &steps.Flow{ID: "check", Title: "Check certificates", Tasks: []*steps.Task{{
				Title: "Read the certificates",
				Run: func(context.Context, func(string)) (*steps.Outcome, error) {
					return &steps.Outcome{Summary: "2 CA certs, 2 leaf certs · 1 expired", Data: testInventory()}, nil
				},
			}}}, nil
		},
	}
}

// rotateFields are the inputs of the rotate flow.
var rotateFields = []steps.Field{
	{Key: "stage", Label: "Staging dir", Help: "a new, empty dir outside the data dir", Kind: steps.FieldDir},
	{Key: "root", Label: "Root", Help: "generate a root or import one", Kind: steps.FieldChoice, Choices: []string{"generate", "import"}},
	{Key: "root-cert", Label: "Root certificate", Help: "PEM file of the root", Kind: steps.FieldPath, When: "root=import"},
	{Key: "services", Label: "Services", Kind: steps.FieldList, Choices: []string{"admin", "api-server", "kubelet"}, Optional: true},
}

// rotateSpec is a six-step flow: a read, a yes/no write, a validation with
// a warning, a skipped write, a write confirmed by "load" that reports
// progress, and a token.
func rotateSpec(p *probe) steps.FlowSpec {
	return steps.FlowSpec{
		ID: "rotate", Title: "Rotate the test CAs", Summary: "Stage, validate and load a cross-signed set (test flow).",
		Fields:   rotateFields,
		Defaults: map[string]steps.Default{"stage": func(steps.Env) string { return "k3sca-rotation-1795780800" }},
		Build: func(_ context.Context, _ steps.Env, v map[string]string) (*steps.Flow, error) {
			if strings.Contains(v["stage"], "server/tls") {
				return nil, fmt.Errorf("staging dir %s: %w", v["stage"], steps.ErrStagedIsLive)
			}
			return &steps.Flow{ID: "rotate", Title: "Rotate the test CAs", Tasks: rotateTasks(p, v["stage"]),
				Cleanup: func() { p.cleaned.Add(1) }}, nil
		},
	}
}

func rotateTasks(p *probe, stage string) []*steps.Task {
	stagePlan := &steps.Plan{Title: "Stage the new CAs into " + stage}
	for _, f := range []string{"server-ca.crt", "server-ca.key", "client-ca.crt", "client-ca.key"} {
		stagePlan.Add(steps.ActWrite, stage+"/tls/"+f, "0600, 570 bytes")
	}
	stagePlan.Notes = []string{"the staging dir is new: nothing live changes"}
	loadPlan := &steps.Plan{Title: "Load the staged set into the datastore"}
	loadPlan.Add(steps.ActBackup, "/bootstrap/abc", "to server/db/k3sca-backups")
	loadPlan.Add(steps.ActDatastore, "/bootstrap/abc", "compare-and-swap at revision 1")
	return []*steps.Task{
		{Title: "Read the current CAs", Run: func(context.Context, func(string)) (*steps.Outcome, error) {
			return &steps.Outcome{Summary: "5 CAs, valid until 2035", Details: []string{"server-ca: k3s-server-ca@1795780800"}}, nil
		}},
		{Title: "Stage the new set", Writes: true,
			Preview: func(context.Context) (*steps.Plan, error) { return stagePlan, nil },
			Run: func(context.Context, func(string)) (*steps.Outcome, error) {
				p.staged.Store(true)
				return &steps.Outcome{Summary: "wrote 4 files to " + stage}, nil
			},
			Undo: func(context.Context) error { p.undone.Store(true); return nil },
		},
		{Title: "Validate as k3s would", Run: func(context.Context, func(string)) (*steps.Outcome, error) {
			rep := testReport()
			return &steps.Outcome{Summary: "accepted, class cross-signed", Warnings: rep.Warnings, Data: rep}, nil
		}},
		{Title: "Stop k3s", Writes: true,
			Skip: func(context.Context) (string, error) { return "k3s is already stopped", nil },
			Run:  func(context.Context, func(string)) (*steps.Outcome, error) { return nil, errors.New("never runs") },
		},
		{Title: "Load into the datastore", Writes: true, Word: "load",
			Preview: func(context.Context) (*steps.Plan, error) { return loadPlan, nil },
			Run: func(_ context.Context, progress func(string)) (*steps.Outcome, error) {
				progress("backing up the bootstrap key")
				progress("compare-and-swap")
				p.loaded.Store(true)
				return &steps.Outcome{Summary: "loaded at revision 2"}, nil
			},
		},
		{Title: "Show the new token", Run: func(context.Context, func(string)) (*steps.Outcome, error) {
			return &steps.Outcome{Summary: "new CA hash " + strings.Repeat("b", 64),
				Secret: []string{"token " + testToken}, Masked: []string{"token K10…::server:****"}}, nil
		}},
	}
}

// brokenSpec fails at its second step with an error class the wizard
// explains, after a first step it rolls back.
func brokenSpec(p *probe) steps.FlowSpec {
	return steps.FlowSpec{
		ID: "broken", Title: "Fail at the second step", Summary: "A write, then a step that fails (test flow).",
		Build: func(context.Context, steps.Env, map[string]string) (*steps.Flow, error) {
			return &steps.Flow{ID: "broken", Title: "Fail at the second step", Tasks: []*steps.Task{
				{Title: "Stop k3s", Writes: true,
					Preview: func(context.Context) (*steps.Plan, error) {
						pl := &steps.Plan{Title: "Stop the k3s unit"}
						pl.Add(steps.ActService, "k3s", "stop")
						return pl, nil
					},
					Run: func(context.Context, func(string)) (*steps.Outcome, error) {
						return &steps.Outcome{Summary: "k3s stopped"}, nil
					},
					Undo: func(context.Context) error { p.undone.Store(true); return nil },
				},
				{Title: "Load into the datastore", Run: func(context.Context, func(string)) (*steps.Outcome, error) {
					return nil, fmt.Errorf("load: %w", steps.ErrK3sRunning)
				}},
				{Title: "Verify", Run: func(context.Context, func(string)) (*steps.Outcome, error) { return &steps.Outcome{}, nil }},
			}}, nil
		},
	}
}

// slowSpec's writing step waits for release; started is closed when it runs.
func slowSpec(p *probe, started, release chan struct{}) steps.FlowSpec {
	return steps.FlowSpec{
		ID: "slow", Title: "A slow write", Summary: "One write that takes its time (test flow).",
		Build: func(context.Context, steps.Env, map[string]string) (*steps.Flow, error) {
			return &steps.Flow{ID: "slow", Title: "A slow write", Tasks: []*steps.Task{
				{Title: "Write slowly", Writes: true, Run: func(ctx context.Context, progress func(string)) (*steps.Outcome, error) {
					close(started)
					progress("writing, slowly")
					<-release
					p.loaded.Store(ctx.Err() == nil)
					return &steps.Outcome{Summary: "written"}, nil
				}, Undo: func(context.Context) error { p.undone.Store(true); return nil }},
				{Title: "After", Run: func(context.Context, func(string)) (*steps.Outcome, error) { return &steps.Outcome{}, nil }},
			}}, nil
		},
	}
}

func init() {
	flowHelps["rotate"] = "A test flow: stage, validate and load a cross-signed set.\nThe stage step writes the staging dir; the load writes the datastore.\nNo restart."
}

// testConfig is the wizard on the test flows.
func testConfig(p *probe) Config {
	return Config{Env: testEnv(), Specs: []steps.FlowSpec{inventorySpec(), rotateSpec(p), brokenSpec(p)}}
}

// Menu positions of the test flows.
const (
	menuInventory = 0
	menuRotate    = 1
	menuBroken    = 2
)
