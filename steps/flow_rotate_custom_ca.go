package steps

import (
	"context"

	"github.com/k3sca/k3sca/pki"
)

// rotateCustomCASpec is the menu entry of "Rotate a custom CA".
func rotateCustomCASpec() FlowSpec {
	return FlowSpec{
		ID: FlowRotateCustomCA, Title: "Rotate a custom CA",
		Summary: "a new intermediate under the same root, or a new root (disruptive)",
		Fields: append([]Field{{Key: "root", Label: "root of trust", Kind: FieldChoice, Choices: []string{"same", "new"},
			Help: "same: a new intermediate, agents keep trust; new: a new root, every node needs the new token"}},
			append(importFields(true), stageField)...),
		Defaults: map[string]Default{stageField.Key: stageDirDefault("custom-ca")},
		Build:    buildRotateCustomCA,
	}
}

func buildRotateCustomCA(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	newRoot := vals["root"] == "new"
	if !newRoot && vals["root-cert"] != "" {
		if err := checkSameRoot(r.server(), vals["root-cert"]); err != nil {
			return nil, err
		}
	}
	gen := r.generateTask(GenerateInput{Kind: GenCustomCA, DataDir: r.env.DataDir, Out: vals[stageField.Key],
		Opts:     pki.GenOptions{Product: r.env.Product, Now: r.env.Now()},
		RootCert: vals["root-cert"], RootKey: vals["root-key"],
		IntermediateCert: vals["intermediate-cert"], IntermediateKey: vals["intermediate-key"]})
	title := "Rotate a custom CA (same root)"
	mode := restartAll
	if newRoot {
		title = "Rotate a custom CA (new root: disruptive)"
		mode = restartNewRoot
	}
	return r.flow(FlowRotateCustomCA, title,
		gen, r.validateTask(noCurrent, newRoot), r.tokenTask(), r.stopForWriteTask(), r.loadTask(newRoot),
		r.startTask("restart", "Restart k3s on this server"), r.lastTask(mode)), nil
}
