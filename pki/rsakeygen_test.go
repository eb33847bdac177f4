package pki

import (
	"context"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkRSAKey fails t unless key is a sound RSA key of nlen bits by
// FIPS 186-5: exact modulus size, e = 65537, two distinct primes of
// nlen/2 bits (top two bits set) far enough apart, gcd(e, p-1) = 1,
// d > 2^(nlen/2) with d·e ≡ 1 mod lcm(p-1, q-1), and crypto/rsa's Validate.
func checkRSAKey(t *testing.T, key *rsa.PrivateKey, nlen int) {
	t.Helper()
	one := big.NewInt(1)
	if key.N.BitLen() != nlen {
		t.Errorf("modulus has %d bits, want %d", key.N.BitLen(), nlen)
	}
	if key.E != 65537 {
		t.Errorf("e = %d, want 65537", key.E)
	}
	if err := key.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if len(key.Primes) != 2 {
		t.Fatalf("%d primes, want 2", len(key.Primes))
	}
	p, q := key.Primes[0], key.Primes[1]
	diff := new(big.Int).Sub(p, q)
	if diff.Abs(diff).Cmp(new(big.Int).Lsh(one, uint(nlen/2-100))) <= 0 {
		t.Errorf("|p-q| = %v is not above 2^%d", diff, nlen/2-100)
	}
	e := big.NewInt(65537)
	for i, x := range key.Primes {
		if x.BitLen() != nlen/2 || x.Bit(nlen/2-2) != 1 {
			t.Errorf("prime %d: %d bits, second bit %d; want %d bits with the top two set", i, x.BitLen(), x.Bit(nlen/2-2), nlen/2)
		}
		if !x.ProbablyPrime(20) {
			t.Errorf("prime %d is composite: %v", i, x)
		}
		if g := new(big.Int).GCD(nil, nil, e, new(big.Int).Sub(x, one)); g.Cmp(one) != 0 {
			t.Errorf("prime %d: gcd(e, p-1) = %v", i, g)
		}
	}
	if key.D.Cmp(new(big.Int).Lsh(one, uint(nlen/2))) <= 0 {
		t.Errorf("d = %v is not above 2^%d", key.D, nlen/2)
	}
	pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	lambda := new(big.Int).Mul(pm1, qm1)
	lambda.Quo(lambda, new(big.Int).GCD(nil, nil, pm1, qm1))
	if de := new(big.Int).Mul(key.D, e); de.Mod(de, lambda).Cmp(one) != 0 {
		t.Errorf("d·e mod lcm(p-1, q-1) = %v, want 1", de)
	}
}

// TestRSAKeySizes: a key of each RSA size is sound (checkRSAKey), signs a
// certificate crypto/x509 verifies, and openssl accepts both the key
// (rsa -check) and the certificate (verify).
func TestRSAKeySizes(t *testing.T) {
	tests := []struct {
		typ  KeyType
		nlen int
	}{
		{KeyRSA2048, 2048},
		{KeyRSA3072, 3072},
		{KeyRSA4096, 4096},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			signer, err := tt.typ.Generate(nil)
			if err != nil {
				t.Fatal(err)
			}
			key, ok := signer.(*rsa.PrivateKey)
			if !ok {
				t.Fatalf("Generate returned a %T", signer)
			}
			checkRSAKey(t, key, tt.nlen)
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rsa-keygen-test"},
				NotBefore: gtNow, NotAfter: gtNow.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
				KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignatureFrom(cert); err != nil {
				t.Errorf("crypto/x509: %v", err)
			}
			if _, err := exec.LookPath("openssl"); err != nil {
				t.Skip("openssl is not installed")
			}
			dir := t.TempDir()
			keyPEM, err := EncodeKey(key)
			if err != nil {
				t.Fatal(err)
			}
			keyFile, certFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
			if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"rsa", "-check", "-noout", "-in", keyFile},
				// -attime: the certificate is valid at gtNow, whatever today is.
				{"verify", "-attime", fmt.Sprint(gtNow.Add(time.Minute).Unix()), "-CAfile", certFile, certFile},
			} {
				if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
					t.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
		})
	}
}

// TestGenKeysDistinctPrimes: the RSA keys of one set share the pool but
// never a prime, and each is sound.
func TestGenKeysDistinctPrimes(t *testing.T) {
	reqs := []keyReq{{"root CA", KeyRSA2048}, {"server CA", KeyECDSAP256}, {"intermediate CA", KeyRSA2048}, {"service key", KeyRSA2048}}
	keys, err := genKeys(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	var primes []string
	for i, k := range keys {
		key, ok := k.(*rsa.PrivateKey)
		if !ok {
			continue
		}
		t.Run(reqs[i].label, func(t *testing.T) { checkRSAKey(t, key, 2048) })
		for _, p := range key.Primes {
			primes = append(primes, p.String())
		}
	}
	slices.Sort(primes)
	if len(primes) != 6 || len(slices.Compact(primes)) != 6 {
		t.Fatalf("the 3 keys have %d distinct primes of %d, want 6", len(slices.Compact(primes)), len(primes))
	}
}

// TestRSAKeyCancelled: a cancelled context returns its error and no key,
// and the workers end; with one worker, cancelling after the first
// candidate stops the search before the next one.
func TestRSAKeyCancelled(t *testing.T) {
	tests := []struct {
		name       string
		procs      int
		before     bool // cancel before the call; else after the first candidate test
		maxTested  int64
		checkTests bool
	}{
		{name: "before", procs: 2, before: true, maxTested: 0, checkTests: true},
		{name: "after one candidate, one worker", procs: 1, maxTested: 1, checkTests: true},
		{name: "after one candidate, two workers", procs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			pool := newPrimePool(tt.procs)
			if tt.before {
				cancel()
			} else {
				var once sync.Once
				pool.afterTest = func() { once.Do(cancel) }
			}
			key, err := pool.rsaKey(ctx, 4096)
			if !errors.Is(err, context.Canceled) || key != nil {
				t.Fatalf("rsaKey = %v, %v; want no key and context.Canceled", key != nil, err)
			}
			pool.wg.Wait() // the workers end (the test times out if not)
			if n := pool.tested.Load(); tt.checkTests && n > tt.maxTested {
				t.Errorf("%d candidates tested, want at most %d", n, tt.maxTested)
			}
			pool.mu.Lock()
			defer pool.mu.Unlock()
			if pool.workers != 0 || len(pool.searches) != 0 {
				t.Errorf("after cancel: %d workers, %d searches; want none", pool.workers, len(pool.searches))
			}
		})
	}
}

// TestRSAKeyBadSize: sizes other than 2048, 3072 and 4096 are refused.
func TestRSAKeyBadSize(t *testing.T) {
	if fips140.Enabled() {
		t.Skip("FIPS 140 mode uses crypto/rsa")
	}
	for _, nlen := range []int{1024, 2047, 2049, 8192} {
		if key, err := newPrimePool(1).rsaKey(t.Context(), nlen); err == nil || key != nil {
			t.Errorf("rsaKey(%d) = %v, %v; want an error", nlen, key != nil, err)
		}
	}
}

// TestRSAKeyFromPrimesRejects: primes too close (equal, or consecutive)
// are rejected so that new ones are drawn.
func TestRSAKeyFromPrimesRejects(t *testing.T) {
	p, err := rand.Prime(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	next := new(big.Int).Add(p, big.NewInt(2))
	for !next.ProbablyPrime(20) {
		next.Add(next, big.NewInt(2))
	}
	tests := []struct {
		name string
		q    *big.Int
	}{
		{"equal", p},
		{"next prime", next},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := rsaKeyFromPrimes(p, tt.q, 2048); !errors.Is(err, errPrimePairRejected) {
				t.Fatalf("err = %v, want %v", err, errPrimePairRejected)
			}
		})
	}
}

// TestRSAKeyFIPSMode: in FIPS 140 mode the key comes from crypto/rsa, not
// the pool. It runs itself in a child process with GODEBUG=fips140=on.
func TestRSAKeyFIPSMode(t *testing.T) {
	if os.Getenv("K3SCA_FIPS_CHILD") == "1" {
		if !fips140.Enabled() {
			t.Fatal("child runs without FIPS 140 mode")
		}
		pool := newPrimePool(2)
		key, err := pool.rsaKey(t.Context(), 2048)
		if err != nil {
			t.Fatal(err)
		}
		checkRSAKey(t, key, 2048)
		if n := pool.tested.Load(); n != 0 {
			t.Fatalf("the pool tested %d candidates in FIPS 140 mode, want none", n)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestRSAKeyFIPSMode$", "-test.v")
	cmd.Env = append(os.Environ(), "K3SCA_FIPS_CHILD=1", "GODEBUG=fips140=on")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRSAKeyFIPSMode") {
		t.Fatalf("child in FIPS 140 mode: %v\n%s", err, out)
	}
}

// TestSmallPrimeTable: the table holds exactly the odd primes below its
// limit (checked against ProbablyPrime for 2^16, by count for 2^20), and
// its groups cover them in order with their exact 64-bit products.
func TestSmallPrimeTable(t *testing.T) {
	tests := []struct {
		name  string
		table *smallPrimeTable
		limit int
		count int // odd primes below limit: π(limit) - 1
	}{
		{"2^16", newSmallPrimeTable(1 << 16), 1 << 16, 6541},
		{"2^20", smallPrimes(), sieveLimit, 82024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.table.primes) != tt.count {
				t.Errorf("%d primes, want %d", len(tt.table.primes), tt.count)
			}
			if tt.limit <= 1<<16 {
				var want []uint32
				for k := 3; k < tt.limit; k += 2 {
					if big.NewInt(int64(k)).ProbablyPrime(0) {
						want = append(want, uint32(k))
					}
				}
				if !slices.Equal(tt.table.primes, want) {
					t.Errorf("primes differ from ProbablyPrime's")
				}
			}
			end := 0
			for _, g := range tt.table.groups {
				if g.lo != end || g.hi <= g.lo {
					t.Fatalf("group [%d, %d) after %d", g.lo, g.hi, end)
				}
				prod := big.NewInt(1)
				for _, p := range tt.table.primes[g.lo:g.hi] {
					prod.Mul(prod, big.NewInt(int64(p)))
				}
				if !prod.IsUint64() || prod.Uint64() != g.product {
					t.Fatalf("group [%d, %d): product %d, want %v", g.lo, g.hi, g.product, prod)
				}
				end = g.hi
			}
			if end != len(tt.table.primes) {
				t.Errorf("groups cover %d primes of %d", end, len(tt.table.primes))
			}
		})
	}
}

// TestSmallPrimeRemainders: remainders agrees with big.Int.Mod.
func TestSmallPrimeRemainders(t *testing.T) {
	tab := smallPrimes()
	for _, bits := range []int{33, 64, 65, 1024, 1536, 2048} {
		x, err := randomPrimeStart(bits, 1)
		if err != nil {
			t.Fatal(err)
		}
		rem := tab.remainders(x)
		m := new(big.Int)
		for j, p := range tab.primes {
			if m.Mod(x, big.NewInt(int64(p))); m.Uint64() != uint64(rem[j]) {
				t.Fatalf("%d bits: x mod %d = %d, remainders says %d", bits, p, m, rem[j])
			}
		}
	}
}

// TestSmallPrimeSieve: in a window, the survivors are exactly the
// candidates with no odd prime factor below 2^20 that are not 1 mod
// 65537 (so no prime is sieved out: a dropped candidate above 2^20 has a
// small factor or is 1 mod e); in the windows of 32- and 64-bit starts
// ProbablyPrime also finds every prime among the survivors.
func TestSmallPrimeSieve(t *testing.T) {
	tab := smallPrimes()
	product := productOf(tab.primes)
	e := big.NewInt(rsaPublicExponent)
	one := big.NewInt(1)
	// oneModE is an odd start ≡ 1 (mod e) with no small factor: offset 0
	// must be dropped for e alone.
	oneModE := new(big.Int).Lsh(one, 1023)
	oneModE.Sub(oneModE, new(big.Int).Mod(oneModE, e)).Add(oneModE, one)
	step := new(big.Int).Mul(e, big.NewInt(2))
	for new(big.Int).GCD(nil, nil, oneModE, product).Cmp(one) != 0 {
		oneModE.Add(oneModE, step)
	}
	random := func(bits int) *big.Int {
		s, err := randomPrimeStart(bits, 1024)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name   string
		start  *big.Int
		n      int
		primes bool // check every ProbablyPrime candidate survives
	}{
		{"32 bits", random(32), 1024, true},
		{"64 bits", random(64), 1024, true},
		{"1024 bits", random(1024), 256, false},
		{"2048 bits", random(2048), 256, false},
		{"start 1 mod e", oneModE, 64, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			surv := tab.sieve(tt.start, tt.n)
			if !slices.IsSorted(surv) || len(surv) == 0 {
				t.Fatalf("%d survivors, sorted %v", len(surv), slices.IsSorted(surv))
			}
			primes := 0
			c, g, r := new(big.Int), new(big.Int), new(big.Int)
			for i := range tt.n {
				c.SetInt64(int64(2*i)).Add(c, tt.start)
				coprime := g.GCD(nil, nil, c, g.Mod(product, c)).Cmp(one) == 0
				notOneModE := r.Mod(c, e).Cmp(one) != 0
				_, survived := slices.BinarySearch(surv, uint32(i))
				if survived != (coprime && notOneModE) {
					t.Fatalf("offset %d: survived %v, coprime to the small primes %v, not 1 mod e %v", i, survived, coprime, notOneModE)
				}
				if tt.primes && notOneModE && c.ProbablyPrime(20) {
					primes++
					if !survived {
						t.Fatalf("offset %d: the prime %v was sieved out", i, c)
					}
				}
			}
			if _, survived := slices.BinarySearch(surv, 0); tt.start == oneModE && survived {
				t.Errorf("a start 1 mod e survived")
			}
			if tt.primes && primes == 0 {
				t.Errorf("no prime in the window of %v", tt.start)
			}
		})
	}
}

// productOf multiplies ps pairwise (a product tree: far faster than one by one).
func productOf(ps []uint32) *big.Int {
	if len(ps) == 1 {
		return big.NewInt(int64(ps[0]))
	}
	return new(big.Int).Mul(productOf(ps[:len(ps)/2]), productOf(ps[len(ps)/2:]))
}

// TestRandomPrimeStart: starts have exactly their bit length, the top two
// bits and the low bit set, and their window stays within the bit length.
func TestRandomPrimeStart(t *testing.T) {
	for _, bits := range []int{32, 33, 100, 1024, 1536, 2048} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			for range 20 {
				s, err := randomPrimeStart(bits, sieveWindow)
				if err != nil {
					t.Fatal(err)
				}
				end := new(big.Int).Add(s, big.NewInt(2*(sieveWindow-1)))
				if s.BitLen() != bits || s.Bit(bits-2) != 1 || s.Bit(0) != 1 || end.BitLen() != bits {
					t.Fatalf("start %x: %d bits, second bit %d, odd %d, window end %d bits", s, s.BitLen(), s.Bit(bits-2), s.Bit(0), end.BitLen())
				}
			}
		})
	}
}

// TestMillerRabinRounds pins FIPS 186-5 Table B.1 for the prime sizes.
func TestMillerRabinRounds(t *testing.T) {
	tests := []struct{ bits, want int }{{1024, 5}, {1536, 4}, {2048, 4}, {512, 0}, {4096, 0}}
	for _, tt := range tests {
		if got := millerRabinRounds(tt.bits); got != tt.want {
			t.Errorf("millerRabinRounds(%d) = %d, want %d", tt.bits, got, tt.want)
		}
	}
}
