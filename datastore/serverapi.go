package datastore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/k3sca/k3sca/pki"
	"github.com/k3sca/k3sca/product"
)

// DefaultServerTimeout is k3s's rotate-ca client timeout.
const DefaultServerTimeout = 10 * time.Second

// maxResponseBody bounds how much of a server response is read.
const maxResponseBody = 4 << 20

// Server API errors a UI must explain.
var (
	// ErrCAHashMismatch: the token's CA hash is not the hash of the bundle the
	// server serves at /cacerts (k3s's own message).
	ErrCAHashMismatch = errors.New("token CA hash does not match the Cluster CA certificate hash")
	// ErrCAValidation: the server's certificate does not verify against its own /cacerts bundle.
	ErrCAValidation = errors.New("CA cert validation failed")
	// ErrServerRefused: the server rejected the CA data (500 "certificate error ID NNNNN").
	ErrServerRefused = errors.New("the server refused the new CA certificates")
	// ErrServerAuth: the server answered 401 or 403.
	ErrServerAuth = errors.New("the server token was refused")
	// ErrServerStatus: the server answered with an unexpected HTTP status.
	ErrServerStatus = errors.New("unexpected response from the server")
)

var certErrorIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`certificate error ID (\d+)`) })

// ServerRefusedError is the rotate-ca handler's 500: k3s logs the reason
// as "certificate error ID <ID>: <reason>" and sends only the ID
// (pkg/util SendErrorWithID).
type ServerRefusedError struct {
	// ID is the error ID, as k3s prints it (five digits, %05d).
	ID string
	// Unit is the server's service unit, whose log holds the reason.
	Unit string
	// Sent is when the request was sent: the log line is later.
	Sent time.Time
}

func (e *ServerRefusedError) Error() string {
	return fmt.Sprintf("%v: certificate error ID %s; see why on the server with: journalctl -u %s | grep %s", ErrServerRefused, e.ID, e.Unit, e.ID)
}

// Unwrap makes the error match ErrServerRefused.
func (e *ServerRefusedError) Unwrap() error { return ErrServerRefused }

// ServerAPI talks to a running k3s server's supervisor API the way
// `k3s certificate rotate-ca` does. It is not safe for concurrent use.
type ServerAPI struct {
	// URL is the server, e.g. "https://10.0.0.1:6443"; only scheme and host are used.
	URL string
	// Token is the server token; its password authenticates as user "server".
	Token pki.Token
	// Product picks the endpoint path and the systemd unit named in messages.
	Product product.Product
	// Timeout bounds each request; DefaultServerTimeout when zero.
	Timeout time.Duration
	// Now is the clock for the CA hash and certificate verification (nil:
	// time.Now).
	Now func() time.Time

	// bundle is the /cacerts bundle from FetchCACerts, trusted for later requests.
	bundle []byte
}

// base returns scheme://host of s.URL.
func (s *ServerAPI) base() (string, error) {
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" || u.Scheme != "https" {
		return "", fmt.Errorf("server URL %q: want https://host:port", s.URL)
	}
	return u.Scheme + "://" + u.Host, nil
}

func (s *ServerAPI) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultServerTimeout
}

// client returns an HTTP client with keep-alives off, trusting pool or, when
// pool is nil, skipping verification (only for fetching /cacerts).
func (s *ServerAPI) client(pool *x509.CertPool) *http.Client {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Time: s.Now}
	if pool == nil {
		tc.InsecureSkipVerify = true //nolint:gosec // the bundle is checked against the token hash, as k3s does
	}
	return &http.Client{
		Timeout: s.timeout(),
		Transport: &http.Transport{
			TLSClientConfig: tc, DisableKeepAlives: true, Proxy: http.ProxyFromEnvironment,
			ExpectContinueTimeout: time.Second,
		},
	}
}

// now reads s.Now (nil: time.Now).
func (s *ServerAPI) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// get fetches base+path and returns status and body.
func (s *ServerAPI) get(ctx context.Context, c *http.Client, path string) (int, []byte, error) {
	base, err := s.base()
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s%s: %w", base, path, classifyHTTP(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s%s: read body: %w", base, path, classifyHTTP(err))
	}
	return resp.StatusCode, body, nil
}

// classifyHTTP tells certificate failures (ErrCAValidation) from transport
// failures (ErrUnreachable).
func classifyHTTP(err error) error {
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var cerr x509.CertificateInvalidError
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
		return fmt.Errorf("%w: %w", ErrCAValidation, err)
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}

// Ping checks that the server answers HTTPS at all (any HTTP status counts).
func (s *ServerAPI) Ping(ctx context.Context) error {
	_, _, err := s.get(ctx, s.client(nil), "/cacerts")
	return err
}

// FetchCACerts downloads the cluster CA bundle from /cacerts as a joining
// k3s node does (spec 1.4): without verification first, then checks the
// token's CA hash (when it has one), then fetches again trusting only the
// downloaded bundle. The bundle is remembered for PutCACerts.
func (s *ServerAPI) FetchCACerts(ctx context.Context) ([]byte, error) {
	status, bundle, err := s.get(ctx, s.client(nil), "/cacerts")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /cacerts: %w: %s", ErrServerStatus, http.StatusText(status))
	}
	if s.Token.CAHash != "" {
		h, err := pki.HashCA(bundle, s.now())
		if err != nil {
			return nil, fmt.Errorf("server /cacerts: %w", err)
		}
		if h.Hex != s.Token.CAHash {
			return nil, fmt.Errorf("%w: %s != %s", ErrCAHashMismatch, s.Token.CAHash, h.Hex)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		return nil, fmt.Errorf("%w: /cacerts holds no certificates", ErrCAValidation)
	}
	if _, _, err := s.get(ctx, s.client(pool), "/cacerts"); err != nil {
		if errors.Is(err, ErrCAValidation) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrCAValidation, err)
	}
	s.bundle = bundle
	return bundle, nil
}

// PutCACerts sends bootstrap JSON to the server's rotate-ca endpoint
// (spec 7.2, 8), as `k3s certificate rotate-ca [--force]` does. The server
// validates the CAs and saves them to the datastore; it answers 204.
func (s *ServerAPI) PutCACerts(ctx context.Context, body []byte, force bool) error {
	if s.bundle == nil {
		if _, err := s.FetchCACerts(ctx); err != nil {
			return err
		}
	}
	base, err := s.base()
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.bundle)
	path := s.Product.CACertsPath() + "?force=" + strconv.FormatBool(force)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("PUT %s: %w", path, err)
	}
	// A server that refuses the credentials answers before reading the body
	// and closes the connection; without 100-continue the client may still
	// be writing and see "connection reset" instead of the 401.
	req.Header.Set("Expect", "100-continue")
	if s.Token.BootstrapToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token.BootstrapToken)
	} else {
		req.SetBasicAuth("server", s.Token.Password)
	}
	sent := s.now()
	resp, err := s.client(pool).Do(req)
	if err != nil {
		return fmt.Errorf("PUT %s%s: %w", base, path, classifyHTTP(err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	return s.putResult(resp.StatusCode, msg, sent)
}

// putResult maps the rotate-ca response to an error that says what to do next.
func (s *ServerAPI) putResult(status int, body []byte, sent time.Time) error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%w (HTTP %d): the token needs the server password of %s with role %s",
			ErrServerAuth, status, s.Product.Name(), s.Product.ServerRole())
	case status == http.StatusInternalServerError:
		if m := certErrorIDRe().FindSubmatch(body); m != nil {
			return &ServerRefusedError{ID: string(m[1]), Unit: s.Product.ServerUnit(), Sent: sent}
		}
	}
	return fmt.Errorf("PUT %s: %w: %d %s: see server log for details", s.Product.CACertsPath(), ErrServerStatus, status, http.StatusText(status))
}
