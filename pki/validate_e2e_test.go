package pki

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/k3sca/k3sca/product"
)

// The end-to-end tests run the generators, write their staged sets and
// validate the result against a current server dir made the same way.

// e2eGen makes a staged set; curDir is the current server dir, already written.
type e2eGen func(ctx context.Context, t *testing.T, opts GenOptions, curDir string) *StagedSet

func e2eDefault(_ context.Context, t *testing.T, opts GenOptions, _ string) *StagedSet {
	set, err := GenerateDefaultCAs(opts)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func e2eRotation(ctx context.Context, t *testing.T, opts GenOptions, curDir string) *StagedSet {
	set, err := GenerateRotation(ctx, opts, curDir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func readRel(t *testing.T, dir, rel string) []byte {
	t.Helper()
	if rel == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// e2eCustom runs GenerateCustomCA with the current dir's ca/ files named by
// the paths ("" leaves an input nil) and its service.key.
func e2eCustom(rootCert, rootKey, interCert, interKey string) e2eGen {
	return func(ctx context.Context, t *testing.T, opts GenOptions, curDir string) *StagedSet {
		in := CustomCAInput{
			RootCert: readRel(t, curDir, rootCert), RootKey: readRel(t, curDir, rootKey),
			IntermediateCert: readRel(t, curDir, interCert), IntermediateKey: readRel(t, curDir, interKey),
		}
		if _, err := os.Stat(filepath.Join(curDir, ServiceKeyPath)); err == nil {
			in.CurrentServiceKey = readRel(t, curDir, ServiceKeyPath)
		}
		set, err := GenerateCustomCA(ctx, opts, in)
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
}

func e2eServiceKey(ctx context.Context, t *testing.T, opts GenOptions, curDir string) *StagedSet {
	set, err := GenerateServiceKeyRotation(ctx, opts, readRel(t, curDir, ServiceKeyPath))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

var e2eFreshCustom = e2eCustom("", "", "", "")

// hash expectations of the e2e table.
const (
	hashSame          = "same"         // Hash.New == Hash.Old
	hashStagedRoot    = "staged-root"  // SHA-256 of the DER of cert 2 of the staged server-ca.crt
	hashStagedLastDER = "staged-last"  // SHA-256 of the DER of the last cert of the staged server-ca.crt
	hashStagedFile    = "staged-file"  // SHA-256 of the staged server-ca.crt bytes
	hashCurrentFile   = "current-file" // Hash.Old is SHA-256 of the current file bytes
	hashCurrentRoot   = "current-last" // Hash.Old is SHA-256 of the last cert of the current bundle
)

type e2eCase struct {
	name       string
	current    e2eGen
	staged     e2eGen
	force      bool
	wantErrors []string
	wantClass  Class
	wantOld    string
	wantNew    string
	wantWarn   []string // substrings
	noWarn     []string // substrings no warning may contain
}

var e2eCases = []e2eCase{
	{
		name: "default CAs, script-style rotation", current: e2eDefault, staged: e2eRotation,
		wantClass: ClassCrossSigned, wantOld: hashCurrentFile, wantNew: hashStagedRoot,
		noWarn: []string{"private keys", "root-ca.key", "intermediate-ca.key"},
	},
	{
		name: "default CAs replaced by fresh default CAs", current: e2eDefault, staged: e2eDefault,
		wantErrors: append(perCA("{ca}: " + msgSingle)[:4:4], "ServiceKey: "+ErrServiceKeyDropped.Error(), "RequestHeaderCA: "+msgSingle),
		wantClass:  ClassNewRoot, wantOld: hashCurrentFile, wantNew: hashStagedFile,
	},
	{
		name: "default CAs replaced by a custom root", current: e2eDefault, staged: e2eFreshCustom,
		wantErrors: perCA("{ca}: " + msgUnknown), wantClass: ClassNewRoot, wantOld: hashCurrentFile, wantNew: hashStagedLastDER,
	},
	{
		name: "custom root forced onto default CAs", current: e2eDefault, staged: e2eFreshCustom, force: true,
		wantErrors: perCA("{ca}: " + msgUnknown), wantClass: ClassNewRoot, wantOld: hashCurrentFile, wantNew: hashStagedLastDER,
	},
	{
		name: "custom root, new intermediate", current: e2eFreshCustom, staged: e2eCustom(RootCertPath, RootKeyPath, "", ""),
		wantClass: ClassSameRoot, wantOld: hashCurrentRoot, wantNew: hashSame,
	},
	{
		name: "custom root and intermediate kept, new CAs", current: e2eFreshCustom,
		staged:    e2eCustom(RootCertPath, "", IntermediateCertPath, IntermediateKeyPath),
		wantClass: ClassSameRoot, wantOld: hashCurrentRoot, wantNew: hashSame,
	},
	{
		name: "custom root replaced by another", current: e2eFreshCustom, staged: e2eFreshCustom,
		wantErrors: perCA("{ca}: " + msgUnknown), wantClass: ClassNewRoot, wantOld: hashCurrentRoot, wantNew: hashStagedLastDER,
	},
	{
		name: "custom CAs, script-style rotation", current: e2eFreshCustom, staged: e2eRotation,
		wantClass: ClassCrossSigned, wantOld: hashCurrentRoot, wantNew: hashStagedRoot,
	},
	{
		name: "service key rotation", current: e2eDefault, staged: e2eServiceKey,
		wantClass: ClassServiceKeyOnly, wantOld: hashCurrentFile, wantNew: hashSame,
	},
}

func TestValidateE2E(t *testing.T) {
	ctx := context.Background()
	for _, tc := range e2eCases {
		t.Run(tc.name, func(t *testing.T) {
			curDir, stagedDir := t.TempDir(), t.TempDir()
			old := GenOptions{Product: product.K3s, Now: vNow.Add(-30 * 24 * time.Hour), ServiceKeyType: KeyECDSAP256}
			if err := tc.current(ctx, t, old, curDir).Write(ctx, curDir, old.Now); err != nil {
				t.Fatal(err)
			}
			next := GenOptions{Product: product.K3s, Now: vNow.Add(-time.Hour)}
			if err := tc.staged(ctx, t, next, curDir).Write(ctx, stagedDir, next.Now); err != nil {
				t.Fatal(err)
			}
			r, err := Validate(ctx, ValidateInput{CurrentDir: curDir, StagedDir: stagedDir, Now: vNow, Force: tc.force, Product: product.K3s})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			checkE2E(t, tc, r, curDir, stagedDir)
		})
	}
}

func checkE2E(t *testing.T, tc e2eCase, r *Report, curDir, stagedDir string) {
	t.Helper()
	for _, w := range r.Warnings {
		t.Log("warning:", w)
	}
	var want []string
	for _, e := range tc.wantErrors {
		want = append(want, strings.ReplaceAll(e, "{staged}", stagedDir))
	}
	if !slices.Equal(r.Errors, want) {
		t.Errorf("Errors:\n got %q\nwant %q", r.Errors, want)
	}
	if r.Accepted != (len(want) == 0) || r.OK != (r.Accepted || tc.force) {
		t.Errorf("Accepted=%v OK=%v, force=%v", r.Accepted, r.OK, tc.force)
	}
	if r.Class != tc.wantClass {
		t.Errorf("Class = %q, want %q", r.Class, tc.wantClass)
	}
	if got := e2eHash(t, tc.wantOld, curDir, r); r.Hash.Old != got {
		t.Errorf("Hash.Old = %s, want %s (%s)", r.Hash.Old, got, tc.wantOld)
	}
	if got := e2eHash(t, tc.wantNew, stagedDir, r); r.Hash.New != got {
		t.Errorf("Hash.New = %s, want %s (%s)", r.Hash.New, got, tc.wantNew)
	}
	for _, w := range tc.wantWarn {
		w = strings.ReplaceAll(w, "{staged}", stagedDir)
		if !slices.ContainsFunc(r.Warnings, func(x string) bool { return strings.Contains(x, w) }) {
			t.Errorf("no warning contains %q; warnings:\n%s", w, strings.Join(r.Warnings, "\n"))
		}
	}
	for _, w := range tc.noWarn {
		if slices.ContainsFunc(r.Warnings, func(x string) bool { return strings.Contains(x, w) }) {
			t.Errorf("a warning contains %q; warnings:\n%s", w, strings.Join(r.Warnings, "\n"))
		}
	}
}

// e2eHash computes an expected hash from the files, independently of HashCA.
func e2eHash(t *testing.T, kind, dir string, r *Report) string {
	t.Helper()
	if kind == hashSame {
		return r.Hash.Old
	}
	data := readRel(t, dir, "tls/server-ca.crt")
	certs, err := ParseCertsPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	switch kind {
	case hashStagedRoot:
		return sha(certs[1].Raw)
	case hashStagedLastDER, hashCurrentRoot:
		return sha(certs[len(certs)-1].Raw)
	}
	return sha(data)
}
