package pki

// RSA key generation: a sieved prime search shared by the RSA keys of a
// set. See primePool for why k3sca does not call crypto/rsa.GenerateKey.

import (
	"context"
	"crypto"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

const (
	// rsaPublicExponent is e of every generated key, as in crypto/rsa and openssl.
	rsaPublicExponent = 65537
	// sieveLimit bounds the small primes that sieve a window: every
	// candidate ProbablyPrime sees has no prime factor below it. Raising it
	// from 2^16 to 2^20 cuts the candidates tested by a fifth for a few
	// milliseconds of sieving per window; beyond, sieving costs more than it saves.
	sieveLimit = 1 << 20
	// sieveWindow is the number of consecutive odd candidates of one
	// random start. A window of 2048-bit candidates holds about 46 primes,
	// one of 1024-bit candidates about 92; an empty window draws a new start.
	sieveWindow = 1 << 15
	// rsaKeyAttempts bounds how often a key draws new primes because a
	// pair failed the FIPS 186-5 bounds (|p-q|, d), each of which fails
	// with a probability below 2^-100.
	rsaKeyAttempts = 8
)

// errPrimePairRejected means two primes do not make a key by FIPS 186-5
// A.1.3 and B.3.1: too close, or d too small. New primes are drawn.
var errPrimePairRejected = errors.New("prime pair rejected")

// primePool finds the primes of the RSA keys of one set on at most procs
// worker goroutines shared by all of them: on 2 cores the 4 primes of two
// RSA-4096 keys are found together, and a core whose own search ended
// joins the others, so the set takes about its total work divided by the
// cores.
//
// Why not crypto/rsa.GenerateKey: since Go 1.24 it is the FIPS 140-3
// module's implementation, which draws a fresh random candidate for every
// try, rules out those with a prime factor below 1621 by trial division
// and runs constant-time Miller-Rabin (bigmod) on the rest; an RSA-4096
// key takes 0.5 to 0.7 s of one core on average, with a long tail, and it
// cannot be interrupted. Sieving a window of candidates by the primes
// below 2^20 leaves about half as many candidates to test, variable-time
// math/big tests each about as fast, and the pool puts every core on the
// keys of a set: the RSA-4096 set of generate-custom-ca-certs.sh takes
// about half the time it took (BenchmarkCustomCAVsOpenSSL). The generator follows openssl's plan and
// FIPS 186-5 A.1.3 (probable primes) and B.3.1:
//
//   - each prime search draws a start from crypto/rand of exactly the
//     prime's bit length with the top two bits and the low bit set, so that
//     p, q > sqrt(2)·2^(nlen/2-1) and n = p·q has exactly nlen bits;
//   - the window of sieveWindow odd numbers from the start is sieved by
//     every odd prime below sieveLimit, and candidates p ≡ 1 (mod e) are
//     dropped, so gcd(e, p-1) = 1;
//   - survivors are tested in a random order (crypto/rand), not from the
//     start upward: the prime found is then uniform among the primes of
//     the window, where a sequential scan favours primes after long gaps
//     (a loss of a few bits of entropy, harmless but avoidable at no cost);
//     it also lets several workers share one search without changing what
//     it finds;
//   - a candidate is accepted by math/big's ProbablyPrime(k), with k the
//     Miller-Rabin rounds of FIPS 186-5 Table B.1 for the prime size at the
//     modulus's security strength (see millerRabinRounds), on top of which
//     ProbablyPrime runs the Baillie-PSW test (Miller-Rabin base 2 and a
//     strong Lucas test), for which no composite is known;
//   - a key needs |p-q| > 2^(nlen/2-100) and d > 2^(nlen/2), d = e⁻¹ mod
//     lcm(p-1, q-1), or it draws new primes; n must have exactly nlen bits;
//   - the key is Precomputed, must pass crypto/rsa's Validate and sign and
//     verify a PKCS #1 v1.5 message before it is returned.
//
// Trade-offs: math/big is variable-time, so the timing of the search
// depends on the secret primes. That matters to a process whose timing an
// attacker can measure while it runs many secret-dependent operations;
// k3sca generates a handful of keys once, offline, on the operator's
// machine, and signs with crypto/rsa (constant time). The Miller-Rabin
// bases of ProbablyPrime are pseudo-random from the candidate, not from an
// RBG as FIPS 186-5 B.3 asks; the error bounds of Table B.1 are for random
// candidates, which these are, and Baillie-PSW alone has no known
// counterexample. It is more code to keep right than one call, which
// the tests check against FIPS 186-5 and openssl. Keys are not FIPS 140-3
// approved: in FIPS 140 mode
// (crypto/fips140.Enabled) rsaKey calls crypto/rsa.GenerateKey instead.
type primePool struct {
	procs int

	mu       sync.Mutex
	searches []*primeSearch // in the order asked for
	workers  int            // running worker goroutines

	wg     sync.WaitGroup // the worker goroutines
	tested atomic.Int64   // candidates tested, for tests and benchmarks
	// afterTest, when set (tests only), runs after every candidate test.
	afterTest func()
}

// newPrimePool returns a pool of at most procs (at least 1) workers; they
// start when a prime is asked for and end when none is left to find.
func newPrimePool(procs int) *primePool {
	return &primePool{procs: max(procs, 1)}
}

// rsaKey generates an RSA key of nlen bits (2048, 3072 or 4096) whose
// primes the pool searches. A cancelled ctx returns ctx.Err() at once;
// the workers drop its searches after the candidate each is testing.
func (p *primePool) rsaKey(ctx context.Context, nlen int) (*rsa.PrivateKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if fips140.Enabled() {
		key, err := rsa.GenerateKey(rand.Reader, nlen)
		if err != nil {
			return nil, fmt.Errorf("FIPS 140 mode, crypto/rsa: %w", err)
		}
		return key, nil
	}
	if millerRabinRounds(nlen/2) == 0 || nlen%2 != 0 {
		return nil, fmt.Errorf("RSA modulus of %d bits: want 2048, 3072 or 4096", nlen)
	}
	for range rsaKeyAttempts {
		ps, qs := p.find(ctx, nlen/2), p.find(ctx, nlen/2)
		pPrime, err := ps.wait()
		if err != nil {
			return nil, fmt.Errorf("prime p: %w", err)
		}
		qPrime, err := qs.wait()
		if err != nil {
			return nil, fmt.Errorf("prime q: %w", err)
		}
		key, err := rsaKeyFromPrimes(pPrime, qPrime, nlen)
		if errors.Is(err, errPrimePairRejected) {
			continue
		}
		return key, err
	}
	return nil, fmt.Errorf("%d prime pairs in a row rejected by FIPS 186-5's bounds: the random source is suspect", rsaKeyAttempts)
}

// millerRabinRounds is the number of Miller-Rabin rounds with random
// bases FIPS 186-5 Table B.1 asks of probable primes p and q of bits bits,
// for an error probability of 2^-(security strength of the modulus):
// 2^-112 for 1024-bit primes (RSA-2048), 2^-128 for 1536 (RSA-3072) and
// 2^-144 for 2048 (RSA-4096). 0 for other sizes.
func millerRabinRounds(bits int) int {
	switch bits {
	case 1024:
		return 5
	case 1536, 2048:
		return 4
	}
	return 0
}

// rsaKeyFromPrimes builds the key of primes p and q and checks it:
// FIPS 186-5 bounds, Validate and a signature self-test.
// errPrimePairRejected means new primes are needed.
func rsaKeyFromPrimes(p, q *big.Int, nlen int) (*rsa.PrivateKey, error) {
	one := big.NewInt(1)
	e := big.NewInt(rsaPublicExponent)
	diff := new(big.Int).Sub(p, q)
	if diff.Abs(diff).Cmp(new(big.Int).Lsh(one, uint(nlen/2-100))) <= 0 {
		return nil, fmt.Errorf("%w: |p-q| <= 2^%d", errPrimePairRejected, nlen/2-100)
	}
	pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	for _, x := range []*big.Int{pm1, qm1} {
		if new(big.Int).GCD(nil, nil, e, x).Cmp(one) != 0 {
			return nil, fmt.Errorf("a prime p has gcd(e, p-1) != 1")
		}
	}
	n := new(big.Int).Mul(p, q)
	if n.BitLen() != nlen {
		return nil, fmt.Errorf("modulus has %d bits, want %d", n.BitLen(), nlen)
	}
	g := new(big.Int).GCD(nil, nil, pm1, qm1)
	lambda := new(big.Int).Mul(pm1, qm1)
	lambda.Quo(lambda, g)
	d := new(big.Int).ModInverse(e, lambda)
	if d == nil {
		return nil, fmt.Errorf("e has no inverse modulo lcm(p-1, q-1)")
	}
	if d.Cmp(new(big.Int).Lsh(one, uint(nlen/2))) <= 0 {
		return nil, fmt.Errorf("%w: d <= 2^%d", errPrimePairRejected, nlen/2)
	}
	key := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: rsaPublicExponent}, D: d, Primes: []*big.Int{p, q}}
	key.Precompute()
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("validate key: %w", err)
	}
	if err := rsaSelfTest(key); err != nil {
		return nil, err
	}
	return key, nil
}

// rsaSelfTest signs a fixed message with key and verifies the signature
// with its public key (PKCS #1 v1.5, SHA-256).
func rsaSelfTest(key *rsa.PrivateKey) error {
	digest := sha256.Sum256([]byte("k3sca RSA key generation self-test"))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		return fmt.Errorf("self-test: sign: %w", err)
	}
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		return fmt.Errorf("self-test: verify: %w", err)
	}
	return nil
}

// primeSearch is the search of one prime of bits bits for a key.
type primeSearch struct {
	ctx    context.Context
	bits   int
	rounds int

	// window, guarded by mu: the start and its sieve survivors (offsets
	// i of start+2i); cands[:taken] were handed out.
	mu    sync.Mutex
	start *big.Int
	cands []uint32
	taken int
	order *mrand.Rand

	// guarded by the pool's mu
	active   int // workers testing one of its candidates
	finished bool
	done     chan struct{} // closed when prime or err is set
	prime    *big.Int
	err      error
}

// find starts the search of a prime of bits bits for ctx and returns it.
func (p *primePool) find(ctx context.Context, bits int) *primeSearch {
	s := &primeSearch{ctx: ctx, bits: bits, rounds: millerRabinRounds(bits),
		order: mrand.New(cryptoSource{}), done: make(chan struct{})}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.searches = append(p.searches, s)
	for p.workers < p.procs {
		p.workers++
		p.wg.Add(1)
		go p.work()
	}
	return s
}

// wait returns the prime found, or the search's error, or ctx.Err() as
// soon as the search's context is done.
func (s *primeSearch) wait() (*big.Int, error) {
	select {
	case <-s.done:
		return s.prime, s.err
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
}

// finish ends s with prime or err; the pool's mu is held.
func (s *primeSearch) finish(prime *big.Int, err error) {
	if s.finished {
		return
	}
	s.finished, s.prime, s.err = true, prime, err
	close(s.done)
}

// work tests candidates of the searches left, one at a time, until none is.
func (p *primePool) work() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		s := p.pick()
		if s == nil {
			p.workers--
			p.mu.Unlock()
			return
		}
		s.active++
		p.mu.Unlock()

		c, err := s.next()
		prime := false
		if err == nil {
			prime = c.ProbablyPrime(s.rounds)
			p.tested.Add(1)
		}

		p.mu.Lock()
		s.active--
		if err != nil {
			s.finish(nil, err)
		} else if prime {
			s.finish(c, nil)
		}
		p.mu.Unlock()
		if p.afterTest != nil {
			p.afterTest()
		}
	}
}

// pick drops the finished and cancelled searches and returns the first
// of those with the fewest workers, or nil; the pool's mu is held.
func (p *primePool) pick() *primeSearch {
	p.searches = slices.DeleteFunc(p.searches, func(s *primeSearch) bool {
		if err := s.ctx.Err(); err != nil {
			s.finish(nil, err)
		}
		return s.finished
	})
	var best *primeSearch
	for _, s := range p.searches {
		if best == nil || s.active < best.active {
			best = s
		}
	}
	return best
}

// next returns the next candidate of s in random order, sieving a new
// window from a new random start when the current one is used up.
func (s *primeSearch) next() (*big.Int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.start == nil || s.taken == len(s.cands) {
		start, err := randomPrimeStart(s.bits, sieveWindow)
		if err != nil {
			return nil, err
		}
		s.start, s.cands, s.taken = start, smallPrimes().sieve(start, sieveWindow), 0
	}
	j := s.taken + s.order.IntN(len(s.cands)-s.taken)
	s.cands[s.taken], s.cands[j] = s.cands[j], s.cands[s.taken]
	off := s.cands[s.taken]
	s.taken++
	c := new(big.Int).SetUint64(2 * uint64(off))
	return c.Add(c, s.start), nil
}

// randomPrimeStart draws from crypto/rand an odd number of exactly bits
// bits (at least 32) with its top two bits set, such that the window of
// window odd numbers from it stays within bits bits.
func randomPrimeStart(bits, window int) (*big.Int, error) {
	buf := make([]byte, (bits+7)/8)
	last := new(big.Int)
	for {
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("random prime candidate: %w", err)
		}
		buf[0] &= 0xff >> (8*len(buf) - bits)
		start := new(big.Int).SetBytes(buf)
		start.SetBit(start, bits-1, 1)
		start.SetBit(start, bits-2, 1)
		start.SetBit(start, 0, 1)
		last.SetUint64(2 * uint64(window-1))
		if last.Add(last, start).BitLen() == bits {
			return start, nil
		}
	}
}

// cryptoSource is a math/rand/v2 source reading crypto/rand, so that
// Rand.IntN draws unbiased indices from it. crypto/rand.Read never fails
// since Go 1.24 (the program crashes if the kernel's random source does).
type cryptoSource struct{}

func (cryptoSource) Uint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// smallPrimeTable holds the odd primes below a limit, grouped so that
// the product of each group fits in 64 bits: one pass of 64-bit divisions
// over a number's words gives its remainder modulo every prime of a group.
type smallPrimeTable struct {
	primes []uint32
	groups []primeGroup
}

// primeGroup is primes[lo:hi] of a smallPrimeTable and their product.
type primeGroup struct {
	product uint64
	lo, hi  int
}

// smallPrimes is the table of the odd primes below sieveLimit, computed on
// first use (a few milliseconds), not at start-up.
var smallPrimes = sync.OnceValue(func() *smallPrimeTable { return newSmallPrimeTable(sieveLimit) })

// newSmallPrimeTable sieves the odd primes below limit (Eratosthenes).
func newSmallPrimeTable(limit int) *smallPrimeTable {
	t := &smallPrimeTable{}
	composite := make([]bool, limit/2) // composite[i]: 2i+1
	for i := 1; i < len(composite); i++ {
		if composite[i] {
			continue
		}
		p := 2*i + 1
		t.primes = append(t.primes, uint32(p))
		for j := p * p / 2; j < len(composite); j += p {
			composite[j] = true
		}
	}
	g := primeGroup{product: 1}
	for i, p := range t.primes {
		if hi, _ := bits.Mul64(g.product, uint64(p)); hi != 0 {
			t.groups = append(t.groups, g)
			g = primeGroup{product: 1, lo: i}
		}
		g.product *= uint64(p)
		g.hi = i + 1
	}
	if g.hi > g.lo {
		t.groups = append(t.groups, g)
	}
	return t
}

// remainders returns x mod each prime of t, in the order of t.primes.
func (t *smallPrimeTable) remainders(x *big.Int) []uint32 {
	buf := x.FillBytes(make([]byte, (x.BitLen()+63)/64*8))
	words := make([]uint64, len(buf)/8)
	for i := range words {
		words[i] = binary.BigEndian.Uint64(buf[8*i:])
	}
	rem := make([]uint32, len(t.primes))
	for _, g := range t.groups {
		var r uint64
		for _, w := range words {
			_, r = bits.Div64(r, w, g.product)
		}
		for j := g.lo; j < g.hi; j++ {
			rem[j] = uint32(r % uint64(t.primes[j]))
		}
	}
	return rem
}

// sieve returns the offsets i in [0, n) for which start+2i is divisible by
// none of t's primes and is not 1 modulo e (65537, one of them). start
// must be odd and above t's primes, so that none of them is a candidate.
func (t *smallPrimeTable) sieve(start *big.Int, n int) []uint32 {
	rem := t.remainders(start)
	out := make([]bool, n)
	for j, p := range t.primes {
		pp := uint64(p)
		r, inv2 := uint64(rem[j]), (pp+1)/2
		// start + 2i ≡ 0 (mod p) ⇔ i ≡ -r·2⁻¹ (mod p)
		for i := (pp - r) % pp * inv2 % pp; i < uint64(n); i += pp {
			out[i] = true
		}
		if p == rsaPublicExponent {
			// start + 2i ≡ 1 (mod e) ⇔ i ≡ (1-r)·2⁻¹ (mod e)
			for i := (pp + 1 - r) % pp * inv2 % pp; i < uint64(n); i += pp {
				out[i] = true
			}
		}
	}
	cands := make([]uint32, 0, n/8)
	for i, composite := range out {
		if !composite {
			cands = append(cands, uint32(i))
		}
	}
	return cands
}
