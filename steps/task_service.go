package steps

// Tasks several flows share that stop and start k3s, and the commands
// that do it for the operator to copy.

import (
	"context"
	"errors"
	"fmt"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
)

// stopTask stops k3s on this server unless it is not running; onlyIf,
// when set, gives a further reason to skip. Its undo starts k3s again.
func (r *run) stopTask(restores, title, note string, onlyIf func(ctx context.Context) (string, error)) *Task {
	r.service = true
	return &Task{
		ID:         "stop",
		Restores:   restores,
		Title:      title,
		Writes:     true,
		Disruptive: true,
		Skip: func(ctx context.Context) (string, error) {
			active, err := r.env.Services.IsActive(ctx, r.unit())
			if err != nil {
				return "", fmt.Errorf("is %s running: %w", r.unit(), err)
			}
			if !active {
				return r.unit() + " is not running", nil
			}
			if onlyIf == nil {
				return "", nil
			}
			return onlyIf(ctx)
		},
		Preview: func(context.Context) (*Plan, error) {
			p := &Plan{Title: "Stop " + r.unit()}
			p.Add(ActService, r.unit(), "stop (%s)", r.env.Services.Name())
			if note != "" {
				p.Notes = []string{note}
			}
			return p, nil
		},
		Run: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			progress("stopping " + r.unit())
			if err := r.env.Services.Stop(ctx, r.unit()); err != nil {
				return nil, err
			}
			return &Outcome{Summary: r.unit() + " stopped"}, nil
		},
		Undo: func(ctx context.Context) error { return r.env.Services.Start(ctx, r.unit()) },
	}
}

// stopForWriteTask stops k3s only when the datastore can be written only
// with it stopped (SQLite without a live kine socket).
func (r *run) stopForWriteTask() *Task {
	return r.stopTask("restart", "Stop k3s for the datastore write",
		"k3s runs on SQLite without a kine socket: the datastore file is written directly, so k3s must be stopped; it is started again if a later step fails",
		func(ctx context.Context) (string, error) {
			acc, err := ChooseAccess(ctx, r.env.access())
			if errors.Is(err, ErrK3sRunning) {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s keeps running: %s", r.unit(), acc.Reason), nil
		})
}

// startTask starts (or restarts) k3s on this server so it takes the new
// files from the datastore. A sandbox's service manager simulates what k3s
// does at start.
func (r *run) startTask(id, title string) *Task {
	r.service = true
	return &Task{
		ID:     id,
		Title:  title,
		Writes: true,
		Preview: func(ctx context.Context) (*Plan, error) {
			active, err := r.env.Services.IsActive(ctx, r.unit())
			if err != nil {
				return nil, fmt.Errorf("is %s running: %w", r.unit(), err)
			}
			p := &Plan{Title: title}
			if active {
				p.Add(ActService, r.unit(), "restart (%s)", r.env.Services.Name())
			} else {
				p.Add(ActService, r.unit(), "start (%s)", r.env.Services.Name())
			}
			p.Notes = []string{"at start k3s takes the bootstrap files from the datastore and re-issues leaf certificates that need it"}
			if url, ok := r.supervisorURL(); ok {
				p.Add(ActCheck, url+"/cacerts", "wait up to %s until it serves the expected CA hash and its certificate chains to that CA", r.env.RestartTimeout)
			}
			return p, nil
		},
		Run: func(ctx context.Context, progress func(string)) (*Outcome, error) {
			active, err := r.env.Services.IsActive(ctx, r.unit())
			if err != nil {
				return nil, err
			}
			want := r.expectedHash()
			if active {
				progress("stopping " + r.unit())
				if err := r.env.Services.Stop(ctx, r.unit()); err != nil {
					return nil, err
				}
			}
			progress("starting " + r.unit())
			if err := r.env.Services.Start(ctx, r.unit()); err != nil {
				return nil, r.notReady(ctx, err)
			}
			out := &Outcome{Summary: r.unit() + " started"}
			if active {
				out.Summary = r.unit() + " restarted"
			}
			if url, ok := r.supervisorURL(); ok {
				progress("waiting for " + url + "/cacerts")
				if err := node.WaitReady(ctx, url, want, r.env.RestartTimeout, r.env.Now); err != nil {
					return nil, r.notReady(ctx, err)
				}
				if want == "" {
					out.Details = append(out.Details, fmt.Sprintf("%s/cacerts answers and the serving certificate chains to its bundle (the CA hash to expect is not known)", url))
				} else {
					out.Details = append(out.Details, fmt.Sprintf("%s/cacerts serves CA hash %s and the serving certificate chains to it", url, want))
				}
			}
			if h, err := currentHash(r.server(), r.env.Now()); err == nil {
				out.Details = append(out.Details, "CA hash on disk now: "+h)
			}
			return out, nil
		},
	}
}

// supervisorURL is where the started server is probed; ok false when the
// service manager has nothing to probe (a fake).
func (r *run) supervisorURL() (string, bool) {
	loc, ok := r.env.Services.(node.SupervisorLocator)
	if !ok {
		return "", false
	}
	url, ok := loc.SupervisorURL(r.unit())
	if ok && url == "" {
		url = r.env.ServerURL
	}
	return url, ok && url != ""
}

// expectedHash is the CA hash the server must serve after the start: the
// staged set's when this flow loaded one, else the one on disk now.
func (r *run) expectedHash() string {
	if r.loaded && r.tokens != nil && r.tokens.New != nil {
		return r.tokens.New.Hash.Hex
	}
	if r.restored {
		// The backup's CA; "" (not known) checks only the chain.
		return r.restoredHash
	}
	h, _ := currentHash(r.server(), r.env.Now())
	return h
}

// notReady builds the report of a start after which k3s did not come back.
func (r *run) notReady(ctx context.Context, cause error) error {
	e := &NotReadyError{Err: cause}
	if lr, ok := r.env.Services.(node.ErrorLogReader); ok {
		if lines, err := lr.ErrorLog(ctx, r.unit(), 10); err == nil {
			e.Log = lines
		}
		e.LogCommand = lr.ErrorLogCommand(r.unit())
	}
	restart := restartCommand(r.env)
	if r.loaded {
		e.State = append(e.State, "the datastore holds the new CA set; this server did not come back on it")
	}
	trigger := pki.RegenerateTriggerPath(r.server())
	e.FixForward = triggerCommand(trigger) + " && " + restart
	if r.backup != "" {
		e.PutBack = restoreCommand(r.env, r.backup)
	}
	return e
}

// restartCommand is the command that restarts k3s on this node.
func restartCommand(env Env) string { return serviceCommand(env, "restart") }

// startCommand is the command that starts k3s on this node.
func startCommand(env Env) string { return serviceCommand(env, "start") }

// serviceCommand is the command of the node's service manager that does
// verb to the server unit; systemctl's when the manager names none.
func serviceCommand(env Env, verb string) string {
	unit := env.Product.ServerUnit()
	if c, ok := env.Services.(node.Commander); ok {
		return c.Command(verb, unit)
	}
	return node.Systemd{}.Command(verb, unit)
}
