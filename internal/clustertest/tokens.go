// Package clustertest holds test helpers about the nodes of a cluster.
package clustertest

import (
	"context"
	"testing"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// TokenHashes are the CA hashes of every full token kept on the k3s node
// whose "/" is root (a sandbox cluster's node), as the rollout's probe
// finds them.
func TokenHashes(t testing.TB, root string) []string {
	t.Helper()
	host, err := remote.NewLocal(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	probe, err := cluster.Probe(context.Background(), host, product.K3s)
	if err != nil {
		t.Fatal(err)
	}
	var hs []string
	for _, pl := range probe.Places {
		if pl.PinsCA() {
			hs = append(hs, pl.CAHash)
		}
	}
	return hs
}
