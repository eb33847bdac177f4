package steps

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/k3sca/k3sca/internal/testkit"

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
	stReadyLine  = "k3sca-st-ready"
)

// TestFaultHelperProcess is the child of TestLoadKilled: it runs one load
// and SIGKILLs itself at the hook point named in the environment. It does
// nothing in a normal test run.
func TestFaultHelperProcess(t *testing.T) {
	dataDir := os.Getenv(stEnvDataDir)
	if dataDir == "" {
		t.Skip("child process of TestLoadKilled only")
	}
	point := os.Getenv(stEnvPoint)
	unix, err := strconv.ParseInt(os.Getenv(stEnvNow), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	in := LoadInput{
		DataDir: dataDir, Staged: os.Getenv(stEnvStage), Now: time.Unix(unix, 0).UTC(), Product: product.K3s,
		Access: AccessInput{DataDir: dataDir, Via: ViaSQLite, Product: product.K3s, Services: stServices{}},
		Hook: func(p string) {
			fmt.Println(p) // lets the parent time the phases
			if p == point {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		},
	}
	fmt.Println(stReadyLine)
	if _, err := NewLoad(in).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// stRunChild runs one load in a child process. With delay >= 0 the parent
// SIGKILLs the child delay after it reported ready. It returns whether the
// child was killed and when, after ready, it passed each hook point.
func stRunChild(t *testing.T, sb *Sandbox, stage, point string, now time.Time, delay time.Duration) (killed bool, at map[string]time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), stEnvDataDir+"="+sb.DataDir, stEnvStage+"="+stage,
		stEnvPoint+"="+point, stEnvNow+"="+strconv.FormatInt(now.Unix(), 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil || line != stReadyLine+"\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not report ready: %q %v; stderr %s", line, err, stderr.String())
	}
	ready := time.Now()
	if delay >= 0 {
		timer := time.AfterFunc(delay, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	at = map[string]time.Duration{}
	var rest strings.Builder
	for sc := bufio.NewScanner(r); sc.Scan(); {
		at[sc.Text()] = time.Since(ready)
		rest.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	at["exit"] = time.Since(ready)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, at
		}
	}
	if err != nil {
		t.Fatalf("child failed: %v\nstdout %s\nstderr %s", err, rest.String(), stderr.String())
	}
	return false, at
}

// TestLoadKilled is the spec's crash guarantee: the write process killed at
// each point between backup and verify, and at random moments (inside the
// SQLite transaction too), leaves state.db intact, holding either the old or
// the new value and never a third; a later load still succeeds.
func TestLoadKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	sb := stSandbox(t)
	// Two different staged sets: each load picks the one the datastore does
	// not hold, since loading the held set writes nothing.
	stages := []string{stStage(t, sb), stStage(t, sb)}
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
	for i := range 24 {
		lo, hi := time.Duration(0), at["exit"]
		if i%3 != 0 {
			lo, hi = at["after-backup"], at["after-write"]
		}
		d := lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
		cases = append(cases, tc{name: fmt.Sprintf("random-%02d-%v", i, d.Round(time.Microsecond)), delay: d})
	}
	var sawOld, sawNew int
	for _, c := range cases {
		now = now.Add(time.Minute) // each load stamps, and so encrypts, a different plaintext
		stage := stPickStage(t, sb, stages)
		oldPlain := stDecrypt(t, sb, stKV(t, sb).Value)
		newPlain := stExpectedPlain(t, sb, stage, now)
		killed, _ := stRunChild(t, sb, stage, c.point, now, c.delay)
		if c.hook && !killed {
			t.Fatalf("%s: the child was not killed", c.name)
		}
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
	t.Logf("kills left the old value %d times, the new one %d times", sawOld, sawNew)

	now = now.Add(time.Minute)
	stage = stPickStage(t, sb, stages)
	if killed, _ := stRunChild(t, sb, stage, "", now, -1); killed {
		t.Fatal("final load was killed")
	}
	if got := stDecrypt(t, sb, stKV(t, sb).Value); !bytes.Equal(got, stExpectedPlain(t, sb, stage, now)) {
		t.Error("a load after the crashes did not store its value")
	}
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
	sb := stSandbox(t)
	stage := stStage(t, sb)
	if killed, _ := stRunChild(t, sb, stage, "after-write", testkit.Now, -1); !killed {
		t.Fatal("the child was not killed")
	}
	db := stDBPath(sb)
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
func stPickStage(t *testing.T, sb *Sandbox, stages []string) string {
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
