package datastore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/k3sca/k3sca/datastore/etcdrpc"
	"github.com/k3sca/k3sca/pki"
)

// ErrEtcdTLS: the etcd endpoint answers but the TLS handshake fails (wrong
// CA, missing or untrusted client certificate). It comes wrapped together
// with ErrUnreachable.
var ErrEtcdTLS = errors.New("etcd TLS handshake failed; check the CA and client certificate")

// DefaultDialTimeout bounds how long OpenEtcd waits for the first answer.
const DefaultDialTimeout = 5 * time.Second

// EmbeddedEtcdEndpoint is where k3s's embedded etcd serves clients.
const EmbeddedEtcdEndpoint = "https://127.0.0.1:2379"

// EtcdConfig says how to reach an etcd v3 API: kine's socket, k3s's embedded
// etcd or an external etcd.
type EtcdConfig struct {
	// Endpoints are etcd client URLs ("https://127.0.0.1:2379", "unix:///path/kine.sock").
	Endpoints []string
	// CAFile is the PEM bundle that verifies the server; empty for plain gRPC.
	CAFile string
	// CertFile and KeyFile are the client certificate for mTLS; both or neither.
	CertFile, KeyFile string
	// DialTimeout bounds the reachability check; DefaultDialTimeout when zero.
	DialTimeout time.Duration
}

// EtcdConfigForDataDir returns the client config k3s itself uses for a server
// dir: kine's unix socket (plain gRPC) or, when embedded, the embedded etcd
// with the etcd client certificate.
func EtcdConfigForDataDir(serverDir string, embedded bool) EtcdConfig {
	if !embedded {
		sock, err := filepath.Abs(filepath.Join(serverDir, pki.KineSocket))
		if err != nil {
			sock = filepath.Join(serverDir, pki.KineSocket)
		}
		return EtcdConfig{Endpoints: []string{"unix://" + sock}, DialTimeout: DefaultDialTimeout}
	}
	ca, _ := pki.Field("ETCDServerCA")
	return EtcdConfig{
		Endpoints:   []string{EmbeddedEtcdEndpoint},
		CAFile:      ca.Abs(serverDir),
		CertFile:    filepath.Join(serverDir, filepath.FromSlash(pki.EtcdClientCert)),
		KeyFile:     filepath.Join(serverDir, filepath.FromSlash(pki.EtcdClientKey)),
		DialTimeout: DefaultDialTimeout,
	}
}

// Etcd is a Backend speaking the etcd v3 API, restricted to the request
// shapes kine accepts (spec 5.3), so it works against kine and etcd alike.
// It talks to the first of the configured endpoints that answered when it
// was opened; a request is never resent to another endpoint (a lost reply
// to a compare-and-swap must be read back, not retried).
type Etcd struct {
	client  *etcdrpc.Client
	timeout time.Duration
}

var _ Backend = (*Etcd)(nil)

// OpenEtcd connects to cfg's endpoints in order and keeps the first that
// answers within cfg.DialTimeout; when none does it fails with an error
// wrapping ErrUnreachable (and ErrEtcdTLS for a TLS failure).
func OpenEtcd(ctx context.Context, cfg EtcdConfig) (*Etcd, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("open etcd: no endpoints")
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	tlsConfig, err := cfg.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("open etcd: %w", err)
	}
	var errs []error
	for _, ep := range cfg.Endpoints {
		client, err := etcdrpc.New(ep, tlsConfig)
		if err != nil {
			return nil, fmt.Errorf("open etcd: %w", err)
		}
		pingCtx, cancel := context.WithTimeout(ctx, timeout)
		// A plain Get proves the endpoint answers (kine accepts it).
		_, err = client.Range(pingCtx, etcdrpc.RangeRequest{Key: []byte(BootstrapPrefix)})
		cancel()
		if err == nil {
			return &Etcd{client: client, timeout: timeout}, nil
		}
		_ = client.Close()
		if herr := diagnoseTLS(ctx, ep, tlsConfig); herr != nil {
			errs = append(errs, fmt.Errorf("%w: %w: %w", ErrUnreachable, ErrEtcdTLS, herr))
			continue
		}
		errs = append(errs, classify(err))
	}
	return nil, fmt.Errorf("open etcd %v: %w", cfg.Endpoints, errors.Join(errs...))
}

// tlsConfig builds the client TLS config, or nil for plain gRPC.
func (cfg EtcdConfig) tlsConfig() (*tls.Config, error) {
	if cfg.CAFile == "" && cfg.CertFile == "" && cfg.KeyFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read etcd CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd CA %s: %w", cfg.CAFile, pki.ErrNoCertificates)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load etcd client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// diagnoseTLS tells why a TLS endpoint did not answer: it returns the TLS
// error when a TCP connection succeeds but the handshake (or, with TLS 1.3,
// the server's verdict on our client certificate) fails, and nil otherwise.
// The HTTP/2 transport may report only the broken connection (the
// server resets it), which hides this cause.
func diagnoseTLS(ctx context.Context, endpoint string, tc *tls.Config) error {
	u, err := url.Parse(endpoint)
	if tc == nil || err != nil || u.Scheme != "https" || u.Host == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil
	}
	defer raw.Close()
	tc = tc.Clone()
	tc.ServerName = u.Hostname()
	tc.NextProtos = []string{"h2"}
	conn := tls.Client(raw, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		return err
	}
	// A TLS 1.3 server rejects a client certificate after the handshake.
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	_, err = conn.Read(b[:])
	var alert tls.AlertError
	if errors.As(err, &alert) || (err != nil && strings.Contains(err.Error(), "remote error: tls")) {
		return err
	}
	return nil
}

// classify wraps transport failures with ErrUnreachable and leaves others alone.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, etcdrpc.ErrTransport) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	switch etcdrpc.CodeOf(err) {
	case etcdrpc.Unavailable, etcdrpc.DeadlineExceeded, etcdrpc.Canceled:
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

// opContext bounds one request with the backend's timeout.
func (e *Etcd) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.timeout)
}

// Name implements Backend.
func (e *Etcd) Name() string { return "etcd" }

// Get implements Backend with a plain Get.
func (e *Etcd) Get(ctx context.Context, key string) (KV, error) {
	ctx, cancel := e.opContext(ctx)
	defer cancel()
	resp, err := e.client.Range(ctx, etcdrpc.RangeRequest{Key: []byte(key)})
	if err != nil {
		return KV{}, fmt.Errorf("get %s: %w", key, classify(err))
	}
	if len(resp.Kvs) == 0 {
		return KV{}, fmt.Errorf("get %s: %w", key, ErrKeyNotFound)
	}
	return toKV(resp.Kvs[0]), nil
}

// List implements Backend with Get(prefix, WithPrefix), as k3s does; for
// "/bootstrap" the range is ["/bootstrap", "/bootstraq").
func (e *Etcd) List(ctx context.Context, prefix string) ([]KV, error) {
	ctx, cancel := e.opContext(ctx)
	defer cancel()
	resp, err := e.client.Range(ctx, etcdrpc.RangeRequest{Key: []byte(prefix), RangeEnd: etcdrpc.PrefixEnd([]byte(prefix))})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, classify(err))
	}
	out := make([]KV, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out = append(out, toKV(kv))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Create implements Backend: Txn If(ModRevision==0) Then(Put), no Else.
func (e *Etcd) Create(ctx context.Context, key string, value []byte) (int64, error) {
	ctx, cancel := e.opContext(ctx)
	defer cancel()
	resp, err := e.client.Txn(ctx, etcdrpc.TxnRequest{
		Compare: []etcdrpc.Compare{{Key: []byte(key), ModRevision: 0}},
		Success: []etcdrpc.Op{{Put: &etcdrpc.PutRequest{Key: []byte(key), Value: value}}},
	})
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", key, classify(err))
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("create %s: %w", key, ErrKeyExists)
	}
	return resp.Header.Revision, nil
}

// Update implements Backend: Txn If(ModRevision==rev) Then(Put) Else(Get).
func (e *Etcd) Update(ctx context.Context, key string, rev int64, value []byte) (int64, error) {
	ctx, cancel := e.opContext(ctx)
	defer cancel()
	resp, err := e.client.Txn(ctx, etcdrpc.TxnRequest{
		Compare: []etcdrpc.Compare{{Key: []byte(key), ModRevision: rev}},
		Success: []etcdrpc.Op{{Put: &etcdrpc.PutRequest{Key: []byte(key), Value: value}}},
		Failure: []etcdrpc.Op{{Range: &etcdrpc.RangeRequest{Key: []byte(key)}}},
	})
	if err != nil {
		return 0, fmt.Errorf("update %s: %w", key, classify(err))
	}
	if !resp.Succeeded {
		current := "the key no longer exists"
		if len(resp.Responses) == 1 {
			if r := resp.Responses[0].Range; r != nil && len(r.Kvs) > 0 {
				current = fmt.Sprintf("current revision is %d", r.Kvs[0].ModRevision)
			}
		}
		return 0, fmt.Errorf("update %s at revision %d: %s: %w", key, rev, current, ErrRevisionMismatch)
	}
	return resp.Header.Revision, nil
}

// Close implements Backend.
func (e *Etcd) Close() error {
	return e.client.Close()
}

func toKV(kv etcdrpc.KeyValue) KV {
	return KV{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision}
}
