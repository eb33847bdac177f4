package steps

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/internal/testkit"
	"github.com/k3sca/k3sca/sandbox/sandboxtest"
)

const stEnvHold = "K3SCA_ST_HOLD_EXCLUSIVE"

// TestBusyHelperProcess is the child of TestLoadBusySQLite: it holds
// BEGIN EXCLUSIVE on the database named in the environment until killed.
func TestBusyHelperProcess(t *testing.T) {
	testkit.ChildOnly(t)
	path := os.Getenv(stEnvHold)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	testkit.Ready()
	select {}
}

// TestLoadBusySQLite: with state.db held by BEGIN EXCLUSIVE in another
// process, a load waits --timeout (not 30 s), writes nothing and says which
// process holds the file and what to do.
func TestLoadBusySQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	sb := sandboxtest.New(t)
	stage := sandboxtest.Stage(t, sb)
	// Write once, so the file is in WAL mode as kine leaves it.
	before := stKV(t, sb)
	holder := testkit.StartChild(t, "TestBusyHelperProcess", stEnvHold+"="+sandboxtest.DBPath(sb))
	in := stInput(sb, stage, ViaSQLite)
	in.Access.Timeout = 300 * time.Millisecond
	l := NewLoad(in)
	defer l.Close()
	start := time.Now()
	_, err := l.Run(context.Background())
	took := time.Since(start)
	pid := fmt.Sprintf("(pid %d)", holder.Pid())
	if !errors.Is(err, datastore.ErrBusy) || !strings.Contains(err.Error(), "waited 300ms") || !strings.Contains(err.Error(), pid) {
		t.Fatalf("load: %v; want ErrBusy after 300ms naming %s", err, pid)
	}
	t.Logf("load: %v", err)
	if took > 5*time.Second {
		t.Errorf("the load took %v with --timeout 300ms", took)
	}
	holder.Kill()
	stSameKV(t, stKV(t, sb), before)
}

// TestEtcdTimeout: a closed etcd endpoint fails within --timeout.
func TestEtcdTimeout(t *testing.T) {
	sb := sandboxtest.New(t)
	in := stInput(sb, sandboxtest.Stage(t, sb), ViaEtcd)
	in.Access.Etcd = datastore.EtcdConfig{Endpoints: []string{fmt.Sprintf("http://127.0.0.1:%d", stFreePort(t))}}
	in.Access.Timeout = 300 * time.Millisecond
	l := NewLoad(in)
	defer l.Close()
	start := time.Now()
	_, err := l.Preview(context.Background())
	if took := time.Since(start); !errors.Is(err, datastore.ErrUnreachable) || took > 2*time.Second {
		t.Fatalf("preview: %v after %v; want unreachable within about 300ms", err, took)
	}
}
