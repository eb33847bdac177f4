package steps

import (
	"context"
	"errors"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
)

// Command is a single-step command of the CLI (generate, validate, token,
// rotate, load, datastore restore) as a flow of the same tasks the menu's
// flows use, with the same IDs: it runs on the same Session and Runner, so
// it asks for the same confirmations (--yes, and --confirm for a typed
// word), reports in the same Report and rolls back alike. Its accessors
// read what the tasks found, for the command's own JSON fields.
type Command struct {
	// Flow is the flow to run (Runner.Run, then Flow.Select if needed).
	Flow *Flow
	r    *run
}

// Validation is the validate or load step's report on the staged set,
// also when k3s refuses it; nil before it ran.
func (c *Command) Validation() *pki.Report {
	if c.r.report != nil {
		return c.r.report
	}
	if lp := c.LoadPlan(); lp != nil {
		return lp.Validation
	}
	return nil
}

// Tokens is the token step's report; nil before it ran.
func (c *Command) Tokens() *TokenReport { return c.r.tokens }

// LoadPlan is the load step's plan; nil when it was not computed.
func (c *Command) LoadPlan() *LoadPlan {
	if c.r.load == nil {
		return nil
	}
	return c.r.load.Plan()
}

// LoadResult is what the load step wrote (State "" when it did not run).
func (c *Command) LoadResult() LoadResult {
	if c.r.load == nil {
		return LoadResult{}
	}
	return c.r.load.Result()
}

// command assembles a command's flow over r; its lock names the command
// itself (env.Holder, "k3sca load"), as an operator typed it.
func (r *run) command(id, title string, tasks ...*Task) *Command {
	f := r.flow(id, title, tasks...)
	f.Lock = func(context.Context) (func(), error) {
		holder := r.env.Holder
		if holder == "" {
			holder = "k3sca " + id
		}
		return node.Lock(r.env.DataDir, holder, r.env.Now())
	}
	return &Command{Flow: f, r: r}
}

// GenerateCommand stages a set (k3sca generate <kind>): the generate step
// of the CA flows.
func GenerateCommand(env Env, in GenerateInput) *Command {
	r := newRun(env)
	return r.command("generate", "Generate "+string(in.Kind), r.generateTask(in))
}

// ValidateCommand validates the staged dir as k3s's rotate-ca would (k3sca
// validate): the validate step of the CA flows. force accepts what k3s
// accepts with --force.
func ValidateCommand(env Env, staged string, force bool) (*Command, error) {
	r := newRun(env)
	if err := CheckStaged(r.env.DataDir, staged); err != nil {
		return nil, err
	}
	r.staged, r.forceAll = staged, force
	return r.command("validate", "Validate "+staged, r.validateTask(noCurrent, false)), nil
}

// TokenCommand shows the join-token CA hash now and, with staged, after
// loading it (k3sca token): the token step of the CA flows.
func TokenCommand(env Env, staged string) (*Command, error) {
	r := newRun(env)
	if staged != "" {
		if err := CheckStaged(r.env.DataDir, staged); err != nil {
			return nil, err
		}
	}
	r.staged = staged
	return r.command("token", "Join-token CA hash", r.tokenTask()), nil
}

// RotateCommand backs up and removes the leaf certificates of services
// (k3sca rotate): the rotate step of rotate-certs, without stopping k3s.
func RotateCommand(env Env, services []string) (*Command, error) {
	r := newRun(env)
	if _, err := pki.LookupServices(r.env.Product, services); err != nil {
		return nil, err
	}
	return r.command("rotate", "Rotate leaf certificates", r.rotateTask(services)), nil
}

// LoadCommand loads the staged dir into the datastore (k3sca load): the
// load step of the CA flows, confirmed by "load" or, with force (a set k3s
// accepts only with --force: a new root of trust), by the cluster's name.
// revision, when not 0, refuses a datastore that moved since a dry run
// showed it.
func LoadCommand(env Env, staged string, force bool, revision int64) (*Command, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	if err := CheckStaged(r.env.DataDir, staged); err != nil {
		return nil, err
	}
	r.staged, r.force, r.aheadRev = staged, force, revision
	return r.command("load", "Load "+staged, r.loadTask(force)), nil
}

// RestoreCommand puts a backup back into the datastore (k3sca datastore
// restore): the restore step of the datastore flow, confirmed by
// "restore".
func RestoreCommand(env Env, backup string) (*Command, error) {
	if backup == "" {
		return nil, errors.New("no backup file given")
	}
	r := newRun(env)
	return r.command("restore", "Restore "+backup, r.restoreTask(backup)), nil
}
