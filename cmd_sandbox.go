package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/steps"
)

func (a *app) sandboxCommand() *cobra.Command {
	var dir string
	var noTour, tour bool
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Create a throwaway k3s data dir with a real SQLite datastore and open the wizard on it",
		Long: "Creates <dir>/data as k3s leaves it after its first start on SQLite (default\n" +
			"CAs, leaf certificates, credentials, token, encrypted bootstrap data in\n" +
			"db/state.db), then opens the wizard on it; without a terminal, or with\n" +
			"--tour, it runs the headless commands of a cross-signed rotation on\n" +
			"it: check, generate, validate, token, load, datastore show, then a simulated\n" +
			"k3s restart and check again. Nothing outside <dir> is touched.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.product()
			if err != nil {
				return err
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "k3sca-sandbox-"); err != nil {
					return err
				}
			}
			dd := filepath.Join(dir, "data")
			sb, err := steps.CreateSandbox(cmd.Context(), steps.SandboxInput{DataDir: dd, Product: p, Now: a.now()})
			if err != nil {
				return err
			}
			a.printf("sandbox data dir: %s (token %s)\n", sb.DataDir, sb.Token.Masked())
			switch {
			case noTour:
				_, err = fmt.Fprintln(a.stdout, sb.DataDir)
				return err
			case tour || !interactive():
				return a.tour(cmd, dd, filepath.Join(dir, "rotate-ca"))
			}
			a.v.Set(keyDataDir, dd)
			if err := a.runWizard(cmd, dir); err != nil {
				return err
			}
			a.printf("the sandbox stays in %s; remove it with: rm -rf %s\n", dir, dir)
			return nil
		},
	}
	cmd.AddCommand(a.sandboxRestartCommand())
	cmd.Flags().StringVar(&dir, "dir", "", "where to create the sandbox (default a new temp dir)")
	cmd.Flags().BoolVar(&noTour, "no-tour", false, "only create the data dir and print its path")
	cmd.Flags().BoolVar(&tour, "tour", false, "run the headless tour even in a terminal (the default without one)")
	return cmd
}

// tour runs the headless commands of a rotation on the sandbox, each as the
// operator would type it.
func (a *app) tour(cmd *cobra.Command, dd, stage string) error {
	p := a.v.GetString(keyProduct)
	script := [][]string{
		{"check", "-d", dd},
		{"generate", "rotation", "-d", dd, "--out", stage},
		{"validate", "-d", dd, "--path", stage},
		{"token", "-d", dd, "--path", stage},
		{"load", "-d", dd, "--path", stage, "--dry-run"},
		{"load", "-d", dd, "--path", stage, "--yes"},
		{"datastore", "show", "-d", dd},
		{"datastore", "backups", "-d", dd},
		{"sandbox", "restart", "-d", dd},
		{"check", "-d", dd},
		{"token", "-d", dd},
	}
	for _, args := range script {
		args = append(args, "--product", p)
		fmt.Fprintf(a.stdout, "\n$ k3sca %s\n", strings.Join(args, " "))
		if code := run(cmd.Context(), args, a.stdout, a.stderr); code != exitOK {
			return fmt.Errorf("tour step `k3sca %s` exited %d", strings.Join(args, " "), code)
		}
	}
	fmt.Fprintf(a.stdout, "\nThe sandbox stays in %s; remove it with: rm -rf %s\n", filepath.Dir(dd), filepath.Dir(dd))
	return nil
}

func (a *app) sandboxRestartCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restart",
		Short: "Simulate a k3s server restart on a sandbox: reconcile from the datastore, re-issue leaf certs, rewrite the token",
		Long: "Applies k3s's start-up reconciliation to a sandbox data dir: bootstrap files\n" +
			"are taken from the datastore unless a differing file is at least 3 s newer\n" +
			"on disk (then it aborts, as k3s does), leaf certificates are re-issued and\n" +
			"server/token gets the new CA hash. Refuses any dir not made by `k3sca sandbox`.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, dd, err := a.target()
			if err != nil {
				return err
			}
			rep, err := steps.SimulateRestart(cmd.Context(), dd, p, a.now())
			if err != nil {
				return err
			}
			if len(rep.Updated) == 0 {
				a.printf("simulated restart: the disk already matches the datastore\n")
			} else {
				a.printf("simulated restart: %d bootstrap files taken from the datastore (%s), %d leaf files re-issued\n",
					len(rep.Updated), strings.Join(rep.Updated, ", "), rep.Leaves)
			}
			a.printf("server token now %s\n", rep.Token.Masked())
			return nil
		},
	}
}
