package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/steps"
)

// Exit conventions of check and run check (--exit-codes).
const (
	exitCodesDefault = "default"
	exitCodesNagios  = "nagios"
)

// Default Nagios thresholds: x509-certificate-exporter's alerting rules
// warn 28 days and page 14 days before a certificate expires, so a node
// watched by both says the same thing at the same time. k3s renews a leaf
// at its start from 120 days (90 before 2025-05) before expiry: a
// certificate within 28 days has been due for a restart for three months.
const (
	defaultWarnDays = 28
	defaultCritDays = 14
)

// checkExit is how check and run check turn a report into an exit code:
// one mapping for both, set from their flags.
type checkExit struct {
	codes              string
	warnDays, critDays int
	zero               bool
}

// addCheckExitFlags adds the exit flags to check and run check.
func (a *app) addCheckExitFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.ce.codes, "exit-codes", exitCodesDefault, "exit codes: default (0 all OK, 1 a certificate needs attention) or nagios (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)")
	f.IntVar(&a.ce.warnDays, "warn-days", defaultWarnDays, "--exit-codes nagios: WARNING when a certificate expires within this many days")
	f.IntVar(&a.ce.critDays, "crit-days", defaultCritDays, "--exit-codes nagios: CRITICAL when a certificate expires within this many days (or is expired or not yet valid)")
	f.BoolVar(&a.ce.zero, "exit-zero", false, "exit 0 whatever the certificates say (a Kubernetes CronJob); an error that prevents the report still fails")
}

// checkExitMode validates the exit flags before anything runs; in nagios
// mode every later error exits UNKNOWN (exitCode).
func (a *app) checkExitMode() error {
	switch a.ce.codes {
	case exitCodesDefault:
	case exitCodesNagios:
		a.nagios = true
	default:
		return usagef("--exit-codes %q: want %s or %s", a.ce.codes, exitCodesDefault, exitCodesNagios)
	}
	if a.ce.warnDays < 0 || a.ce.critDays < 0 || a.ce.critDays > a.ce.warnDays {
		return usagef("--warn-days %d and --crit-days %d: want 0 <= crit-days <= warn-days", a.ce.warnDays, a.ce.critDays)
	}
	return nil
}

func (a *app) checkCommand() *cobra.Command {
	var services []string
	var textfile string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Report every certificate in the data dir with its expiry status",
		Long: "Lists the certificates like `k3s certificate check`: every certificate of\n" +
			"every service file (the CA certificates in each included), in k3s's order,\n" +
			"then k3sca's own rows: the CA files, the certificates of the admin\n" +
			"kubeconfig (/etc/rancher/<product>/<product>.yaml) and the datastore's CAs\n" +
			"when the datastore can be read. -o json and -o yaml are k3s's documents\n" +
			"(k3sca's rows carry a Source field k3s's never have); -o prometheus is the\n" +
			"node_exporter textfile format with x509-certificate-exporter's metrics,\n" +
			"written atomically to --textfile FILE.prom or to stdout.\n\n" +
			"Exits 1 when any certificate is expired, not yet valid or inside the\n" +
			"renewal window (--renew-days, default 120); --exit-codes nagios exits as a\n" +
			"Nagios plugin (--warn-days, --crit-days) and prints its status line first;\n" +
			"--exit-zero always exits 0 once the report is written.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkExitMode(); err != nil {
				return err
			}
			out, err := a.output("text", "table", "json", "yaml", "prometheus")
			if err != nil {
				return err
			}
			if textfile != "" && (out != "prometheus" || !strings.HasSuffix(textfile, ".prom")) {
				return usagef("--textfile %s: takes -o prometheus and a name ending in .prom (node_exporter's textfile collector reads only *.prom)", textfile)
			}
			inv, window, err := a.runCheck(cmd, services)
			if err != nil {
				return err
			}
			if err := a.writeInventory(inv, out, textfile); err != nil {
				return err
			}
			return a.checkVerdict(inv, window)
		},
	}
	stringSliceVarP(cmd.Flags(), &services, "service", "s", "services to check, comma-separated (default all)")
	addOutputFlag(cmd.Flags(), "text, table, json, yaml (k3s's documents) or prometheus")
	cmd.Flags().Int(keyRenewDays, defaultRenewDays, "renewal window in days (default: the window of the k3s version found; k3s renews leaf certs within 120 days of expiry, 90 before the 2025-05 releases)")
	cmd.Flags().StringVar(&textfile, "textfile", "", "with -o prometheus: write the metrics atomically to this file (node_exporter --collector.textfile.directory) instead of stdout")
	a.addCheckExitFlags(cmd)
	a.addDatastoreFlags(cmd)
	return cmd
}

// runCheck runs the check flow (the flow `k3sca run check` runs) without
// progress lines and returns its report; its notes go to stderr.
func (a *app) runCheck(cmd *cobra.Command, services []string) (*pki.Inventory, time.Duration, error) {
	p, dd, err := a.target()
	if err != nil {
		return nil, 0, err
	}
	access, err := a.accessInput()
	if err != nil {
		return nil, 0, err
	}
	k3s := node.DetectK3sVersion(cmd.Context(), node.VersionInput{DataDir: dd, Product: p, Services: access.Services, ServerURL: a.v.GetString(keyServer), Now: a.now})
	window, why, err := a.renewWindow(cmd, k3s)
	if err != nil {
		return nil, 0, err
	}
	if why != "" {
		a.printf("%s\n", why)
	}
	env := steps.Env{DataDir: dd, Product: p, Now: a.now, Window: window, Services: access.Services, Access: access, Local: localClusters,
		Token: a.v.GetString(keyToken), ServerURL: a.v.GetString(keyServer), K3s: k3s}.WithDefaults()
	spec, _ := steps.FindFlow(steps.Flows(), steps.FlowCheck)
	flow, err := spec.Build(cmd.Context(), env, map[string]string{"services": strings.Join(services, ",")})
	if errors.Is(err, pki.ErrUnknownService) {
		return nil, 0, usageError{err}
	}
	if err != nil {
		return nil, 0, err
	}
	rep, err := (&steps.Runner{}).Run(cmd.Context(), flow)
	if err != nil {
		return nil, 0, err
	}
	for _, st := range rep.Steps {
		if st.Outcome == nil {
			continue
		}
		for _, w := range st.Outcome.Warnings {
			if !strings.HasPrefix(w, "rotate: ") && !strings.HasPrefix(w, "CA ") {
				a.printf("note: %s\n", w)
			}
		}
	}
	inv := checkReport(rep)
	if inv == nil {
		return nil, 0, errors.New("the check flow returned no report")
	}
	return inv, window, nil
}

// checkReport is the inventory of a check flow's report.
func checkReport(rep steps.Report) *pki.Inventory {
	for _, st := range rep.Steps {
		if st.Outcome != nil {
			if inv, ok := st.Outcome.Data.(*pki.Inventory); ok {
				return inv
			}
		}
	}
	return nil
}

// checkVerdict is the exit of a check and of run check.
func (a *app) checkVerdict(inv *pki.Inventory, window time.Duration) error {
	var finding error
	if a.nagios {
		h := a.health(inv)
		if h.State != pki.StateOK {
			finding = monitorError{code: int(h.State), msg: "certificates " + h.State.String()}
		}
	} else if inv.NeedsAttention() {
		finding = attentionError{fmt.Sprintf("some certificates are expired, not yet valid or expire within %d days", int(window/(24*time.Hour)))}
	}
	if finding != nil && a.ce.zero {
		a.printf("%s (--exit-zero: exit 0)\n", finding)
		return nil
	}
	return finding
}

// health is the Nagios verdict at the thresholds of the flags.
func (a *app) health(inv *pki.Inventory) pki.Health {
	return inv.Health(a.now(), days(a.ce.warnDays), days(a.ce.critDays))
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// writeInventory renders the report: one renderer per format.
func (a *app) writeInventory(inv *pki.Inventory, out, textfile string) error {
	var b bytes.Buffer
	var err error
	switch out {
	case "json":
		var j []byte
		if j, err = inv.K3sJSON(); err == nil {
			b.Write(j)
		}
	case "yaml":
		var y []byte
		if y, err = inv.K3sYAML(); err == nil {
			b.Write(y)
		}
	case "prometheus":
		err = inv.WritePrometheus(&b, a.now())
	case "table":
		err = inv.WriteTable(&b)
	default:
		if a.nagios {
			h := a.health(inv)
			fmt.Fprintln(&b, h.Line(a.now(), days(a.ce.warnDays), days(a.ce.critDays)))
		}
		err = inv.WriteText(&b, inv.TLSDir)
		if err == nil && len(inv.Missing) > 0 {
			a.printf("%d listed files are not present (agent files, legacy certs k3s deletes at start); see -o table\n", len(inv.Missing))
		}
	}
	if err != nil {
		return err
	}
	if textfile != "" {
		// node_exporter runs unprivileged: the metrics are public.
		if err := fsutil.WriteFile(textfile, b.Bytes(), fsutil.ModePublic, a.now()); err != nil {
			return fmt.Errorf("write --textfile: %w", err)
		}
		return nil
	}
	_, err = a.stdout.Write(b.Bytes())
	return err
}
