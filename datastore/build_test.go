package datastore

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/pki"
)

// buildNow is the pinned load time of these tests.
var buildNow = time.Date(2026, 9, 1, 12, 0, 0, 250000000, time.UTC)

// bWrite writes root/rel with content and sets its mtime.
func bWrite(t *testing.T, root, rel, content string, mtime time.Time) {
	t.Helper()
	p := testkit.WriteFile(t, filepath.Join(root, filepath.FromSlash(rel)), []byte(content), 0o600)
	testkit.SetMtime(t, p, mtime)
}

// currentServer lays out a server dir holding every bootstrap file except
// the secrets-encryption ones; each file's content is "cur:<field>".
func currentServer(t *testing.T, mtime time.Time) string {
	t.Helper()
	d := t.TempDir()
	for _, f := range pki.BootstrapFields {
		if !f.SecretsEncryption {
			bWrite(t, d, f.Path, "cur:"+f.Name, mtime)
		}
	}
	return d
}

func TestBuild(t *testing.T) {
	old := buildNow.Add(-48 * time.Hour)
	cur := currentServer(t, old)
	staged := t.TempDir()
	bWrite(t, staged, "tls/server-ca.crt", "new:ServerCA", old)
	bWrite(t, staged, "tls/server-ca.key", "new:ServerCAKey", old)
	bWrite(t, staged, "tls/etcd/peer-ca.crt", "new:ETCDPeerCA", old)
	bWrite(t, staged, "tls/client-ca.crt", "", old)                 // empty: defaulted to current
	bWrite(t, staged, "cred/passwd", "new:PasswdFile", old)         // not rotatable: ignored
	bWrite(t, staged, "cred/encryption-config.json", "new:EC", old) // not rotatable: ignored

	tests := []struct {
		name       string
		in         BuildInput
		wantStaged []string
		fromStaged map[string]bool
		wantErr    bool
	}{
		{"staged", BuildInput{CurrentDir: cur, StagedDir: staged, Now: buildNow},
			[]string{"ETCDPeerCA", "ServerCA", "ServerCAKey"},
			map[string]bool{"ETCDPeerCA": true, "ServerCA": true, "ServerCAKey": true}, false},
		{"current only", BuildInput{CurrentDir: cur, Now: buildNow}, nil, nil, false},
		{"zero time", BuildInput{CurrentDir: cur, StagedDir: staged}, nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, fromStaged, err := Build(context.Background(), tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromStaged, tc.wantStaged) {
				t.Errorf("staged fields %v, want %v", fromStaged, tc.wantStaged)
			}
			if len(got) != 13 {
				t.Errorf("%d entries, want 13 (no secrets-encryption files)", len(got))
			}
			for name, e := range got {
				want := "cur:" + name
				if tc.fromStaged[name] {
					want = "new:" + name
				}
				if string(e.Content) != want {
					t.Errorf("%s = %q, want %q", name, e.Content, want)
				}
				if !e.Timestamp.Equal(buildNow) {
					t.Errorf("%s stamped %s, want the load time", name, e.Timestamp)
				}
			}
			// The purpose of stamping Now: no server aborts on its own older files.
			for _, st := range got.CompareDisk(cur) {
				if st.Outcome == OutcomeConflict {
					t.Errorf("%s: conflict against the current server", st.Field)
				}
			}
		})
	}
}

func TestBuildMissingCurrentOmitted(t *testing.T) {
	cur := t.TempDir()
	bWrite(t, cur, "tls/server-ca.crt", "cur", buildNow)
	bWrite(t, cur, "cred/encryption-state.json", "start-x", buildNow)
	got, _, err := Build(context.Background(), BuildInput{CurrentDir: cur, StagedDir: filepath.Join(cur, "absent"), Now: buildNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["EncryptionHash"].Content) != "start-x" {
		t.Errorf("got %v", got)
	}
}

func TestReadFromDisk(t *testing.T) {
	mt := time.Date(2026, 8, 12, 10, 0, 0, 123456789, time.UTC)
	cur := currentServer(t, mt)
	if err := os.Remove(filepath.Join(cur, "cred", "ipsec.psk")); err != nil {
		t.Fatal(err)
	}
	bWrite(t, cur, "cred/passwd", "", mt)
	got, err := ReadFromDisk(context.Background(), cur)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["IPSECKey"]; ok || len(got) != 12 {
		t.Errorf("%d entries (IPSECKey present: %v), want 12 without IPSECKey", len(got), ok)
	}
	for name, e := range got {
		if !e.Timestamp.Equal(mt) {
			t.Errorf("%s timestamp %s, want mtime %s", name, e.Timestamp, mt)
		}
	}
	if c := got["PasswdFile"].Content; c == nil || len(c) != 0 {
		t.Errorf("empty file content = %#v, want non-nil empty", c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadFromDisk(ctx, cur); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestCompareDisk(t *testing.T) {
	ts := time.Date(2026, 9, 1, 12, 0, 10, 900000000, time.UTC) // .9 s: whole-second truncation matters
	dir := currentServer(t, ts.Add(-time.Hour))
	bWrite(t, dir, "tls/server-ca.crt", "disk", ts.Add(2*time.Second))                    // 12 - 10 = 2
	bWrite(t, dir, "tls/client-ca.crt", "disk", ts.Add(2200*time.Millisecond))            // 13 - 10 = 3
	bWrite(t, dir, "tls/service.key", "disk", ts.Add(-time.Minute))                       // older
	bWrite(t, dir, "tls/request-header-ca.crt", "cur:RequestHeaderCA", ts.Add(time.Hour)) // equal, newer
	store := Bootstrap{
		"ServerCA":        {Timestamp: ts, Content: []byte("store")},
		"ClientCA":        {Timestamp: ts, Content: []byte("store")},
		"ServiceKey":      {Timestamp: ts, Content: []byte("store")},
		"RequestHeaderCA": {Timestamp: ts, Content: []byte("cur:RequestHeaderCA")},
		"EncryptionHash":  {Timestamp: ts, Content: []byte("start-x")},
		"Future":          {Timestamp: ts, Content: []byte("?")},
	}
	want := map[string]struct {
		state   DiskState
		outcome Outcome
	}{
		"ServiceKey":      {DiskDiffers, OutcomeDatastoreWins},
		"ServerCA":        {DiskDiffers, OutcomeDatastoreWins},
		"ClientCA":        {DiskDiffers, OutcomeConflict},
		"RequestHeaderCA": {DiskEqual, OutcomeNone},
		"EncryptionHash":  {DiskMissing, OutcomeDatastoreWins},
		"Future":          {DiskUnknownField, OutcomeNone},
	}
	got := store.CompareDisk(dir)
	order := []string{}
	for _, st := range got {
		order = append(order, st.Field)
		w := want[st.Field]
		if st.State != w.state || st.Outcome != w.outcome {
			t.Errorf("%s: %s / %s, want %s / %s", st.Field, st.State, st.Outcome, w.state, w.outcome)
		}
	}
	wantOrder := []string{"ServerCA", "ClientCA", "ServiceKey", "RequestHeaderCA", "EncryptionHash", "Future"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("order %v, want %v", order, wantOrder)
	}
	// With tls/etcd empty, k3s writes every entry without comparing.
	for _, f := range []string{"server-ca.crt", "server-ca.key", "peer-ca.crt", "peer-ca.key"} {
		if err := os.Remove(filepath.Join(dir, "tls", "etcd", f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range store.CompareDisk(dir) {
		if st.State != DiskUnknownField && st.Outcome != OutcomeDatastoreWins {
			t.Errorf("empty tls/etcd: %s: %s, want datastore wins", st.Field, st.Outcome)
		}
	}
}
