package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/k3sca/k3sca/steps"
)

func (a *app) datastoreCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "datastore",
		Short: "Inspect the bootstrap data in the datastore, list backups, restore one",
	}
	cmd.AddCommand(a.datastoreShowCommand(), a.datastoreBackupsCommand(), a.datastoreRestoreCommand())
	return cmd
}

func (a *app) datastoreBackupsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backups",
		Short: "List the bootstrap backups k3sca made, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := a.output("text", "json")
			if err != nil {
				return err
			}
			dd, err := a.dataDir()
			if err != nil {
				return err
			}
			list, err := steps.ListBackupEntries(dd)
			if err != nil {
				return err
			}
			if out == "json" {
				// The shape scripts read: the backup's record with its
				// file, or only the file of an incomplete one.
				type row struct {
					*steps.Backup
					File string `json:"file"`
					// Incomplete marks what a killed run left: not a backup.
					Incomplete bool `json:"incomplete"`
				}
				rows := []row{}
				for _, e := range list {
					rows = append(rows, row{Backup: e.Backup, File: e.Path, Incomplete: e.Incomplete})
				}
				return writeJSON(a.stdout, rows)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CREATED\tKEY\tREVISION\tVIA\tFLOW\tSTATUS\tCA HASH\tFILE\tDATASTORE COPY")
			var incomplete []string
			for _, b := range list {
				if b.Incomplete {
					incomplete = append(incomplete, b.Path)
					fmt.Fprintf(tw, "-\t-\t-\t-\t-\t%s\t-\t%s\t-\n", b.Status(), b.Path)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Created.Format("2006-01-02T15:04:05Z"), b.Key, b.Revision, b.Via, orDash(b.Flow), b.Status(), orDash(b.CAHash), b.Path, copyColumn(b.Backup.DatastoreCopy))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, b := range list {
				if b.Backup == nil {
					continue
				}
				if c := b.Backup.DatastoreCopy; c != nil && c.Taken {
					a.printf("restore %s: %s\n", c.Path, c.HowToRestore)
				}
			}
			for _, p := range incomplete {
				a.printf("%s\n", steps.IncompleteNote(p))
			}
			return nil
		},
	}
	addOutputFlag(cmd.Flags(), "text or json")
	return cmd
}

// copyColumn is the DATASTORE COPY cell of a backup: the copy's path and
// kind, "none" (only the bootstrap value), or "-" for a backup of a
// version that took no copy.
func copyColumn(c *steps.DatastoreCopy) string {
	switch {
	case c == nil:
		return "-"
	case c.Kind == steps.CopyNone:
		return "none"
	}
	return fmt.Sprintf("%s (%s)", c.Path, c.Kind)
}

func (a *app) datastoreRestoreCommand() *cobra.Command {
	var o confirmFlags
	cmd := &cobra.Command{
		Use:   "restore BACKUP",
		Short: "Put a backed-up bootstrap value back (compare-and-swap; the replaced value is backed up too)",
		Long: "Writes the backup (see k3sca datastore backups) back into the datastore. It is\n" +
			"the restore step of `k3sca run datastore --restore BACKUP` (which also stops\n" +
			"k3s when the write needs it and starts it again), on the same engine: it\n" +
			"needs --yes --confirm restore (exit 2 without them, nothing written);\n" +
			"--dry-run shows the plan.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("restore takes exactly one backup file (see k3sca datastore backups)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := a.output("text", "json")
			if err != nil {
				return err
			}
			env, err := a.commandEnv(cmd, "k3sca datastore restore", o.dryRun)
			if err != nil {
				return err
			}
			c, err := steps.RestoreCommand(env, args[0])
			if err != nil {
				return err
			}
			err = a.runAndReport(cmd.Context(), c, o, format)
			if errors.Is(err, steps.ErrK3sRunning) {
				a.printf("%s\n", flowHint("k3sca run datastore --restore "+args[0]+" -d "+env.DataDir+" --yes --confirm restore"))
			}
			return err
		},
	}
	addConfirmFlags(cmd, &o, "print what would change and change nothing", "restore")
	addOutputFlag(cmd.Flags(), "text or json (the flow report, as k3sca run prints it)")
	a.addDatastoreFlags(cmd)
	return cmd
}

func (a *app) datastoreShowCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Every /bootstrap key, the fields of the one this token opens, and how each compares with the disk",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := a.output("text", "json")
			if err != nil {
				return err
			}
			acc, err := a.accessInput()
			if err != nil {
				return err
			}
			rep, err := steps.ShowDatastore(cmd.Context(), acc, a.v.GetString(keyToken))
			if err != nil {
				return err
			}
			if out == "json" {
				return writeJSON(a.stdout, rep)
			}
			a.printf("datastore: %s\n", rep.Reason)
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tREVISION\tSIZE\tTOKEN")
			for _, k := range rep.Keys {
				opens := ""
				if k.Opens {
					opens = "opens"
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", k.Key, k.Revision, k.Size, opens)
			}
			for _, n := range rep.Notes {
				fmt.Fprintf(tw, "note: %s\n", n)
			}
			if len(rep.Fields) == 0 {
				return tw.Flush()
			}
			fmt.Fprintln(tw, "\nFIELD\tTIMESTAMP\tSIZE\tSHA256\tDISK\tAT NEXT START")
			for _, f := range rep.Fields {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", f.Field, f.Timestamp.UTC().Format("2006-01-02T15:04:05Z"), f.Size, f.SHA256[:16], f.Disk, f.AtNextStart)
			}
			return tw.Flush()
		},
	}
	a.addDatastoreFlags(cmd)
	addOutputFlag(cmd.Flags(), "text or json")
	return cmd
}

// orDash is s, or "-" when it is empty (a value not recorded).
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
