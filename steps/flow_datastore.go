package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/k3sca/k3sca/internal/words"
)

// datastoreSpec is the menu entry of "Datastore: show, backups, restore".
func datastoreSpec() FlowSpec {
	return FlowSpec{
		ID: FlowDatastore, Title: "Datastore: show, backups, restore",
		Summary: "the bootstrap data in the datastore next to the files on disk",
		Fields: []Field{{Key: "restore", Label: "backup to restore", Kind: FieldBackup, Optional: true,
			Help: "a backup of this data dir (listed below, as k3sca datastore backups prints them); empty: only show"}},
		Build: buildDatastore,
	}
}

func buildDatastore(_ context.Context, env Env, vals map[string]string) (*Flow, error) {
	if err := requireServer(env); err != nil {
		return nil, err
	}
	r := newRun(env)
	backup := strings.TrimSpace(vals["restore"])
	show := &Task{
		ID:    "show",
		Title: "Bootstrap data in the datastore and on disk",
		Run: func(ctx context.Context, _ func(string)) (*Outcome, error) {
			rep, err := ShowDatastore(ctx, r.env.access(), r.env.Token)
			if err != nil {
				return nil, err
			}
			out := &Outcome{Data: rep, Summary: fmt.Sprintf("%s via %s; key %s at revision %d", words.Plural(len(rep.Keys), "bootstrap key"), rep.Via, rep.Key, rep.Revision)}
			for _, f := range rep.Fields {
				out.Details = append(out.Details, fmt.Sprintf("%-22s %-8s %s", f.Field, f.Disk, f.AtNextStart))
			}
			out.Warnings = rep.Notes
			return out, nil
		},
	}
	list := &Task{
		ID:    "backups",
		Title: "Backups",
		Run: func(context.Context, func(string)) (*Outcome, error) {
			bs, err := ListBackups(r.env.DataDir)
			if err != nil {
				return nil, err
			}
			out := &Outcome{Data: bs, Summary: fmt.Sprintf("%s in %s", words.Plural(len(bs), "backup"), BackupDir(r.env.DataDir))}
			for _, b := range bs {
				out.Details = append(out.Details, fmt.Sprintf("%s  rev %d via %s  %s", b.Created.UTC().Format("2006-01-02 15:04:05"), b.Revision, b.Via, b.Path))
			}
			incomplete, err := IncompleteBackups(r.env.DataDir)
			if err != nil {
				return nil, err
			}
			for _, p := range incomplete {
				out.Warnings = append(out.Warnings, IncompleteNote(p))
			}
			return out, nil
		},
	}
	rs := r.restoreTask(backup)
	tasks := []*Task{show, list}
	if backup != "" {
		tasks = append(tasks, r.stopForWriteTask(), rs, r.startTask("restart", "Restart k3s on this server"), r.lastTask(restartPutBack))
	} else {
		// Nothing to restore: a step that only says so and writes nothing,
		// so showing the datastore needs no --yes.
		tasks = append(tasks, &Task{ID: "restore", Title: "Restore a backup", Skip: rs.Skip})
	}
	return r.flow(FlowDatastore, "Datastore", tasks...), nil
}
