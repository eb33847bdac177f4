package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
	"github.com/k3sca/k3sca/steps/render"
)

// Flags shared by every flow command.
const (
	keyStageRoot      = "stage-root"
	keyClusterName    = "cluster-name"
	keyLog            = "log"
	keyRestartTimeout = "restart-timeout"
	keyShowToken      = "show-token"
	keyInventory      = "inventory"
	keyKubeconfig     = "kubeconfig"
	keyNode           = "node"
	keyAcceptHostKey  = "accept-host-key"
	keyParallel       = "parallel"
	keyRotatedSince   = "rotated-since"
)

// runCommand is `k3sca run <flow>`: every flow of the wizard, headless, with
// one flag per input of the flow.
func (a *app) runCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run <flow>",
		Short: "Run a flow of the wizard headless: the same steps, confirmed by flags",
		Long: "Runs one flow of the wizard step by step without a screen: \"step 3/8 ...\"\n" +
			"lines and the plan of every writing step go to stderr, the summary (or\n" +
			"-o json) to stdout. A writing step needs --yes; a step that asks for a\n" +
			"typed word (load, restore, the cluster name for a new root) also needs\n" +
			"--confirm <word>. Every flag the flow needs is checked before its first\n" +
			"step: a missing one is a usage error (exit 2) that names them all, and\n" +
			"nothing runs. --dry-run runs the whole flow and writes nothing.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown flow %q; the flows are: %s", args[0], strings.Join(flowIDs(), ", "))
			}
			return cmd.Help()
		},
	}
	for _, spec := range steps.Flows() {
		cmd.AddCommand(a.flowCommand(spec))
	}
	return cmd
}

// flowOptions are the flags every flow command has.
type flowOptions struct {
	dryRun, yes, showToken bool
	confirm, only, skip    []string
}

func (a *app) flowCommand(spec steps.FlowSpec) *cobra.Command {
	var o flowOptions
	cmd := &cobra.Command{
		Use:   spec.ID,
		Short: spec.Title + ": " + spec.Summary,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runFlow(cmd, spec, o)
		},
	}
	f := cmd.Flags()
	for _, fld := range spec.Fields {
		help := fld.Help
		if len(fld.Choices) > 0 && fld.Kind == steps.FieldChoice {
			help += " (" + strings.Join(fld.Choices, "|") + ")"
		}
		f.String(fld.Key, "", help)
		for _, alias := range fld.Aliases {
			a.addAlias(cmd, alias, fld.Key, func(f *pflag.FlagSet, name string) { f.String(name, "", "") })
		}
	}
	f.BoolVar(&o.dryRun, "dry-run", false, "run every step, write nothing, and end on the full plan")
	f.BoolVarP(&o.yes, "yes", "y", false, "confirm the writing steps")
	stringSliceVarP(f, &o.confirm, "confirm", "", "typed confirmations: load, restore, or the cluster name for a new root")
	stringSliceVarP(f, &o.only, "only", "", "run only these steps (IDs, comma-separated; the others are skipped)")
	stringSliceVarP(f, &o.skip, "skip", "", "skip these steps (IDs, comma-separated)")
	f.BoolVar(&o.showToken, keyShowToken, false, "print the full token (it holds the server password)")
	addOutputFlag(f, "text, json")
	a.addFlowFlags(cmd)
	if spec.ID == steps.FlowCheck {
		a.addCheckExitFlags(cmd)
	}
	if spec.ID == steps.FlowRotateCerts {
		f.String(keyRotatedSince, "", "RFC 3339 time a leaf rotation of the cluster began (the resume command a stopped one printed gives it): a node with a leaf backup made since is rotated already (default: now)")
	}
	return cmd
}

// addFlowFlags are the settings a flow's environment reads.
func (a *app) addFlowFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String(keyStageRoot, "", "parent dir of new staged dirs (default: the data dir's parent)")
	f.String(keyClusterName, "", "the name typed to confirm a new root of trust (default: the host name; \"sandbox\" in a sandbox)")
	f.Int(keyRenewDays, defaultRenewDays, "renewal window in days (default: the window of the k3s version found)")
	f.Duration(keyRestartTimeout, steps.DefaultRestartTimeout, "how long a restart waits for k3s to serve the new CA on --server before it reports k3s did not come back")
	f.String(keyInventory, "", "the cluster's inventory (k3s-ansible format): a CA flow ends by rolling the change out to every node (default: a sandbox cluster's own)")
	f.String(keyKubeconfig, "", "without --inventory: the cluster's nodes and roles from its Kubernetes API, through this admin kubeconfig (a server's /etc/rancher/k3s/k3s.yaml)")
	stringArrayVar(f, &a.nodes, keyNode, "without --inventory or --kubeconfig: a node of the cluster, "+cluster.NodeFlagUsage+" (repeat for each node)")
	f.Int(keyParallel, 1, "how many agents the rollout restarts at once (servers always one at a time)")
	stringArrayVar(f, &a.acceptHostKeys, keyAcceptHostKey, "NODE=SHA256:...: accept this host key for a node that known_hosts does not know (check it on the node first: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); it is then added to known_hosts (repeat for each node)")
	a.addDatastoreFlags(cmd)
}

// flowEnv builds the environment of a flow from the settings, with the
// node's k3s version, found once, and the renewal window it implies.
func (a *app) flowEnv(cmd *cobra.Command) (steps.Env, error) {
	env, err := a.settingsEnv(cmd)
	if err != nil {
		return steps.Env{}, err
	}
	env.K3s = steps.DetectK3sVersion(cmd.Context(), env)
	window, why, err := a.renewWindow(cmd, env.K3s)
	if err != nil {
		return steps.Env{}, err
	}
	if why != "" {
		a.printf("%s\n", why)
	}
	env.Window = window
	return env.WithDefaults(), nil
}

// settingsEnv builds the environment of a flow from the settings alone,
// before WithDefaults: the node's k3s version is not looked for (K3s nil:
// a flow with a version preflight finds it before its first step) and the
// renewal window is --renew-days, checked, or the default.
func (a *app) settingsEnv(cmd *cobra.Command) (steps.Env, error) {
	p, dd, err := a.target()
	if err != nil {
		return steps.Env{}, err
	}
	access, err := a.accessInput()
	if err != nil {
		return steps.Env{}, err
	}
	services := nodeServices(dd)
	a.serveSandbox(services, p)
	timeout := a.v.GetDuration(keyRestartTimeout)
	if timeout <= 0 {
		return steps.Env{}, usagef("--%s must be positive", keyRestartTimeout)
	}
	access.Services = services
	parallel := a.v.GetInt(keyParallel)
	if parallel < 1 {
		return steps.Env{}, usagef("--%s must be at least 1 (got %d)", keyParallel, parallel)
	}
	nodes := a.nodes
	for _, n := range nodes {
		if _, err := cluster.ParseNodeFlag(n); err != nil {
			return steps.Env{}, usagef("%v", err)
		}
	}
	accept := map[string]string{}
	for _, v := range a.acceptHostKeys {
		node, fp, ok := strings.Cut(v, "=")
		if !ok || node == "" || !strings.HasPrefix(fp, "SHA256:") || len(fp) == len("SHA256:") {
			return steps.Env{}, usagef("--%s %q: want NODE=SHA256:... (the fingerprint k3sca showed for the node's unknown host key)", keyAcceptHostKey, v)
		}
		accept[node] = fp
	}
	name := a.v.GetString(keyClusterName)
	if name == "" && node.IsSandbox(dd) {
		name = "sandbox"
	}
	env := steps.Env{
		DataDir: dd, Product: p, Now: a.now, StageRoot: a.v.GetString(keyStageRoot),
		Services: services, Access: access, Token: a.v.GetString(keyToken), ServerURL: a.v.GetString(keyServer),
		ClusterName: name, RestartTimeout: timeout, Inventory: a.v.GetString(keyInventory),
		Kubeconfig: a.v.GetString(keyKubeconfig), Nodes: nodes, Parallel: parallel, AcceptHostKeys: accept, Local: localClusters,
	}
	if fl := cmd.Flags().Lookup(keyRotatedSince); fl != nil && fl.Value.String() != "" {
		t, err := time.Parse(time.RFC3339, fl.Value.String())
		if err != nil {
			return steps.Env{}, usagef("--%s %q: want an RFC 3339 time such as 2026-12-02T06:30:00Z", keyRotatedSince, fl.Value.String())
		}
		env.RotatedSince = t
	}
	// Without a version, renewWindow only checks the setting.
	window, _, err := a.renewWindow(cmd, nil)
	if err != nil {
		return steps.Env{}, err
	}
	env.Window = window
	return env, nil
}

// addAlias adds an older spelling of --flag: hidden, still accepted, and
// named on stderr when used (never on stdout, which may be JSON).
func (a *app) addAlias(cmd *cobra.Command, alias, flag string, add func(f *pflag.FlagSet, name string)) {
	add(cmd.Flags(), alias)
	_ = cmd.Flags().MarkHidden(alias)
	prev := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if c.Flags().Changed(alias) {
			fmt.Fprintf(a.stderr, "note: --%s is an older spelling of --%s; use --%s\n", alias, flag, flag)
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
}

// openLog opens --log for appending, once, and records the command: its
// path and the names of the flags given, never their values (a token can
// be one). The exit code is recorded by closeLog.
func (a *app) openLog(cmd *cobra.Command) error {
	path := a.v.GetString(keyLog)
	if path == "" || a.log != nil {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return usagef("--log %s: %v", path, err)
	}
	a.log, a.logFile = slog.New(slog.NewTextHandler(f, nil)), f
	var flags []string
	cmd.Flags().Visit(func(fl *pflag.Flag) { flags = append(flags, fl.Name) })
	a.log.Info("command", "path", cmd.CommandPath(), "flags", strings.Join(flags, ","))
	return nil
}

// closeLog records the exit code and closes --log.
func (a *app) closeLog(code int) {
	if a.log == nil {
		return
	}
	a.log.Info("exit", "code", code)
	_ = a.logFile.Close()
	a.log, a.logFile = nil, nil
}

func (a *app) runFlow(cmd *cobra.Command, spec steps.FlowSpec, o flowOptions) error {
	if spec.ID == steps.FlowCheck {
		if err := a.checkExitMode(); err != nil {
			return err
		}
	}
	format, err := a.output("text", "json")
	if err != nil {
		return err
	}
	env, err := a.flowEnv(cmd)
	if err != nil {
		return err
	}
	env.DryRun, env.Holder = o.dryRun, "k3sca run "+spec.ID
	vals := spec.InitialValues(env)
	for _, fld := range spec.Fields {
		for _, alias := range fld.Aliases {
			if cmd.Flags().Changed(alias) {
				if cmd.Flags().Changed(fld.Key) {
					return usagef("--%s and --%s are the same setting; give --%s only", alias, fld.Key, fld.Key)
				}
				vals[fld.Key], _ = cmd.Flags().GetString(alias)
			}
		}
		if cmd.Flags().Changed(fld.Key) {
			vals[fld.Key], _ = cmd.Flags().GetString(fld.Key)
		}
	}
	if err := spec.CheckValues(vals); err != nil {
		return usageError{err}
	}
	if a.log != nil {
		a.log.Info("flow", "id", spec.ID, "dataDir", env.DataDir, "dryRun", o.dryRun)
		env.Log = a.log
	}
	flow, err := spec.Build(cmd.Context(), env, vals)
	if err != nil {
		if errors.Is(err, pki.ErrUnknownService) {
			return usageError{err}
		}
		return err
	}
	if err := flow.Select(o.only, o.skip); err != nil {
		if flow.Cleanup != nil {
			flow.Cleanup()
		}
		return usageError{err}
	}
	r := steps.Runner{Out: a.stderr, Yes: o.yes, Words: o.confirm, ShowSecrets: o.showToken, DryRun: o.dryRun, Render: render.Data}
	rep, runErr := r.Run(cmd.Context(), flow)
	if err := a.writeReport(rep, format); err != nil {
		return err
	}
	if runErr == nil && spec.ID == steps.FlowCheck {
		if inv := checkReport(rep); inv != nil {
			return a.checkVerdict(inv, env.Window)
		}
	}
	return flowExit(runErr)
}

// printSummary prints one line per step on stdout.
func (a *app) printSummary(rep steps.Report) {
	state := "done"
	ran := false
	for _, st := range rep.Steps {
		ran = ran || st.Status != steps.StatusPending
	}
	switch {
	case rep.DryRun && rep.OK:
		state = "dry run, nothing written"
	case !ran:
		state = "not run, nothing written"
	case rep.Declined != "":
		state = "stopped: " + rep.Declined
	case !rep.OK:
		state = "stopped"
	}
	fmt.Fprintf(a.stdout, "%s: %s\n", rep.Title, state)
	for _, st := range rep.Steps {
		line := fmt.Sprintf("  %s %d. %s", render.Mark(st.Status), st.N, st.Title)
		switch {
		case st.Reason != "":
			line += " (skipped: " + st.Reason + ")"
		case st.Outcome != nil && st.Outcome.Summary != "":
			line += ": " + st.Outcome.Summary
		case st.Error != "":
			line += ": " + st.Error
		}
		fmt.Fprintln(a.stdout, line)
	}
	if len(rep.Undone) > 0 {
		fmt.Fprintln(a.stdout, "  rolled back: undid "+strings.Join(rep.Undone, ", "))
	}
	if rep.Node != nil && ran && !rep.DryRun {
		fmt.Fprintln(a.stdout, "  "+rep.Node.Line())
	}
}

func flowIDs() []string {
	var ids []string
	for _, s := range steps.Flows() {
		ids = append(ids, s.ID)
	}
	return ids
}
