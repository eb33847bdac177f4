package node

import (
	"context"
	"fmt"
	"sync"
)

// FakeServices is an in-memory ServiceManager for tests: units start in the
// state given and every call is recorded. OnStart, when set, runs after a
// start (a sandbox uses it to simulate what k3s does when it starts).
type FakeServices struct {
	mu     sync.Mutex
	active map[string]bool
	calls  []string
	// FailStart makes Start of that unit fail.
	FailStart string
	// OnStart runs after a unit starts.
	OnStart func(ctx context.Context, unit string) error
}

// NewFakeServices returns a fake whose listed units are running.
func NewFakeServices(running ...string) *FakeServices {
	f := &FakeServices{active: map[string]bool{}}
	for _, u := range running {
		f.active[u] = true
	}
	return f
}

// IsActive implements ServiceManager.
func (f *FakeServices) IsActive(_ context.Context, unit string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active[unit], nil
}

// Stop implements ServiceManager.
func (f *FakeServices) Stop(_ context.Context, unit string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop "+unit)
	f.active[unit] = false
	return nil
}

// Start implements ServiceManager.
func (f *FakeServices) Start(ctx context.Context, unit string) error {
	f.mu.Lock()
	f.calls = append(f.calls, "start "+unit)
	if unit == f.FailStart {
		f.mu.Unlock()
		return fmt.Errorf("start %s: job failed (fake)", unit)
	}
	f.active[unit] = true
	hook := f.OnStart
	f.mu.Unlock()
	if hook != nil {
		return hook(ctx, unit)
	}
	return nil
}

// Name implements ServiceManager.
func (f *FakeServices) Name() string { return "fake" }

// Calls returns the stop and start calls, in order.
func (f *FakeServices) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}
