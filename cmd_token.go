package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/k3sca/k3sca/steps"
)

type tokenStateJ struct {
	Hash   string `json:"hash"`
	Method string `json:"method"`
	Token  string `json:"token,omitempty"`
}

type tokenJSON struct {
	Current tokenStateJ  `json:"current"`
	New     *tokenStateJ `json:"new,omitempty"`
	// Flow is the report of the flow that computed it, as `k3sca run`
	// prints it; its outcome holds the token masked, whatever
	// --show-token says.
	Flow *steps.Report `json:"flow,omitempty"`
}

func (a *app) tokenCommand() *cobra.Command {
	var path string
	var show bool
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Show the join-token CA hash and token, now and after a staged rotation",
		Long: "Computes the CA hash exactly as k3s does (raw file bytes for one cert, the\n" +
			"verified chain root for a bundle). The token's secret is masked unless\n" +
			"--show-token is given. It is the token step of the CA flows of `k3sca run`,\n" +
			"on the same engine.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := a.output("text", "json")
			if err != nil {
				return err
			}
			env, err := a.commandEnv(cmd, "k3sca token", false)
			if err != nil {
				return err
			}
			c, err := steps.TokenCommand(env, path)
			if err != nil {
				return err
			}
			flow, err := a.runSingle(cmd.Context(), c, confirmFlags{}, out)
			rep := c.Tokens()
			if err != nil || rep == nil {
				return flowExit(err)
			}
			j := tokenJSON{Current: tokenStateOf(rep.Current, show)}
			if rep.New != nil {
				n := tokenStateOf(*rep.New, show)
				j.New = &n
			}
			if out == "json" {
				j.Flow = &flow
				return writeJSON(a.stdout, j)
			}
			writeTokenText(a, "current", j.Current)
			if j.New != nil {
				writeTokenText(a, "new", *j.New)
				if j.New.Hash != j.Current.Hash {
					a.printf("the CA hash changes: every node joined with a secure token needs the new token\n")
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "staged dir holding tls/, to show the token after loading it")
	cmd.Flags().BoolVar(&show, keyShowToken, false, "print the full token (it holds the server password)")
	a.addAlias(cmd, "show-secret", keyShowToken, func(f *pflag.FlagSet, name string) { f.BoolVar(&show, name, false, "") })
	addOutputFlag(cmd.Flags(), "text or json")
	return cmd
}

func tokenStateOf(s steps.TokenState, show bool) tokenStateJ {
	j := tokenStateJ{Hash: s.Hash.Hex, Method: string(s.Hash.Method)}
	if s.Token != nil {
		j.Token = s.Token.Masked()
		if show {
			j.Token = s.Token.String()
		}
	}
	return j
}

func writeTokenText(a *app, label string, s tokenStateJ) {
	_, _ = fmt.Fprintf(a.stdout, "%-8s hash  %s (%s)\n", label, s.Hash, s.Method)
	if s.Token != "" {
		_, _ = fmt.Fprintf(a.stdout, "%-8s token %s\n", label, s.Token)
	}
}
