package cluster

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/k3sca/k3sca/product"
	"github.com/k3sca/k3sca/remote"
)

// Hashes and secrets of the fixtures under testdata/nodes.
const (
	oldHash = "d605a3053a2e5568e15272fb49543dce9eae1ef956843321b75a2edc142a7bfa"
	newHash = "600b3ce85b73fa716cab6e8dd8ffe9dd5e9420ef3f57cdd81a61a0213bc89e20"
)

// fixtureSecrets are every password the fixtures hold; no output may
// contain one.
var fixtureSecrets = []string{
	"s3cr3t-PASSWORD-zq9", "ag3nt-PASSWORD-xk7", "other-PASSWORD-qq1", "dbpass-PASSWORD-mm3",
	"inv3nt0ry-PASSWORD-ww2", "not-read-by-k3s", "not-rke2", "PASSWORD",
}

// fixtureProduct is the product a node fixture is probed for.
func fixtureProduct(name string) product.Product {
	if name == "rke2-server" {
		return product.RKE2
	}
	return product.K3s
}

// fixtureNames are the node fixtures.
func fixtureNames(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("testdata/nodes")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// probeFixture probes testdata/nodes/<name> through a local node rooted there.
func probeFixture(t *testing.T, name string) *ProbeResult {
	t.Helper()
	r, err := Probe(context.Background(), dirFiles(t, filepath.Join("testdata/nodes", name)), fixtureProduct(name))
	if err != nil {
		t.Fatalf("probe %s: %v", name, err)
	}
	return r
}

// memFixture loads testdata/nodes/<name> into memory.
func memFixture(t *testing.T, name string) MemFiles {
	t.Helper()
	root := filepath.Join("testdata/nodes", name)
	m := MemFiles{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		m["/"+filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// apply writes a plan's edits into m, checking each file still holds Old.
func apply(t *testing.T, m MemFiles, p *Plan) {
	t.Helper()
	for _, e := range p.Edits {
		if m[e.Path] != string(e.Old) {
			t.Fatalf("%s changed since the probe", e.Path)
		}
		m[e.Path] = string(e.New)
	}
}

// dirFiles is a node's files under root on this machine.
func dirFiles(t testing.TB, root string) Files {
	t.Helper()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := remote.NewLocal(abs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
