package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

type loadJSON struct {
	OK     bool `json:"ok"`
	DryRun bool `json:"dryRun"`
	// Outcome is what the datastore holds: written, not-written or unknown.
	Outcome string `json:"outcome"`
	// Check is the command that finds out, when Outcome is unknown.
	Check       string `json:"check,omitempty"`
	Via         string `json:"via,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Key         string `json:"key,omitempty"`
	Revision    int64  `json:"revision,omitempty"`
	NewRevision int64  `json:"newRevision,omitempty"`
	Backup      string `json:"backup,omitempty"`
	// DatastoreCopy is the copy of the whole datastore: planned (taken
	// false) in a dry run, taken by the load, or none and why.
	DatastoreCopy *steps.DatastoreCopy `json:"datastoreCopy,omitempty"`
	Changes       []string             `json:"changes"`
	Unstaged      []string             `json:"unstagedChanges"`
	NewerOnDisk   []string             `json:"newerOnDisk"`
	Validation    validateJSON         `json:"validation"`
	// ServerRefusal is a --via server refusal: k3s's error ID, its own
	// reason from this node's log, k3sca's verdict beside it.
	ServerRefusal *steps.ServerRefusal `json:"serverRefusal,omitempty"`
	Warnings      []string             `json:"warnings"`
	Error         string               `json:"error,omitempty"`
	// Flow is the report of the flow that loaded, as `k3sca run` prints
	// it (steps, status, declined, result).
	Flow *steps.Report `json:"flow,omitempty"`
}

func (a *app) loadCommand() *cobra.Command {
	var path string
	var force bool
	var o confirmFlags
	var revision int64
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Validate a staged CA set and load it into the k3s datastore, with backup and verification",
		Long: "Validates --path with k3s's rules, backs up the current bootstrap value and\n" +
			"server/tls to server/k3sca-backups/, writes the new value with one\n" +
			"compare-and-swap and reads it back. --via auto picks SQLite when k3s is\n" +
			"stopped, kine's socket or embedded etcd when it runs. A write whose reply\n" +
			"is lost is read back. It is the load step of `k3sca run load` (which also\n" +
			"stops k3s when the write needs it and restarts it), on the same engine:\n" +
			"it needs --yes --confirm load, or with --force (a new root of trust)\n" +
			"--yes --confirm <cluster name>. Exit 0: written and read back; 2: a\n" +
			"confirmation is missing (nothing done); 3: refused by k3s's validation\n" +
			"(nothing written); 1: not written (or the backup restored); 4: unknown\n" +
			"(the reply was lost and the key unreadable; the error names the command\n" +
			"that finds out).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := a.output("text", "json")
			if err != nil {
				return err
			}
			if path == "" {
				return usagef("--path is required")
			}
			env, err := a.commandEnv(cmd, "k3sca load", o.dryRun)
			if err != nil {
				return err
			}
			c, err := steps.LoadCommand(env, path, force, revision)
			if err != nil {
				return err
			}
			return a.runLoad(cmd, c, o, out, path, env.DataDir)
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "path", "", "staged dir holding tls/")
	f.BoolVar(&force, "force", false, "load what k3s would only accept with --force (new root; confirmed by the cluster name)")
	addConfirmFlags(cmd, &o, "compute everything, write nothing", "load, or the cluster name with --force")
	f.Int64Var(&revision, "revision", 0, "the revision the dry run's plan showed: refuse if the bootstrap value moved since")
	f.String(keyClusterName, "", "the name typed to confirm a new root of trust (default: the host name; \"sandbox\" in a sandbox)")
	a.addDatastoreFlags(cmd)
	addOutputFlag(f, "text or json")
	return cmd
}

// addDatastoreFlags adds the flags that reach a datastore.
func (a *app) addDatastoreFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String(keyVia, "auto", "datastore path: auto, sqlite (k3s stopped), etcd (kine socket or etcd), server (k3s API)")
	f.String(keyToken, "", "server token (env K3SCA_TOKEN; default <data-dir>/server/token)")
	f.String(keyServer, "https://127.0.0.1:6443", "k3s supervisor URL for --via server")
	stringSliceVarP(f, new([]string), keyEtcdEndpoints, "", "etcd endpoints (default: datastore-endpoint of --k3s-config, else kine.sock or embedded etcd)")
	f.String(keyK3sConfig, "", "k3s server config file read for datastore-endpoint/-cafile/-certfile/-keyfile (default /etc/rancher/<product>/config.yaml)")
	f.String(keyEtcdCA, "", "etcd CA file")
	f.String(keyEtcdCert, "", "etcd client certificate file")
	f.String(keyEtcdKey, "", "etcd client key file")
	f.String(keySQLiteCopy, "1GiB", "largest state.db (with its -wal) a write copies first, beside the bootstrap backup (0: never copy)")
	f.Duration(keyTimeout, 0, "bound on every datastore call: etcd's dial and each request, SQLite's wait for a lock another process holds, each server API request (default: 5s etcd, 30s SQLite, 10s server API)")
}

func (a *app) accessInput() (steps.AccessInput, error) {
	p, dd, err := a.target()
	if err != nil {
		return steps.AccessInput{}, err
	}
	via, err := steps.ParseVia(a.v.GetString(keyVia))
	if err != nil {
		return steps.AccessInput{}, usageError{err}
	}
	timeout := a.v.GetDuration(keyTimeout)
	if timeout < 0 {
		return steps.AccessInput{}, usagef("--%s must not be negative", keyTimeout)
	}
	k3sConfig := a.v.GetString(keyK3sConfig)
	if k3sConfig == "" {
		k3sConfig = p.ConfigFile()
	}
	copyLimit, err := parseCopyLimit(a.v.GetString(keySQLiteCopy))
	if err != nil {
		return steps.AccessInput{}, usageError{err}
	}
	return steps.AccessInput{
		DataDir: dd, Via: via, Product: p, Services: nodeServices(dd), K3sConfig: k3sConfig, Timeout: timeout,
		SQLiteCopyLimit: copyLimit,
		Etcd: datastore.EtcdConfig{
			Endpoints: a.v.GetStringSlice(keyEtcdEndpoints), CAFile: a.v.GetString(keyEtcdCA),
			CertFile: a.v.GetString(keyEtcdCert), KeyFile: a.v.GetString(keyEtcdKey),
		},
	}, nil
}

// parseCopyLimit reads --sqlite-copy-limit: a size such as 1GiB, 500MB or
// 1048576; 0 never copies (steps: a negative limit).
func parseCopyLimit(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("--%s %q: want a size such as 1GiB, 500MB or 0 (never copy)", keySQLiteCopy, s)
	}
	if n == 0 {
		return -1, nil
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("--%s %q: too large", keySQLiteCopy, s)
	}
	return int64(n), nil
}

func (a *app) runLoad(cmd *cobra.Command, c *steps.Command, o confirmFlags, out, path, dataDir string) error {
	dryRun := o.dryRun
	rep, err := a.runSingle(cmd.Context(), c, o, out)
	j := loadJSON{DryRun: dryRun, Changes: []string{}, Unstaged: []string{}, NewerOnDisk: []string{}, Warnings: []string{}, Flow: &rep}
	j.Validation = toValidateJSON(&pki.Report{})
	lp := c.LoadPlan()
	if lp != nil {
		j.Validation = toValidateJSON(lp.Validation)
		j.Via, j.Reason, j.Key, j.Revision = string(lp.Access.Via), lp.Access.Reason, lp.Key, lp.Revision
		for _, ch := range lp.Changes {
			j.Changes = append(j.Changes, ch.Field+": "+ch.String())
		}
		for _, ch := range lp.Unstaged {
			j.Unstaged = append(j.Unstaged, ch.Field)
		}
		j.NewerOnDisk = append(j.NewerOnDisk, lp.NewerOnDisk...)
		j.DatastoreCopy = lp.Copy
		j.Warnings = append(j.Warnings, lp.Warnings...)
		for _, w := range lp.Warnings {
			a.printf("warning: %s\n", w)
		}
		if lp.Access.Reason != "" && out != "json" {
			a.printf("datastore: %s\n", lp.Access.Reason)
		}
	}
	res := c.LoadResult()
	j.Backup, j.NewRevision = res.Backup, res.NewRevision
	if !dryRun {
		// What the run took (nil when it wrote no backup), not the plan.
		j.DatastoreCopy = res.Copy
	}
	j.Outcome = string(steps.WriteNone)
	if !dryRun && res.State != "" {
		j.Outcome = string(res.State)
	}
	var unknown *steps.UnknownOutcomeError
	if errors.As(err, &unknown) {
		j.Check = unknown.Check
	}
	var refusal *steps.ServerRefusalError
	if errors.As(err, &refusal) {
		j.ServerRefusal = &refusal.Refusal
	}
	j.OK = err == nil
	if err != nil {
		j.Error = steps.StepCause(err).Error()
	}
	var werr error
	switch {
	case out == "json":
		werr = writeJSON(a.stdout, j)
	case !dryRun:
		werr = a.writeReport(rep, out)
	}
	if werr != nil {
		// The exit code says what the datastore holds; a result that
		// cannot be printed does not change it.
		a.printf("could not print the result (%v); the datastore outcome is: %s\n", werr, j.Outcome)
		if err == nil && j.Outcome == string(steps.WriteNone) {
			return werr
		}
	}
	if errors.Is(err, steps.ErrK3sRunning) {
		a.printf("%s\n", flowHint("k3sca run load --path "+path+" -d "+dataDir+" --yes --confirm load"))
	}
	if errors.Is(err, steps.ErrRefused) && out != "json" && lp != nil {
		_ = writeValidateText(a, lp.Validation)
	}
	return flowExit(err)
}
