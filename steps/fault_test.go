package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/sandbox"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// Environment of the child process of TestLoadKilled.
const (
	stEnvDataDir = "K3SCA_ST_FAULT_DATA_DIR"
	stEnvStage   = "K3SCA_ST_FAULT_STAGE"
	stEnvPoint   = "K3SCA_ST_FAULT_POINT"
	stEnvNow     = "K3SCA_ST_FAULT_NOW"
	stEnvRestore = "K3SCA_ST_FAULT_RESTORE" // a backup: restore it instead of loading
)

// TestFaultHelperProcess is the child of TestLoadKilled: it runs one load
// and SIGKILLs itself at the hook point named in the environment. It does
// nothing in a normal test run.
func TestFaultHelperProcess(t *testing.T) {
	testkit.ChildOnly(t)
	dataDir := os.Getenv(stEnvDataDir)
	point := os.Getenv(stEnvPoint)
	unix, err := strconv.ParseInt(os.Getenv(stEnvNow), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	in := LoadInput{
		DataDir: dataDir, Staged: os.Getenv(stEnvStage), Now: time.Unix(unix, 0).UTC(), Product: product.K3s,
		Access: AccessInput{DataDir: dataDir, Via: ViaSQLite, Product: product.K3s, Services: node.NewFakeServices()},
		Hook: func(p string) {
			fmt.Println(p) // lets the parent time the phases
			if p == point {
				testkit.KillSelf()
			}
		},
	}
	testkit.Ready()
	if backup := os.Getenv(stEnvRestore); backup != "" {
		r := NewRestore(RestoreInput{DataDir: dataDir, BackupPath: backup, Access: in.Access, Now: in.Now, Hook: in.Hook})
		if _, err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := NewLoad(in).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// stRunChild runs one load in a child process. With delay >= 0 the parent
// SIGKILLs the child delay after it reported ready. It returns whether the
// child was killed and when, after ready, it passed each hook point.
func stRunChild(t *testing.T, sb *sandbox.Sandbox, stage, point string, now time.Time, delay time.Duration) (killed bool, at map[string]time.Duration) {
	t.Helper()
	return stRunChildEnv(t, sb, point, now, delay, stEnvStage+"="+stage)
}

// stRunChildEnv is stRunChild with the child's own environment (a stage,
// or a backup to restore).
func stRunChildEnv(t *testing.T, sb *sandbox.Sandbox, point string, now time.Time, delay time.Duration, env ...string) (killed bool, at map[string]time.Duration) {
	t.Helper()
	c := testkit.StartChild(t, "TestFaultHelperProcess", append([]string{stEnvDataDir + "=" + sb.DataDir,
		stEnvPoint + "=" + point, stEnvNow + "=" + strconv.FormatInt(now.Unix(), 10)}, env...)...)
	if delay >= 0 {
		c.KillAfter(delay)
	}
	r := c.Wait()
	at = map[string]time.Duration{"exit": r.Exit}
	for _, l := range r.Lines {
		at[l.Text] = l.At
	}
	return r.Killed, at
}

// TestLoadKilled is the spec's crash guarantee: the write process killed at
// each point between backup and verify, and at random moments (inside the
// SQLite transaction too), leaves state.db intact, holding either the old or
// the new value and never a third; a later load still succeeds.
func TestLoadKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	sb := sandboxtest.New(t)
	// Two different staged sets: each load picks the one the datastore does
	// not hold, since loading the held set writes nothing.
	stages := []string{sandboxtest.Stage(t, sb), sandboxtest.Stage(t, sb)}
	stage := stages[0]
	type tc struct {
		name, point string
		delay       time.Duration // -1: no asynchronous kill
		wantNew     bool          // for hook points: which value must be there
		hook        bool
	}
	cases := []tc{
		{name: "after-backup", point: "after-backup", delay: -1, hook: true},
		{name: "after-write", point: "after-write", delay: -1, hook: true, wantNew: true},
		{name: "after-verify", point: "after-verify", delay: -1, hook: true, wantNew: true},
	}
	// Time an unkilled load, then kill at random moments (fixed seed): a third
	// over the whole run, the rest between backup and write, where the SQLite
	// transaction runs.
	now := testkit.Now
	old := stDecrypt(t, sb, stKV(t, sb).Value)
	killed, at := stRunChild(t, sb, stage, "", now, -1)
	if killed || !bytes.Equal(stDecrypt(t, sb, stKV(t, sb).Value), stExpectedPlain(t, sb, stage, now)) || bytes.Equal(old, stExpectedPlain(t, sb, stage, now)) {
		t.Fatalf("unkilled child: killed %t or value is not the new one", killed)
	}
	t.Logf("an unkilled load passes its hook points at %v after ready", at)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 36 {
		// A third over the whole run, a third inside the backup, a third
		// between the backup and the write (the SQLite transaction).
		lo, hi := time.Duration(0), at["exit"]
		switch i % 3 {
		case 1:
			hi = at["after-backup"]
		case 2:
			lo, hi = at["after-backup"], at["after-write"]
		}
		d := lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
		cases = append(cases, tc{name: fmt.Sprintf("random-%02d-%v", i, d.Round(time.Microsecond)), delay: d})
	}
	var sawOld, sawNew, killedN int
	for _, c := range cases {
		now = now.Add(time.Minute) // each load stamps, and so encrypts, a different plaintext
		stage := stPickStage(t, sb, stages)
		oldPlain := stDecrypt(t, sb, stKV(t, sb).Value)
		newPlain := stExpectedPlain(t, sb, stage, now)
		killed, _ := stRunChild(t, sb, stage, c.point, now, c.delay)
		if killed {
			killedN++
		}
		if c.hook && !killed {
			t.Fatalf("%s: the child was not killed", c.name)
		}
		stCheckAfterKill(t, sb, c.name)
		plain, err := datastore.Decrypt(stPass(sb), stKV(t, sb).Value) // stKV runs integrity_check
		if err != nil {
			t.Fatalf("%s (killed %t): the datastore holds a third value: %v", c.name, killed, err)
		}
		isOld, isNew := bytes.Equal(plain, oldPlain), bytes.Equal(plain, newPlain)
		switch {
		case !isOld && !isNew:
			t.Fatalf("%s (killed %t): the datastore holds a third value", c.name, killed)
		case c.hook && isNew != c.wantNew:
			t.Errorf("%s: new value present %t, want %t", c.name, isNew, c.wantNew)
		case isNew:
			sawNew++
		default:
			sawOld++
		}
		t.Logf("%s: killed %t, holds the %s value", c.name, killed, map[bool]string{true: "new", false: "old"}[isNew])
	}
	t.Logf("kill points of a load: %d runs, %d killed, old value %d, new value %d, broken 0; an unkilled load takes %v",
		len(cases), killedN, sawOld, sawNew, at["exit"].Round(time.Millisecond))

	now = now.Add(time.Minute)
	stage = stPickStage(t, sb, stages)
	if killed, _ := stRunChild(t, sb, stage, "", now, -1); killed {
		t.Fatal("final load was killed")
	}
	if got := stDecrypt(t, sb, stKV(t, sb).Value); !bytes.Equal(got, stExpectedPlain(t, sb, stage, now)) {
		t.Error("a load after the crashes did not store its value")
	}
	// The final load removed what the kills left of backups.
	if inc, err := IncompleteBackups(sb.DataDir); err != nil || len(inc) != 0 {
		t.Errorf("incomplete backups after a completed load: %v, %v", inc, err)
	}
	stCheckAfterKill(t, sb, "final load")
	// Backups are written atomically: a kill leaves none torn.
	bks, err := ListBackups(sb.DataDir)
	if err != nil || len(bks) == 0 {
		t.Fatalf("backups after the crashes: %d, %v", len(bks), err)
	}
	for _, b := range bks {
		if _, err := datastore.Decrypt(stPass(sb), []byte(b.Value)); err != nil {
			t.Errorf("backup %s: %v", b.Path, err)
		}
	}
}

// TestDryRunAfterCrash: a load killed after its write leaves the committed
// value in state.db-wal. A dry run must read that value (not the stale main
// file) and change neither state.db nor the -wal file. SQLite rebuilds the
// -shm index when it reads a WAL nobody has open, so -shm is not compared.
func TestDryRunAfterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	if killed, _ := stRunChild(t, sb, stage, "after-write", testkit.Now, -1); !killed {
		t.Fatal("the child was not killed")
	}
	db := sandboxtest.DBPath(sb)
	sum := func() string {
		var b strings.Builder
		for _, p := range []string{db, db + "-wal"} {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%v (the crash should leave a WAL)", err)
			}
			fi, _ := os.Stat(p)
			fmt.Fprintf(&b, "%s %x %d\n", p, sha256.Sum256(data), fi.ModTime().UnixNano())
		}
		return b.String()
	}
	before := sum()
	in := stInput(sb, stage, ViaAuto)
	in.DryRun, in.Now = true, testkit.Now.Add(time.Minute)
	l := NewLoad(in)
	defer l.Close()
	if _, err := l.Preview(context.Background()); err != nil {
		t.Fatalf("preview: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if after := sum(); after != before {
		t.Errorf("dry run changed the database:\n%s\n%s", before, after)
	}
	if got := stKV(t, sb); l.Plan().Revision != got.ModRevision || !bytes.Equal(l.Plan().current.Plain, stExpectedPlain(t, sb, stage, testkit.Now)) {
		t.Errorf("dry run read revision %d, the committed one is %d", l.Plan().Revision, got.ModRevision)
	}
}

// stPickStage returns the first staged set whose server CA differs from the
// one the datastore holds.
func stPickStage(t *testing.T, sb *sandbox.Sandbox, stages []string) string {
	t.Helper()
	held, err := datastore.DecodeBootstrap(stDecrypt(t, sb, stKV(t, sb).Value))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stages {
		ca, err := os.ReadFile(pki.ServerCAPath(st))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ca, held["ServerCA"].Content) {
			return st
		}
	}
	t.Fatal("every staged set is already in the datastore")
	return ""
}

// stCheckAfterKill asserts what must hold after any kill: state.db passes
// its integrity check and holds exactly one live bootstrap key; the backup
// dir reads (nothing torn is taken for a backup); and every private key
// under the server dir outside tls/ and cred/ lies in a complete backup or
// in a piece `datastore backups` lists as incomplete.
func stCheckAfterKill(t *testing.T, sb *sandbox.Sandbox, name string) {
	t.Helper()
	stWrite(t, sb, func(ctx context.Context, db *datastore.SQLite) error {
		if err := db.IntegrityCheck(ctx); err != nil {
			return err
		}
		keys, err := db.List(ctx, datastore.BootstrapPrefix)
		if err != nil {
			return err
		}
		if len(keys) != 1 {
			t.Errorf("%s: %d live bootstrap keys, want 1", name, len(keys))
		}
		return nil
	})
	bks, err := ListBackups(sb.DataDir)
	if err != nil {
		t.Fatalf("%s: datastore backups fails: %v", name, err)
	}
	inc, err := IncompleteBackups(sb.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	var accounted []string
	for _, b := range bks {
		accounted = append(accounted, filepath.Dir(b.Path))
	}
	accounted = append(accounted, inc...)
	for _, d := range []string{pki.TLSDir, "cred"} {
		accounted = append(accounted, filepath.Join(sb.ServerDir, d))
	}
	err = filepath.WalkDir(sb.ServerDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, a := range accounted {
			if strings.HasPrefix(p, a+string(filepath.Separator)) {
				return nil
			}
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte("PRIVATE KEY")) {
			t.Errorf("%s: %s holds a private key outside a complete or listed backup", name, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRestoreKilled: a restore killed at each point and at random moments
// leaves state.db intact with one key, the value it replaced or the
// backup's never a mix, and no private key outside a complete or listed
// backup; a later restore still succeeds.
func TestRestoreKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	ctx := context.Background()
	sb := sandboxtest.New(t)
	l := NewLoad(stInput(sb, sandboxtest.Stage(t, sb), ViaSQLite))
	if _, err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// Two backups of different content: the value before the load (the
	// load's backup) and the loaded one (a backup of it).
	loaded, err := saveBackup(ctx, sb.DataDir, stKV(t, sb), "", "", ViaSQLite, testkit.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	backups := []string{l.Result().Backup, loaded.Path}
	// pick is the backup whose content the datastore does not hold.
	pick := func() string {
		live, err := datastore.DecodeBootstrap(stDecrypt(t, sb, stKV(t, sb).Value))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range backups {
			b, err := ReadBackup(p)
			if err != nil {
				t.Fatal(err)
			}
			held, err := datastore.DecodeBootstrap(stDecrypt(t, sb, []byte(b.Value)))
			if err != nil {
				t.Fatal(err)
			}
			if len(live.Diff(held)) > 0 {
				return p
			}
		}
		t.Fatal("the datastore holds both backups")
		return ""
	}
	// restored is the plaintext a restore of path at now stores.
	restored := func(path string, now time.Time) []byte {
		b, err := ReadBackup(path)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := restamp(stDecrypt(t, sb, []byte(b.Value)), stPass(sb), now)
		if err != nil {
			t.Fatal(err)
		}
		return stDecrypt(t, sb, enc)
	}
	now := testkit.Now.Add(time.Hour)
	killed, at := stRunChildEnv(t, sb, "", now, -1, stEnvRestore+"="+pick())
	if killed {
		t.Fatal("unkilled restore was killed")
	}
	type tc struct {
		name, point string
		delay       time.Duration
	}
	cases := []tc{{"after-backup", "after-backup", -1}, {"before-write", "before-write", -1}, {"after-write", "after-write", -1}}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 24 {
		lo, hi := time.Duration(0), at["exit"]
		if i%2 == 1 {
			hi = at["after-backup"]
		}
		d := lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
		cases = append(cases, tc{name: fmt.Sprintf("random-%02d-%v", i, d.Round(time.Microsecond)), delay: d})
	}
	var sawOld, sawNew, killedN int
	for _, c := range cases {
		now = now.Add(time.Minute)
		backup := pick()
		oldValue := stKV(t, sb).Value
		want := restored(backup, now)
		killed, _ := stRunChildEnv(t, sb, c.point, now, c.delay, stEnvRestore+"="+backup)
		if killed {
			killedN++
		}
		stCheckAfterKill(t, sb, c.name)
		got := stKV(t, sb).Value
		isOld := bytes.Equal(got, oldValue)
		isNew := bytes.Equal(stDecrypt(t, sb, got), want)
		switch {
		case !isOld && !isNew:
			t.Fatalf("%s (killed %t): the datastore holds a third value", c.name, killed)
		case c.point == "after-write" && !isNew, (c.point == "after-backup" || c.point == "before-write") && !isOld:
			t.Errorf("%s: holds the new value %t", c.name, isNew)
		case isNew:
			sawNew++
		default:
			sawOld++
		}
	}
	t.Logf("kill points of a restore: %d runs, %d killed, old value %d, new value %d, broken 0; an unkilled restore takes %v",
		len(cases), killedN, sawOld, sawNew, at["exit"].Round(time.Millisecond))
	now = now.Add(time.Minute)
	backup := pick()
	if killed, _ := stRunChildEnv(t, sb, "", now, -1, stEnvRestore+"="+backup); killed {
		t.Fatal("final restore was killed")
	}
	if got := stDecrypt(t, sb, stKV(t, sb).Value); !bytes.Equal(got, restored(backup, now)) {
		t.Error("a restore after the kills did not store the backup")
	}
	if inc, err := IncompleteBackups(sb.DataDir); err != nil || len(inc) != 0 {
		t.Errorf("incomplete backups after a completed restore: %v, %v", inc, err)
	}
	stCheckAfterKill(t, sb, "final restore")
}
