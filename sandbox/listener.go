package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/k3sca/k3sca/fsutil"
	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// ErrCACertValidation is the failure of k3s's own start-up check of its
// supervisor listener against the /cacerts bundle it serves
// (clientaccess.getCACerts). On a real server the start then loops on it for
// ever; a simulated start fails with it.
var ErrCACertValidation = errors.New("CA cert validation failed")

// servingSecret is the shape of tls/dynamic-cert.json: a kubernetes.io/tls
// Secret as dynamiclistener's file storage keeps it ([]byte is base64 in
// JSON, as a Secret's data is).
type servingSecret struct {
	Kind       string            `json:"kind"`
	APIVersion string            `json:"apiVersion"`
	Metadata   map[string]string `json:"metadata"`
	Type       string            `json:"type"`
	Data       map[string][]byte `json:"data"`
}

// servingCert is the listener's certificate as the simulated start loads,
// keeps or issues it.
type servingCert struct {
	tls         tls.Certificate
	leaf        *x509.Certificate
	regenerated bool
}

// loadServingCert does what dynamiclistener does at a k3s start: it loads
// the cached certificate from tls/dynamic-cert.json and keeps it unless the
// cache is missing or unreadable, the trigger tls/dynamic-cert-regenerate
// exists (then consumed), or the certificate is within 120 days of expiry;
// otherwise it issues a new one from the current server CA and caches it.
func loadServingCert(server string, p product.Product, now time.Time) (*servingCert, error) {
	cache := filepath.Join(server, filepath.FromSlash(pki.DynamicCertCache))
	trigger := pki.RegenerateTriggerPath(server)
	_, terr := os.Lstat(trigger)
	regenerate := terr == nil
	if !regenerate {
		if sc, err := readServingCache(cache); err == nil && !pki.ServingCertNeedsRenewal(sc.leaf, now) {
			return sc, nil
		}
	}
	certPEM, keyPEM, err := pki.IssueServingCert(pki.GenOptions{Product: p, Now: now}, server)
	if err != nil {
		return nil, err
	}
	if err := writeServingCache(cache, certPEM, keyPEM, now); err != nil {
		return nil, err
	}
	if regenerate {
		if err := os.Remove(trigger); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("consume %s: %w", trigger, err)
		}
	}
	sc, err := parseServingPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	sc.regenerated = true
	return sc, nil
}

// attachSupervisor serves what a running sandbox server serves: its cached
// serving certificate and its server CA, as they were at its start.
func attachSupervisor(server string) (*supervisorListener, error) {
	sc, err := readServingCache(filepath.Join(server, filepath.FromSlash(pki.DynamicCertCache)))
	if err != nil {
		return nil, err
	}
	bundle, err := os.ReadFile(pki.ServerCAPath(server))
	if err != nil {
		return nil, err
	}
	return startSupervisor(sc.tls, bundle)
}

func readServingCache(path string) (*servingCert, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s servingSecret
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return parseServingPair(s.Data["tls.crt"], s.Data["tls.key"])
}

func parseServingPair(certPEM, keyPEM []byte) (*servingCert, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	return &servingCert{tls: pair, leaf: leaf}, nil
}

// writeServingCache writes the Secret-shaped cache, 0600.
func writeServingCache(path string, certPEM, keyPEM []byte, now time.Time) error {
	b, err := json.Marshal(servingSecret{
		Kind: "Secret", APIVersion: "v1", Type: "kubernetes.io/tls",
		Metadata: map[string]string{"name": "k3s-serving", "namespace": "kube-system"},
		Data:     map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
	})
	if err != nil {
		return fmt.Errorf("encode serving certificate cache: %w", err)
	}
	return fsutil.WriteFile(path, b, fsutil.ModeSecret, now)
}

// discardLog drops the listener's TLS handshake errors: a failed check is
// reported by checkCACerts.
var discardLog = log.New(io.Discard, "", 0)

// supervisorListener is the sandbox's stand-in for k3s's supervisor
// listener: HTTPS on 127.0.0.1 with the serving certificate, /cacerts
// serving the server CA bundle, /ping answering "pong".
type supervisorListener struct {
	srv *http.Server
	ln  net.Listener
	// URL is https://127.0.0.1:<port>.
	URL string
}

func startSupervisor(cert tls.Certificate, bundle []byte) (*supervisorListener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox supervisor listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/cacerts", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(bundle) })
	mux.HandleFunc("/ping", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("pong")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ErrorLog:  discardLog}
	tl := tls.NewListener(ln, srv.TLSConfig)
	go func() { _ = srv.Serve(tl) }()
	return &supervisorListener{srv: srv, ln: ln, URL: "https://" + ln.Addr().String()}, nil
}

// Close stops the listener.
func (l *supervisorListener) Close() error {
	if l == nil {
		return nil
	}
	return l.srv.Close()
}

// checkCACerts is k3s's start-up check (clientaccess.getCACerts): GET
// /cacerts trusting only the bundle the server serves there. It fails when
// the listener's certificate does not chain to the server CA bundle, with
// k3s's message: `Failed to validate connection to cluster at <url>: CA cert
// validation failed: Get "<url>/cacerts": tls: failed to verify
// certificate: x509: certificate signed by unknown authority`.
func (l *supervisorListener) checkCACerts(ctx context.Context, bundle []byte, now time.Time) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		//lint:ignore ST1005 k3s's own message, kept exact
		return fmt.Errorf("Failed to validate connection to cluster at %s: %w: no certificates in the server CA bundle", l.URL, ErrCACertValidation)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, Time: func() time.Time { return now }},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL+"/cacerts", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		//lint:ignore ST1005 k3s's own message, kept exact
		return fmt.Errorf("Failed to validate connection to cluster at %s: %w: %w", l.URL, ErrCACertValidation, err)
	}
	_ = resp.Body.Close()
	return nil
}
