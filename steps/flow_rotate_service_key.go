package steps

import (
	"context"

	"github.com/k3sca/k3sca/pki"
)

// rotateServiceKeySpec is the menu entry of "Rotate the service-account issuer key".
func rotateServiceKeySpec() FlowSpec {
	return FlowSpec{
		ID: FlowRotateServiceKey, Title: "Rotate the service-account issuer key",
		Summary:  "a new signing key; the old keys stay so issued tokens stay valid",
		Fields:   []Field{stageField},
		Defaults: map[string]Default{stageField.Key: stageDirDefault("service-key")},
		Build:    buildRotateServiceKey,
	}
}

func buildRotateServiceKey(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	gen := r.generateTask(GenerateInput{Kind: GenServiceKey, DataDir: r.env.DataDir, Out: vals[stageField.Key],
		Opts: pki.GenOptions{Product: r.env.Product, Now: r.env.Now()}})
	return r.flow(FlowRotateServiceKey, "Rotate the service-account issuer key",
		gen, r.validateTask(noCurrent, false), r.stopForWriteTask(), r.loadTask(false),
		r.startTask("restart", "Restart k3s on this server"), r.lastTask(restartServers)), nil
}
