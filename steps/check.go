package steps

import (
	"context"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// CheckInput configures Check.
type CheckInput struct {
	// DataDir is the k3s data dir; Services limits the leaf services (empty: all).
	DataDir  string
	Services []string
	// Product names files and services.
	Product product.Product
	// Now is the clock; Window the renewal window (k3s: 120 days).
	Now    time.Time
	Window time.Duration
}

// Check inventories the CA and leaf certificates of a data dir with their
// expiry status, like `k3s certificate check`.
func Check(ctx context.Context, in CheckInput) (*pki.Inventory, error) {
	return pki.Inspect(ctx, pki.InspectOptions{
		DataDir: in.DataDir, Services: in.Services, Now: in.Now, RenewWindow: in.Window, Product: in.Product,
	})
}
