package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/steps"
)

// sandboxOptions are the flags of `k3sca sandbox`.
type sandboxOptions struct {
	dir, from           string
	noTUI, noTour, tour bool
	servers, agents     int
}

func (a *app) sandboxCommand() *cobra.Command {
	var o sandboxOptions
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Create a throwaway k3s data dir with a real SQLite datastore and open the wizard on it",
		Long: "Creates <dir>/data as k3s leaves it after its first start on SQLite (default\n" +
			"CAs, leaf certificates, credentials, token, encrypted bootstrap data in\n" +
			"db/state.db), then opens the wizard on it; without a terminal, or with\n" +
			"--tour, it runs the headless commands of a cross-signed rotation on\n" +
			"it: check, generate, validate, token, load, datastore show, then a simulated\n" +
			"k3s restart and check again. Nothing outside <dir> is touched.\n\n" +
			"--dir reopens the sandbox built there before. --from copies a real server's\n" +
			"data dir instead (server/ only, state.db as one consistent snapshot; the\n" +
			"source is only read). --no-tui only builds it and prints the data dir.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.noTour {
				a.printf("--no-tour is deprecated; use --no-tui\n")
				o.noTUI = true
			}
			if o.noTUI && o.tour {
				return usagef("--no-tui and --tour exclude each other")
			}
			p, err := a.product()
			if err != nil {
				return err
			}
			if o.servers < 1 || o.agents < 0 {
				return usagef("--servers must be at least 1 and --agents at least 0")
			}
			var sb *sandbox.Sandbox
			var root string
			if o.servers > 1 || o.agents > 0 {
				sb, root, err = a.buildSandboxCluster(cmd.Context(), p, o)
			} else {
				sb, root, err = a.buildSandbox(cmd.Context(), p, o)
			}
			if err != nil {
				return err
			}
			switch {
			case o.noTUI:
				_, err = fmt.Fprintln(a.stdout, sb.DataDir)
				return err
			case o.tour || !interactive():
				return a.tour(cmd, sb.DataDir, freshStageDir(root))
			}
			a.v.Set(keyDataDir, sb.DataDir)
			a.v.Set(keyStageRoot, root)
			if err := a.runWizard(cmd); err != nil {
				return err
			}
			// The token printed before the wizard is the one of start-up; a
			// rotation changed its CA hash: say the current one.
			if now, err := sandbox.Open(sb.DataDir); err == nil {
				a.printSandbox(now)
			}
			a.printf("the sandbox stays in %s; remove it with: rm -rf %s\n", root, root)
			return nil
		},
	}
	cmd.AddCommand(a.sandboxServiceCommands()...)
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "where to build the sandbox, or reopen the one built there (default a new temp dir)")
	f.StringVar(&o.from, "from", "", "copy the server part of this k3s data dir (e.g. /var/lib/rancher/k3s) instead of generating one")
	f.BoolVar(&o.noTUI, "no-tui", false, "only build the sandbox and print its data dir")
	f.IntVar(&o.servers, "servers", 1, "servers of a sandbox cluster (they share one datastore)")
	f.IntVar(&o.agents, "agents", 0, "agents of a sandbox cluster")
	// --no-tour is the old name of --no-tui: hidden, and noted on stderr
	// (cobra's MarkDeprecated would print on stdout, where the path goes).
	f.BoolVar(&o.noTour, "no-tour", false, "deprecated: use --no-tui")
	_ = f.MarkHidden("no-tour")
	f.BoolVar(&o.tour, "tour", false, "run the headless tour even in a terminal (the default without one)")
	return cmd
}

// buildSandbox creates, copies or reopens the sandbox and returns it with
// its root dir. A sandbox that fails half-way is removed.
// buildSandboxCluster builds a sandbox cluster in a new dir and returns
// its first server, where the wizard opens.
func (a *app) buildSandboxCluster(ctx context.Context, p product.Product, o sandboxOptions) (*sandbox.Sandbox, string, error) {
	if o.from != "" {
		return nil, "", usagef("--from copies one server; it does not build a cluster (--servers, --agents)")
	}
	root := o.dir
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "k3sca-cluster-"); err != nil {
			return nil, "", fmt.Errorf("sandbox dir: %w", err)
		}
	} else if entries, err := os.ReadDir(root); err == nil && len(entries) > 0 {
		return nil, "", usagef("%s is not empty; a sandbox cluster is built in a new or empty dir", root)
	}
	c, err := sandbox.CreateCluster(ctx, sandbox.ClusterInput{Root: root, Servers: o.servers, Agents: o.agents, Product: p, Now: a.now()})
	if err != nil {
		return nil, "", err
	}
	sb, err := sandbox.Open(c.Nodes[0].DataDir)
	if err != nil {
		return nil, "", err
	}
	a.printf("sandbox cluster in %s: %d servers sharing one datastore, %d agents; inventory %s\n", root, o.servers, o.agents, c.Inventory)
	for _, n := range c.Nodes {
		a.printf("  %s (%s): %s\n", n.Name, n.Role, n.Root)
	}
	a.printSandbox(sb)
	return sb, root, nil
}

func (a *app) buildSandbox(ctx context.Context, p product.Product, o sandboxOptions) (*sandbox.Sandbox, string, error) {
	root, reopen := o.dir, false
	var err error
	if root == "" {
		if root, err = os.MkdirTemp("", "k3sca-sandbox-"); err != nil {
			return nil, "", fmt.Errorf("sandbox dir: %w", err)
		}
	} else if reopen, err = sandbox.InspectRoot(root); err != nil {
		return nil, "", err
	}
	dd := sandbox.DataDir(root)
	if reopen {
		if o.from != "" {
			return nil, "", usagef("--from builds a new sandbox, but %s already holds one; choose another --dir", root)
		}
		sb, err := sandbox.Open(dd)
		if err != nil {
			return nil, "", err
		}
		a.printf("reopened the sandbox in %s\n", root)
		a.printSandbox(sb)
		return sb, root, nil
	}
	var sb *sandbox.Sandbox
	if o.from != "" {
		var rep *sandbox.CopyReport
		if sb, rep, err = sandbox.CreateFrom(ctx, o.from, dd, a.now()); err == nil {
			a.printCopyReport(o.from, rep)
		}
	} else {
		sb, err = sandbox.Create(ctx, sandbox.Input{DataDir: dd, Product: p, Now: a.now(), NearExpiry: true})
	}
	if err != nil {
		_ = os.RemoveAll(dd) // InspectSandboxRoot made sure it did not exist
		if o.dir == "" {
			_ = os.Remove(root)
		}
		return nil, "", err
	}
	a.printSandbox(sb)
	return sb, root, nil
}

func (a *app) printSandbox(sb *sandbox.Sandbox) {
	if sb.Token.Password == "" && sb.Token.BootstrapToken == "" {
		a.printf("sandbox data dir: %s (no server token)\n", sb.DataDir)
		return
	}
	a.printf("sandbox data dir: %s (token %s)\n", sb.DataDir, sb.Token.Masked())
}

func (a *app) printCopyReport(from string, rep *sandbox.CopyReport) {
	a.printf("copied from %s (read only):\n", from)
	for _, c := range rep.Copied {
		a.printf("  %s\n", c)
	}
	if len(rep.Skipped) > 0 {
		a.printf("skipped:\n")
		for _, s := range rep.Skipped {
			a.printf("  %s: %s\n", s.Path, s.Why)
		}
	}
	a.printf("datastore: %s\n", rep.Datastore)
}

// freshStageDir is a staging dir for the tour that does not exist yet, so a
// reopened sandbox can take another tour.
func freshStageDir(root string) string {
	stage := filepath.Join(root, "rotate-ca")
	for i := 2; ; i++ {
		if _, err := os.Lstat(stage); errors.Is(err, fs.ErrNotExist) {
			return stage
		}
		stage = filepath.Join(root, fmt.Sprintf("rotate-ca-%d", i))
	}
}

// tour runs the headless commands of a rotation on the sandbox, each as the
// operator would type it.
func (a *app) tour(cmd *cobra.Command, dd, stage string) error {
	p := a.v.GetString(keyProduct)
	script := [][]string{
		{"check", "-d", dd},
		{"generate", "rotation", "-d", dd, "--out", stage, "--yes"},
		{"validate", "-d", dd, "--path", stage},
		{"token", "-d", dd, "--path", stage},
		{"load", "-d", dd, "--path", stage, "--dry-run"},
		{"load", "-d", dd, "--path", stage, "--yes", "--confirm", "load"},
		{"datastore", "show", "-d", dd},
		{"datastore", "backups", "-d", dd},
		{"sandbox", "restart", "-d", dd},
		{"check", "-d", dd},
		{"token", "-d", dd},
	}
	for _, args := range script {
		args = append(args, "--product", p)
		fmt.Fprintf(a.stdout, "\n$ k3sca %s\n", strings.Join(args, " "))
		// Each command as its own process would run it, on this clock.
		sub := newApp(a.stdout, a.stderr)
		sub.now, sub.home = a.now, a.home
		root := sub.commandTree(args)
		root.SetArgs(args)
		root.SetOut(a.stdout)
		root.SetErr(a.stderr)
		code := sub.exitCode(root.ExecuteContext(cmd.Context()))
		sub.closeLog(code)
		if code == exitFailure && args[0] == "check" {
			// The sandbox ages one leaf so that check has something to
			// say: its exit 1 is the report, not a failure.
			fmt.Fprintf(a.stdout, "(check exits 1: a certificate needs attention)\n")
			continue
		}
		if code != exitOK {
			return fmt.Errorf("tour step `k3sca %s` exited %d", strings.Join(args, " "), code)
		}
	}
	fmt.Fprintf(a.stdout, "\nThe sandbox stays in %s; remove it with: rm -rf %s\n", filepath.Dir(dd), filepath.Dir(dd))
	return nil
}

// sandboxServiceCommands are `k3sca sandbox start|stop|restart`: the
// sandbox's pretend service manager, as systemctl is a real server's. A
// start simulates what a k3s server start does to the data dir: bootstrap
// files are taken from the datastore unless a differing file is at least 3 s
// newer on disk (then it fails, as k3s does), leaf certificates are
// re-issued and server/token gets the new CA hash.
func (a *app) sandboxServiceCommands() []*cobra.Command {
	verbs := []struct{ use, short string }{
		{"start", "Start the sandbox's k3s: reconcile from the datastore, re-issue leaf certs, rewrite the token"},
		{"stop", "Stop the sandbox's k3s (marks it stopped, so direct SQLite writes are allowed)"},
		{"restart", "Restart the sandbox's k3s: stop it, then start it as `sandbox start` does"},
	}
	var cmds []*cobra.Command
	for _, v := range verbs {
		cmds = append(cmds, &cobra.Command{
			Use:   v.use,
			Short: v.short,
			Long:  v.short + ".\nRefuses any dir not made by `k3sca sandbox`.",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				p, dd, err := a.target()
				if err != nil {
					return err
				}
				return a.sandboxService(cmd.Context(), v.use, p, dd)
			},
		})
	}
	return cmds
}

// sandboxService runs one service verb on the sandbox dd.
func (a *app) sandboxService(ctx context.Context, verb string, p product.Product, dd string) error {
	svc := &sandbox.Services{DataDir: dd, Product: p, Now: a.now}
	unit := p.ServerUnit()
	if verb != "start" {
		if err := svc.Stop(ctx, unit); err != nil {
			return err
		}
		if verb == "stop" {
			a.printf("%s stopped (sandbox)\n", unit)
			return nil
		}
	}
	if err := svc.Start(ctx, unit); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(product.ServerDir(dd), "token"))
	if err != nil {
		return fmt.Errorf("read the sandbox token: %w", err)
	}
	tok, err := pki.ParseToken(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("sandbox token: %w", err)
	}
	a.printf("%s started (sandbox): the disk matches the datastore; server token now %s\n", unit, tok.Masked())
	return nil
}

// nodeServices is the service manager of the node that owns dataDir: the
// simulated one of a sandbox data dir (its state persists between
// commands), else this machine's (node.DetectServices).
func nodeServices(dataDir string) node.ServiceManager {
	if dataDir != "" && node.IsSandbox(dataDir) {
		return &sandbox.Services{DataDir: dataDir}
	}
	return node.DetectServices()
}

// serveSandbox has a sandbox's simulated listener serve in this process
// after a start, so the restart step probes it as it probes a real
// server's 6443; other service managers are left as they are.
func (a *app) serveSandbox(s node.ServiceManager, p product.Product) {
	if sb, ok := s.(*sandbox.Services); ok {
		sb.Product, sb.Now, sb.Serve = p, a.now, true
	}
}

// localClusters are the sandbox clusters, whose rollout reaches the nodes
// locally.
var localClusters steps.LocalClusters = sandbox.Clusters{}
