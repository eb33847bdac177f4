package pki

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/k3sca/k3sca/product"
)

// Validity periods used by k3s and its contrib scripts.
const (
	genDay = 24 * time.Hour
	// DefaultCAValidity is k3s's self-signed CA lifetime (10 × 365 days).
	DefaultCAValidity = 3650 * genDay
	// LeafValidity is k3s's leaf certificate lifetime.
	LeafValidity = 365 * genDay
	// ScriptRootValidity is the contrib scripts' root lifetime (-days 7300).
	ScriptRootValidity = 7300 * genDay
	// ScriptCAValidity is generate-custom-ca-certs.sh's intermediate and CA lifetime (-days 3700).
	ScriptCAValidity = 3700 * genDay
	// genBackdate is how far k3s moves NotBefore into the past.
	genBackdate = time.Hour
)

// Generation errors a UI must explain.
var (
	// ErrNoClock means GenOptions.Now was not set.
	ErrNoClock = errors.New("certificate generation needs a clock: GenOptions.Now is zero")
	// ErrEd25519ServiceKey refuses an Ed25519 service-account key: k3s cannot start with one.
	ErrEd25519ServiceKey = errors.New("k3s cannot start with an Ed25519 service-account signing key; choose an RSA or ECDSA service key type")
)

// GenOptions are the inputs shared by every generator.
type GenOptions struct {
	// Product selects the CN prefix ("k3s-", "rke2-").
	Product product.Product
	// Now is the clock for every validity period and the "@<unix>" CN suffix; required.
	Now time.Time
	// Rand supplies serial numbers and signatures; nil means crypto/rand.
	// The CA and service keys always come from crypto/rand (they are
	// generated concurrently, RSA primes are drawn from crypto/rand (see
	// primePool), and since Go 1.26 the standard library ignores a custom
	// reader for ECDSA keys anyway).
	Rand io.Reader
	// KeyType is the key type of the five CAs; empty means ecdsa-p256.
	KeyType KeyType
	// RootKeyType is the key type of generated roots and intermediates; empty means KeyType.
	RootKeyType KeyType
	// ServiceKeyType is the service-account key type; empty means rsa-2048. Ed25519 is refused.
	ServiceKeyType KeyType
	// SANs are extra DNS names or IPs of the serving leaf certs (GenerateLeafCerts);
	// nil means DefaultLeafSANs.
	SANs []string
}

// genCtx is GenOptions with defaults applied and checked.
type genCtx struct {
	p       product.Product
	now     time.Time
	rand    io.Reader
	caKey   KeyType
	rootKey KeyType
	svcKey  KeyType
	sans    []string
}

func (o GenOptions) resolve() (*genCtx, error) {
	if o.Now.IsZero() {
		return nil, ErrNoClock
	}
	g := &genCtx{p: o.Product, now: o.Now.UTC().Truncate(time.Second), rand: o.Rand, sans: o.SANs}
	if g.rand == nil {
		g.rand = rand.Reader
	}
	if g.sans == nil {
		g.sans = DefaultLeafSANs
	}
	var err error
	if g.caKey, err = ParseKeyType(string(o.KeyType)); err != nil {
		return nil, fmt.Errorf("CA key type: %w", err)
	}
	g.rootKey = g.caKey
	if o.RootKeyType != "" {
		if g.rootKey, err = ParseKeyType(string(o.RootKeyType)); err != nil {
			return nil, fmt.Errorf("root key type: %w", err)
		}
	}
	g.svcKey = KeyRSA2048
	if o.ServiceKeyType != "" {
		if g.svcKey, err = ParseKeyType(string(o.ServiceKeyType)); err != nil {
			return nil, fmt.Errorf("service key type: %w", err)
		}
	}
	if g.svcKey == KeyEd25519 {
		return nil, ErrEd25519ServiceKey
	}
	return g, nil
}

// ts is the "@<unix>" suffix of generated CNs.
func (g *genCtx) ts() string { return "@" + strconv.FormatInt(g.now.Unix(), 10) }

// newKey generates a key of type k.
func (g *genCtx) newKey(k KeyType) (crypto.Signer, error) { return k.Generate(g.rand) }

// keyReq is one key a set needs: its type and what it is for, which
// prefixes its generation error ("root CA", "server CA").
type keyReq struct {
	label string
	typ   KeyType
}

// genKeys generates the keys of reqs concurrently and returns them in the
// order of reqs. The RSA keys share one primePool: at most GOMAXPROCS
// workers search their primes together, so the wall time of a set is about
// its total RSA work divided by the cores; the other keys take
// microseconds each. The first error cancels the others. A cancelled ctx
// returns ctx.Err() at once and no key: the prime searches stop after the
// candidate each worker is testing.
func genKeys(ctx context.Context, reqs []keyReq) ([]crypto.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	keys := make([]crypto.Signer, len(reqs))
	pool := newPrimePool(runtime.GOMAXPROCS(0))
	eg, egCtx := errgroup.WithContext(ctx)
	done := make(chan error, 1)
	go func() {
		for i, r := range reqs {
			eg.Go(func() error {
				k, err := r.typ.generate(egCtx, nil, pool)
				if err != nil {
					return fmt.Errorf("%s: %w", r.label, err)
				}
				keys[i] = k
				return nil
			})
		}
		done <- eg.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		return keys, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// serial is a random serial in [1, 2^63), like openssl's `rand -hex 8` and k3s's leaf serials.
func (g *genCtx) serial() (*big.Int, error) {
	maxSerial := new(big.Int).SetUint64(1<<63 - 1)
	n, err := rand.Int(g.rand, maxSerial)
	if err != nil {
		return nil, fmt.Errorf("random serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// certSpec describes one certificate to issue.
type certSpec struct {
	cn        string
	orgs      []string
	serial    *big.Int
	notBefore time.Time
	validity  time.Duration
	isCA      bool
	// openssl marks v3_ca certs the script way: SKI = SHA-1 hash, AKI = issuer's
	// SKI (own SKI when self-signed). Without it Go fills the SKI and AKI.
	openssl bool
	eku     []x509.ExtKeyUsage
	dns     []string
	ips     []net.IP
}

func (s certSpec) template(pub crypto.PublicKey) (*x509.Certificate, error) {
	t := &x509.Certificate{
		SerialNumber: s.serial,
		Subject:      pkix.Name{CommonName: s.cn, Organization: s.orgs},
		NotBefore:    s.notBefore,
		NotAfter:     s.notBefore.Add(s.validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  s.eku,
		DNSNames:     s.dns,
		IPAddresses:  s.ips,
	}
	if s.isCA {
		t.KeyUsage |= x509.KeyUsageCertSign
		t.IsCA = true
		t.BasicConstraintsValid = true
	}
	if s.openssl {
		ski, err := opensslSKI(pub)
		if err != nil {
			return nil, err
		}
		t.SubjectKeyId = ski
	}
	return t, nil
}

// issue signs spec for key with parent/parentKey; a nil parent makes it self-signed.
func (g *genCtx) issue(s certSpec, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, error) {
	if s.serial == nil {
		n, err := g.serial()
		if err != nil {
			return nil, err
		}
		s.serial = n
	}
	t, err := s.template(key.Public())
	if err != nil {
		return nil, err
	}
	if parent == nil {
		parent, parentKey = t, key
		if s.openssl {
			t.AuthorityKeyId = t.SubjectKeyId
		}
	} else if s.openssl {
		t.AuthorityKeyId = parent.SubjectKeyId
	}
	der, err := x509.CreateCertificate(g.rand, t, parent, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("sign %q: %w", s.cn, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new certificate %q: %w", s.cn, err)
	}
	return c, nil
}

// scriptCA is the spec of a v3_ca certificate made by k3s's contrib scripts:
// NotBefore now (openssl does not backdate) and a random serial.
func (g *genCtx) scriptCA(cn string, validity time.Duration) certSpec {
	return certSpec{cn: cn, notBefore: g.now, validity: validity, isCA: true, openssl: true}
}

// opensslSKI is openssl's `subjectKeyIdentifier = hash`: SHA-1 of the
// subjectPublicKey BIT STRING (RFC 5280 4.2.1.2 method 1).
func opensslSKI(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// caPair is a certificate with its private key.
type caPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// newPair generates a key of type k and issues spec for it.
func (g *genCtx) newPair(k KeyType, s certSpec, parent *caPair) (caPair, error) {
	key, err := g.newKey(k)
	if err != nil {
		return caPair{}, err
	}
	return g.pairFor(key, s, parent)
}

// pairFor issues spec for an already generated key; a nil parent makes it self-signed.
func (g *genCtx) pairFor(key crypto.Signer, s certSpec, parent *caPair) (caPair, error) {
	var pc *x509.Certificate
	var pk crypto.Signer
	if parent != nil {
		pc, pk = parent.cert, parent.key
	}
	c, err := g.issue(s, key, pc, pk)
	if err != nil {
		return caPair{}, err
	}
	return caPair{cert: c, key: key}, nil
}
