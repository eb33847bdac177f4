package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

func TestShowDatastore(t *testing.T) {
	tests := []struct {
		name       string
		token      func(sb *sandbox.Sandbox) string
		extraKey   bool
		wantKeys   int
		wantFields bool
		wantNote   string
	}{
		{name: "opens with the server token", wantKeys: 1, wantFields: true},
		{name: "another token lists the keys", wantKeys: 1, wantNote: "does not hold",
			token: func(sb *sandbox.Sandbox) string { return pki.FormatToken(sb.Token.CAHash, "server:other") }},
		{name: "two keys are listed and flagged", extraKey: true, wantKeys: 2, wantFields: true, wantNote: "more than one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			if tc.extraKey {
				stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
					_, err := db.Create(ctx, datastore.StorageKey("other"), []byte("x:y"))
					return err
				})
			}
			before := testkit.DumpSQLite(t, sandboxtest.DBPath(sb))
			token := ""
			if tc.token != nil {
				token = tc.token(sb)
			}
			rep, err := ShowDatastore(context.Background(), stInput(sb, "", ViaAuto).Access, token)
			if err != nil {
				t.Fatal(err)
			}
			notes := strings.Join(rep.Notes, "\n")
			if len(rep.Keys) != tc.wantKeys || (len(rep.Fields) > 0) != tc.wantFields || !strings.Contains(notes, tc.wantNote) {
				t.Errorf("%d keys, %d fields, notes %q; want %d keys, fields %t, a note with %q",
					len(rep.Keys), len(rep.Fields), notes, tc.wantKeys, tc.wantFields, tc.wantNote)
			}
			for _, f := range rep.Fields {
				if f.Disk != "equal" || f.AtNextStart != string(datastore.OutcomeNone) {
					t.Errorf("%s: disk %s, next start %s; a fresh sandbox matches its datastore", f.Field, f.Disk, f.AtNextStart)
				}
			}
			if testkit.DumpSQLite(t, sandboxtest.DBPath(sb)) != before {
				t.Error("show changed the database")
			}
		})
	}
}
