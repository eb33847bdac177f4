package steps

import "context"

// loadSpec is the menu entry of "Load a staged dir".
func loadSpec() FlowSpec {
	return FlowSpec{
		ID: FlowLoad, Title: "Load a staged dir",
		Summary: "validate a set staged elsewhere (k3sca generate) and load it",
		Fields: []Field{{Key: stageField.Key, Label: "staged dir", Kind: FieldDir, Aliases: []string{"staged-dir"},
			Help: "the dir holding tls/ (rotate-ca --path)"}},
		Build: buildLoad,
	}
}

func buildLoad(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	r.staged = vals[stageField.Key]
	if err := CheckStaged(r.env.DataDir, r.staged); err != nil {
		return nil, err
	}
	return r.flow(FlowLoad, "Load "+r.staged,
		r.validateTask(noCurrent, false), r.tokenTask(), r.stopForWriteTask(), r.loadTask(false),
		r.startTask("restart", "Restart k3s on this server"), r.lastTask(restartAll)), nil
}
