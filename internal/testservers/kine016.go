package testservers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kine016KV is a key as kine v0.16.4 (the kine of k3s v1.36) serves it
// through the etcd v3 API.
type Kine016KV struct {
	Key            string `json:"key"`
	Value          []byte `json:"value"`
	CreateRevision int64  `json:"create_revision"`
	ModRevision    int64  `json:"mod_revision"`
}

// Kine016Get starts kine v0.16.4 on the SQLite file dbPath the way k3s v1.36
// does, Gets key through an etcd v3 client and returns its value and
// revisions as kine reports them. Any failure (build, start, read, absent
// key) is fatal. kine must not be running on dbPath already.
func Kine016Get(t testing.TB, dbPath, key string) (value []byte, createRev, modRev int64) {
	t.Helper()
	kv, err := Kine016TryGet(t, dbPath, key)
	if err != nil {
		t.Fatal(err)
	}
	return kv.Value, kv.CreateRevision, kv.ModRevision
}

// Kine016TryGet is Kine016Get that returns kine's failure as an error
// (carrying the program's stderr, e.g. kine's SQL scan error) instead of
// failing the test. Failing to build the program is still fatal.
func Kine016TryGet(t testing.TB, dbPath, key string) (Kine016KV, error) {
	t.Helper()
	bin := kine016Binary(t)
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return Kine016KV{}, fmt.Errorf("kine v0.16.4 get %s: %w", key, err)
	}
	cmd := exec.Command(bin, abs, key)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	t.Logf("kine v0.16.4 get %s on %s: %v (%s)", key, abs, err, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return Kine016KV{}, fmt.Errorf("kine v0.16.4 get %s on %s: %w: %s", key, abs, err, strings.TrimSpace(stderr.String()))
	}
	var kv Kine016KV
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 64<<20)
	if !sc.Scan() {
		return Kine016KV{}, fmt.Errorf("kine v0.16.4 get %s: no output (stderr: %s)", key, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(sc.Bytes(), &kv); err != nil {
		return Kine016KV{}, fmt.Errorf("kine v0.16.4 get %s: parse %q: %w", key, sc.Text(), err)
	}
	if kv.Key != key {
		return Kine016KV{}, fmt.Errorf("kine v0.16.4 get %s: answered for key %q", key, kv.Key)
	}
	return kv, nil
}

var kine016 struct {
	once sync.Once
	bin  string
	err  error
}

// kine016Binary builds testdata/kine016 (its own module, requiring kine
// v0.16.4) once per test process and returns the executable's path. It uses
// `go run -exec echo`: the go command links the program into its build cache
// (Go ≥ 1.24 caches go run executables) and prints that path, so nothing is
// left in temp dirs and a warm build only checks staleness. CGO_ENABLED=0
// selects kine's modernc.org/sqlite driver; -mod=mod lets the go command
// fetch the module's dependencies from the module proxy.
func kine016Binary(t testing.TB) string {
	t.Helper()
	kine016.once.Do(func() {
		start := time.Now()
		kine016.bin, kine016.err = buildKine016()
		t.Logf("built the kine v0.16.4 test program in %s: %s", time.Since(start).Round(time.Millisecond), kine016.bin)
	})
	if kine016.err != nil {
		t.Fatal(kine016.err)
	}
	return kine016.bin
}

func buildKine016() (string, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("build kine v0.16.4 test program: cannot locate internal/testservers")
	}
	dir := filepath.Join(filepath.Dir(self), "..", "..", "testdata", "kine016")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("build kine v0.16.4 test program: %w", err)
	}
	// go test puts its own GOROOT/bin first on PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build kine v0.16.4 test program: the go tool is needed: %w", err)
	}
	echo, err := exec.LookPath("echo")
	if err != nil {
		return "", fmt.Errorf("build kine v0.16.4 test program: %w", err)
	}
	// A cold build links into the go command's temp dir, prints that path
	// and removes it when go run exits; the executable is in the cache
	// then, so the next go run prints the cached path. Test processes
	// building it at the same time see this, hence the retries.
	var bin string
	for attempt := 1; ; attempt++ {
		cmd := exec.Command(goTool, "run", "-buildvcs=false", "-exec", echo, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("build kine v0.16.4 test program in %s: %w\n%s", dir, err, stderr.String())
		}
		bin = strings.TrimSpace(stdout.String())
		fi, err := os.Stat(bin)
		if err == nil && fi.Mode().IsRegular() {
			break
		}
		if attempt == 3 {
			return "", fmt.Errorf("build kine v0.16.4 test program: go run -exec printed %q, not an executable (%v)", bin, err)
		}
	}
	return bin, nil
}
