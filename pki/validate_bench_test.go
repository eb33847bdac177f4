package pki

import (
	"context"
	"testing"
	"time"

	"github.com/k3sca/k3sca/product"
)

// BenchmarkValidateAndHash validates a full staged custom CA set (a new
// intermediate under the current root, five CAs, service.key) against a
// current custom set: k3s's checks, both CA hashes, classification and warnings.
func BenchmarkValidateAndHash(b *testing.B) {
	ctx := context.Background()
	curDir, stagedDir := b.TempDir(), b.TempDir()
	cur, err := GenerateCustomCA(ctx, GenOptions{Product: product.K3s, Now: vNow.Add(-30 * 24 * time.Hour)}, CustomCAInput{})
	if err != nil {
		b.Fatal(err)
	}
	if err := cur.Write(ctx, curDir, vNow); err != nil {
		b.Fatal(err)
	}
	rootCert, _ := cur.File(RootCertPath)
	rootKey, _ := cur.File(RootKeyPath)
	svc, _ := cur.File(ServiceKeyPath)
	in := CustomCAInput{RootCert: rootCert.Data, RootKey: rootKey.Data, CurrentServiceKey: svc.Data}
	next, err := GenerateCustomCA(ctx, GenOptions{Product: product.K3s, Now: vNow.Add(-time.Hour)}, in)
	if err != nil {
		b.Fatal(err)
	}
	if err := next.Write(ctx, stagedDir, vNow); err != nil {
		b.Fatal(err)
	}
	vin := ValidateInput{CurrentDir: curDir, StagedDir: stagedDir, Now: vNow, Product: product.K3s}
	b.ReportAllocs()
	for b.Loop() {
		r, err := Validate(ctx, vin)
		if err != nil {
			b.Fatal(err)
		}
		if !r.Accepted || r.Class != ClassSameRoot || r.Hash.New != r.Hash.Old {
			b.Fatalf("unexpected report: accepted=%v class=%s errors=%q", r.Accepted, r.Class, r.Errors)
		}
	}
}
