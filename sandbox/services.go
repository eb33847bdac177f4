package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/k3sca/k3sca/datastore"
	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/node"
	"github.com/k3sca/k3sca/product"
)

// sandboxServiceFile holds the sandbox's pretend k3s state: "active",
// "inactive" (stopped) or "failed" (its last start failed, as systemd
// marks a unit whose start failed). A sandbox without it (made before the
// file existed) is stopped.
const sandboxServiceFile = ".k3sca-service"

// Sandbox service states as written to sandboxServiceFile.
const (
	stateActive   = "active"
	stateInactive = "inactive"
	stateFailed   = "failed"
)

// Services is the ServiceManager of a sandbox data dir. Its state
// lives in <DataDir>/.k3sca-service so that it survives between commands; a
// new sandbox is stopped, as k3s after its first start, so direct SQLite
// writes are allowed. Starting the server unit simulates what a k3s server
// start does to the data dir (SimulateRestart). Every call refuses a data dir
// that is not a sandbox.
type Services struct {
	// DataDir is the sandbox data dir.
	DataDir string
	// Product is the sandbox's product; the zero value takes it from the
	// server unit started (k3s or rke2-server).
	Product product.Product
	// Now is the clock of the simulated restart (nil: time.Now).
	Now func() time.Time
	// Serve keeps the simulated supervisor listener running on 127.0.0.1
	// after a start, in this process, until Stop or Close, so the restart
	// step can probe it as it probes a real server's 6443 (SupervisorURL).
	Serve bool
	// Etcd, when set, is the datastore the sandbox server runs on, as a
	// k3s server on embedded etcd (a real etcd a test starts, holding the
	// bootstrap key), instead of kine over server/db/state.db.
	Etcd *datastore.EtcdConfig

	mu  sync.Mutex
	lst *supervisorListener
}

var _ node.ServiceManager = (*Services)(nil)

// IsActive implements ServiceManager: only the server unit ever runs.
func (s *Services) IsActive(_ context.Context, unit string) (bool, error) {
	if _, ok := s.serverProduct(unit); !ok {
		return false, s.check()
	}
	state, err := s.State(context.Background(), unit)
	return state == stateActive, err
}

// State is the unit's recorded state: "active", "inactive" or "failed"
// (the server unit; any other unit is inactive).
func (s *Services) State(_ context.Context, unit string) (string, error) {
	if _, ok := s.serverProduct(unit); !ok {
		return stateInactive, s.check()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readState()
}

// Stop implements ServiceManager: it marks the server stopped.
func (s *Services) Stop(_ context.Context, unit string) error {
	if _, ok := s.serverProduct(unit); !ok {
		return s.unknownUnit(unit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeListener()
	return s.write(false)
}

// Close stops the simulated listener, if one runs; the recorded state is
// kept.
func (s *Services) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeListener()
	return nil
}

func (s *Services) closeListener() {
	_ = s.lst.Close()
	s.lst = nil
}

// SupervisorURL implements SupervisorLocator: the simulated listener's URL
// while it serves (Serve), else not probeable. A sandbox server recorded
// as running but started by another process serves again here, with the
// certificate and CA it started with (its disk), as a running k3s does.
func (s *Services) SupervisorURL(string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lst == nil && s.Serve {
		if active, err := s.read(); err == nil && active {
			s.lst, _ = attachSupervisor(product.ServerDir(s.DataDir))
		}
	}
	if s.lst == nil {
		return "", false
	}
	return s.lst.URL, true
}

// Start implements ServiceManager: it simulates a k3s server start on the
// sandbox (reconcile from the datastore, re-issue leaf certificates, rewrite
// the token), then marks the server running. A failed simulation leaves it
// stopped, as a k3s that exits at start-up.
func (s *Services) Start(ctx context.Context, unit string) error {
	p, ok := s.serverProduct(unit)
	if !ok {
		return s.unknownUnit(unit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	s.closeListener()
	var store sandboxStore
	if s.Etcd != nil {
		store = etcdStore(*s.Etcd)
	}
	_, lst, err := simulateStart(ctx, s.DataDir, p, s.now(), store)
	if err != nil {
		_ = writeSandboxState(s.DataDir, stateFailed, s.now())
		return fmt.Errorf("start %s (simulated): %w", unit, err)
	}
	if s.Serve {
		s.lst = lst
	} else {
		_ = lst.Close()
	}
	return s.write(true)
}

// now reads the injected clock (nil: time.Now).
func (s *Services) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Name implements ServiceManager.
func (s *Services) Name() string { return "sandbox" }

// Command implements node.Commander: `k3sca sandbox VERB -d DATADIR`.
func (s *Services) Command(verb, _ string) string {
	return "k3sca sandbox " + verb + " -d " + s.DataDir
}

// serverProduct reports whether unit is the sandbox's server unit and for
// which product.
func (s *Services) serverProduct(unit string) (product.Product, bool) {
	if s.Product != (product.Product{}) {
		return s.Product, unit == s.Product.ServerUnit()
	}
	for _, n := range product.Names {
		if p, err := product.Parse(n); err == nil && unit == p.ServerUnit() {
			return p, true
		}
	}
	return product.Product{}, false
}

func (s *Services) unknownUnit(unit string) error {
	if err := s.check(); err != nil {
		return err
	}
	return fmt.Errorf("sandbox %s: no unit %q: a sandbox runs only the server unit", s.DataDir, unit)
}

// check refuses a data dir that is not a sandbox.
func (s *Services) check() error {
	if s.DataDir == "" || !node.IsSandbox(s.DataDir) {
		return fmt.Errorf("sandbox service manager on %q: %w", s.DataDir, node.ErrNotSandbox)
	}
	return nil
}

func (s *Services) read() (bool, error) {
	state, err := s.readState()
	return state == stateActive, err
}

func (s *Services) readState() (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	return readSandboxState(s.DataDir)
}

// readSandboxState reads the state recorded in dataDir; none recorded is
// inactive.
func readSandboxState(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, sandboxServiceFile))
	if errors.Is(err, fs.ErrNotExist) {
		return stateInactive, nil
	}
	if err != nil {
		return "", fmt.Errorf("read sandbox service state: %w", err)
	}
	switch state := string(bytes.TrimSpace(b)); state {
	case stateActive, stateInactive, stateFailed:
		return state, nil
	default:
		return "", fmt.Errorf("sandbox service state %q in %s: want %s, %s or %s", state,
			filepath.Join(dataDir, sandboxServiceFile), stateActive, stateInactive, stateFailed)
	}
}

func (s *Services) write(active bool) error {
	if err := s.check(); err != nil {
		return err
	}
	state := stateInactive
	if active {
		state = stateActive
	}
	return writeSandboxState(s.DataDir, state, s.now())
}

// writeSandboxState records the sandbox's service state (stateActive,
// stateInactive, stateFailed).
func writeSandboxState(dataDir string, state string, now time.Time) error {
	if err := fsutil.WriteFile(filepath.Join(dataDir, sandboxServiceFile), []byte(state+"\n"), fsutil.ModePublic, now); err != nil {
		return fmt.Errorf("sandbox service state: %w", err)
	}
	return nil
}
