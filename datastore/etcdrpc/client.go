// Package etcdrpc is a small etcd v3 client: the few KV and Maintenance
// calls k3sca makes (Range, Txn, Status, Alarm, Snapshot), spoken as gRPC
// over HTTP/2 with net/http, the messages encoded by hand in the protobuf
// wire format. It links neither grpc-go nor google.golang.org/protobuf nor
// etcd's generated API, which keeps k3sca's start-up (package
// initialisation) and binary small.
//
// Endpoints are etcd client URLs: https://host:port (TLS, typically with a
// client certificate, as k3s's embedded etcd on https://127.0.0.1:2379),
// http://host:port (HTTP/2 with prior knowledge, "h2c"), unix:///path
// (h2c on a unix socket, as kine's kine.sock) and a bare host:port (h2c).
// A call's gRPC status other than OK comes back as a *StatusError; a
// failure to reach the server or to finish the exchange as an error that
// wraps ErrTransport (and the underlying net or TLS error).
package etcdrpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxMessageSize bounds one received gRPC message (a Range of many large
// values would be the biggest); a bigger one fails the call.
const MaxMessageSize = 64 << 20

// ErrTransport: the server could not be reached or the exchange broke off
// (dial, TLS, reset connection, deadline). Whether a request that failed
// this way was applied is unknown.
var ErrTransport = errors.New("etcd transport failure")

// ErrProtocol: the server answered with something that is not a well-formed
// gRPC response of the call.
var ErrProtocol = errors.New("etcd protocol error")

// Client talks to one etcd endpoint over one HTTP/2 connection (redialled
// when it breaks). It is safe for concurrent use.
type Client struct {
	endpoint string
	base     string // scheme://authority the request paths go under
	hc       *http.Client
	tr       *http.Transport
}

// New returns a client for endpoint; tc is the TLS configuration for an
// https endpoint (nil: system roots, no client certificate) and must be nil
// for the plain schemes. It does no I/O: the first call dials.
func New(endpoint string, tc *tls.Config) (*Client, error) {
	tr := &http.Transport{
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	var protos http.Protocols
	c := &Client{endpoint: endpoint, tr: tr, hc: &http.Client{Transport: tr}}
	scheme, rest, ok := strings.Cut(endpoint, "://")
	if !ok {
		scheme, rest = "http", endpoint
	}
	switch scheme {
	case "https":
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("etcd endpoint %q: not a URL with a host", endpoint)
		}
		if tc != nil {
			tr.TLSClientConfig = tc.Clone()
		}
		protos.SetHTTP2(true)
		c.base = "https://" + u.Host
	case "http":
		u, err := url.Parse("http://" + rest)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("etcd endpoint %q: not a URL with a host", endpoint)
		}
		if tc != nil {
			return nil, fmt.Errorf("etcd endpoint %q: TLS configured for a plain endpoint (use https://)", endpoint)
		}
		protos.SetUnencryptedHTTP2(true)
		c.base = "http://" + u.Host
	case "unix":
		if rest == "" {
			return nil, fmt.Errorf("etcd endpoint %q: no socket path", endpoint)
		}
		if tc != nil {
			return nil, fmt.Errorf("etcd endpoint %q: TLS configured for a unix socket", endpoint)
		}
		protos.SetUnencryptedHTTP2(true)
		// grpc-go's authority for a unix target.
		c.base = "http://localhost"
		path := rest
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}
	default:
		return nil, fmt.Errorf("etcd endpoint %q: unsupported scheme %q (want https, http or unix)", endpoint, scheme)
	}
	tr.Protocols = &protos
	return c, nil
}

// Endpoint is the endpoint the client was made for.
func (c *Client) Endpoint() string { return c.endpoint }

// Close drops the client's connection.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// Range is KV.Range.
func (c *Client) Range(ctx context.Context, req RangeRequest) (*RangeResponse, error) {
	out := &RangeResponse{}
	return out, c.unary(ctx, "/etcdserverpb.KV/Range", req.marshal(nil), out.unmarshal)
}

// Txn is KV.Txn.
func (c *Client) Txn(ctx context.Context, req TxnRequest) (*TxnResponse, error) {
	out := &TxnResponse{}
	return out, c.unary(ctx, "/etcdserverpb.KV/Txn", req.marshal(nil), out.unmarshal)
}

// Status is Maintenance.Status of the member behind the endpoint.
func (c *Client) Status(ctx context.Context) (*StatusResponse, error) {
	out := &StatusResponse{}
	return out, c.unary(ctx, "/etcdserverpb.Maintenance/Status", nil, out.unmarshal)
}

// AlarmList is Maintenance.Alarm with action GET for every member and
// alarm type, as etcdctl alarm list asks.
func (c *Client) AlarmList(ctx context.Context) (*AlarmResponse, error) {
	out := &AlarmResponse{}
	return out, c.unary(ctx, "/etcdserverpb.Maintenance/Alarm", nil, out.unmarshal)
}

// Snapshot opens Maintenance.Snapshot, a server stream of the member's
// backend database followed by its sha256. It reads the first message
// (a refusal fails here) and returns the stream of blobs; the caller reads
// it to io.EOF and closes it. ctx bounds the whole download.
func (c *Client) Snapshot(ctx context.Context) (*SnapshotStream, error) {
	const method = "/etcdserverpb.Maintenance/Snapshot"
	resp, err := c.call(ctx, method, nil)
	if err != nil {
		return nil, err
	}
	s := &SnapshotStream{c: c, method: method, resp: resp}
	first, err := s.next()
	if err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	s.Version, s.buf = first.Version, first.Blob
	return s, nil
}

// SnapshotStream is an open Maintenance.Snapshot: Read yields the blobs.
type SnapshotStream struct {
	// Version is the storage version the member reports ("" before etcd 3.6).
	Version string

	c      *Client
	method string
	resp   *http.Response
	buf    []byte
	err    error
}

// Read implements io.Reader; after the last blob it returns io.EOF, or the
// call's status when the server ended it with an error.
func (s *SnapshotStream) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		m, err := s.next()
		if err != nil {
			s.err = err
			continue
		}
		s.buf = m.Blob
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// Close implements io.Closer; closing before io.EOF cancels the stream.
func (s *SnapshotStream) Close() error { return s.resp.Body.Close() }

// next reads the next message, or the end of the stream: io.EOF for an OK
// status, the status error otherwise.
func (s *SnapshotStream) next() (*SnapshotResponse, error) {
	msg, err := readMessage(s.resp.Body)
	if errors.Is(err, io.EOF) {
		if err := s.c.status(s.method, s.resp); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, s.c.transportErr(s.method, err)
	}
	out := &SnapshotResponse{}
	if err := out.unmarshal(msg); err != nil {
		return nil, fmt.Errorf("etcd %s: %w: %w", s.method, ErrProtocol, err)
	}
	return out, nil
}

// unary makes a call with one request and one response message.
func (c *Client) unary(ctx context.Context, method string, req []byte, decode func([]byte) error) error {
	resp, err := c.call(ctx, method, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, err := readMessage(resp.Body)
	if errors.Is(err, io.EOF) {
		// No message: the status says why (a trailers-only error).
		if err := c.status(method, resp); err != nil {
			return err
		}
		return fmt.Errorf("etcd %s: %w: OK status without a response message", method, ErrProtocol)
	}
	if err != nil {
		return c.transportErr(method, err)
	}
	// Read to the end of the stream for the trailers.
	if _, err := readMessage(resp.Body); !errors.Is(err, io.EOF) {
		if err == nil {
			return fmt.Errorf("etcd %s: %w: more than one response message", method, ErrProtocol)
		}
		return c.transportErr(method, err)
	}
	if err := c.status(method, resp); err != nil {
		return err
	}
	if err := decode(msg); err != nil {
		return fmt.Errorf("etcd %s: %w: %w", method, ErrProtocol, err)
	}
	return nil
}

// call sends one request message and returns the response whose body is
// the response stream.
func (c *Client) call(ctx context.Context, method string, req []byte) (*http.Response, error) {
	body := make([]byte, 5, 5+len(req))
	binary.BigEndian.PutUint32(body[1:], uint32(len(req)))
	body = append(body, req...)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", method, err)
	}
	hreq.Header["Content-Type"] = []string{"application/grpc+proto"}
	hreq.Header["Te"] = []string{"trailers"}
	hreq.Header["User-Agent"] = []string{"k3sca-etcdrpc"}
	if dl, ok := ctx.Deadline(); ok {
		hreq.Header["Grpc-Timeout"] = []string{grpcTimeout(time.Until(dl))}
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, c.transportErr(method, err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("etcd %s at %s: %w: HTTP status %s", method, c.endpoint, ErrProtocol, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/grpc") {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("etcd %s at %s: %w: content type %q", method, c.endpoint, ErrProtocol, ct)
	}
	return resp, nil
}

func (c *Client) transportErr(method string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, ErrProtocol) {
		return fmt.Errorf("etcd %s at %s: %w", method, c.endpoint, err)
	}
	return fmt.Errorf("etcd %s at %s: %w: %w", method, c.endpoint, ErrTransport, err)
}

// status reads the call's gRPC status from the trailers (or, for a
// trailers-only response, the headers); nil for OK.
func (c *Client) status(method string, resp *http.Response) error {
	code := resp.Trailer.Get("Grpc-Status")
	msg := resp.Trailer.Get("Grpc-Message")
	if code == "" {
		code, msg = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	if code == "" {
		return fmt.Errorf("etcd %s at %s: %w: the response has no grpc-status", method, c.endpoint, ErrProtocol)
	}
	n, err := strconv.ParseUint(code, 10, 32)
	if err != nil {
		return fmt.Errorf("etcd %s at %s: %w: grpc-status %q", method, c.endpoint, ErrProtocol, code)
	}
	if n == 0 {
		return nil
	}
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	return &StatusError{Method: method, Endpoint: c.endpoint, Code: Code(n), Message: msg}
}

// readMessage reads one length-prefixed gRPC message: io.EOF at a clean
// end of the stream, io.ErrUnexpectedEOF inside a message.
func readMessage(r io.Reader) ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] != 0 {
		return nil, fmt.Errorf("%w: compressed message (flag %d), none was asked for", ErrProtocol, hdr[0])
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxMessageSize {
		return nil, fmt.Errorf("%w: a %d-byte message, more than %d", ErrProtocol, n, MaxMessageSize)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return msg, nil
}

// grpcTimeout is d as a grpc-timeout header value (at most 8 digits).
func grpcTimeout(d time.Duration) string {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms < 1 {
		ms = 1
	}
	if ms <= 99999999 {
		return strconv.FormatInt(int64(ms), 10) + "m"
	}
	return strconv.FormatInt(min(int64(d/time.Second), 99999999), 10) + "S"
}
