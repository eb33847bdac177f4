package steps

import (
	"context"

	"github.com/k3sca/k3sca/pki"
)

// rotateCASpec is the menu entry of "Rotate the self-signed CAs".
func rotateCASpec() FlowSpec {
	return FlowSpec{
		ID: FlowRotateCA, Title: "Rotate the self-signed CAs",
		Summary:  "new CAs cross-signed by the old ones: nodes keep trust during the change",
		Fields:   []Field{stageField},
		Defaults: map[string]Default{stageField.Key: stageDirDefault("rotation")},
		Build:    buildRotateCA,
	}
}

func buildRotateCA(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	gen := r.generateTask(GenerateInput{Kind: GenRotation, DataDir: r.env.DataDir, Out: vals[stageField.Key],
		Opts: pki.GenOptions{Product: r.env.Product, Now: r.env.Now()}})
	return r.flow(FlowRotateCA, "Rotate the self-signed CAs (cross-signed)",
		gen, r.validateTask(noCurrent, false), r.tokenTask(), r.stopForWriteTask(), r.loadTask(false),
		r.startTask("restart", "Restart k3s on this server"), r.lastTask(restartAll)), nil
}
