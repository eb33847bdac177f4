package testservers

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// ReplyHold is how long a proxy armed with DropNextReply keeps the
// connection open after forwarding the request, swallowing what the server
// sends, before it resets it: long enough for kine or etcd to apply a write.
const ReplyHold = time.Second

// Proxy is a TCP proxy on 127.0.0.1 in front of a datastore (a TCP address
// or kine's unix socket) that can lose one exchange the way a network
// does: the request forwarded and the reply lost, or the request lost.
type Proxy struct {
	t       testing.TB
	ln      net.Listener
	network string
	addr    string

	mu    sync.Mutex
	arm   proxyMode
	conns map[net.Conn]struct{}
	// Dropped is closed once the armed exchange was lost.
	dropped chan struct{}
}

type proxyMode int

const (
	proxyForward proxyMode = iota
	proxyDropReply
	proxyDropRequest
)

// StartProxy listens on a free 127.0.0.1 port and forwards every
// connection to network/addr ("tcp" "127.0.0.1:2379", "unix" "/path/kine.sock").
// It is closed at the end of the test.
func StartProxy(t testing.TB, network, addr string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{t: t, ln: ln, network: network, addr: addr, conns: map[net.Conn]struct{}{}, dropped: make(chan struct{})}
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// URL is the proxy's plain etcd client URL.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// DropNextReply arms the proxy: the next bytes a client sends are
// forwarded, then for ReplyHold everything the server sends on that
// connection is swallowed, then the connection is reset. The server has
// applied the request; the client never learns it.
func (p *Proxy) DropNextReply() { p.setArm(proxyDropReply) }

// DropNextRequest arms the proxy: the next bytes a client sends are not
// forwarded and the connection is reset at once.
func (p *Proxy) DropNextRequest() { p.setArm(proxyDropRequest) }

func (p *Proxy) setArm(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.arm = m
}

// Dropped is closed once an armed exchange was lost.
func (p *Proxy) Dropped() <-chan struct{} { return p.dropped }

// Close stops accepting and resets every connection: the datastore is
// unreachable through the proxy from then on.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		reset(c)
	}
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial(p.network, p.addr)
		if err != nil {
			reset(c)
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.pipe(c, s)
	}
}

// pipe forwards one connection both ways, losing the armed exchange.
func (p *Proxy) pipe(c, s net.Conn) {
	var (
		mu      sync.Mutex
		holding bool
	)
	lose := func() {
		// Signalled before the reset: a client that sees the reset may
		// be done (read back, returned) before this goroutine runs again.
		p.mu.Lock()
		select {
		case <-p.dropped:
		default:
			close(p.dropped)
		}
		p.mu.Unlock()
		reset(c)
		_ = s.Close()
	}
	go func() { // server to client
		buf := make([]byte, 64<<10)
		for {
			n, err := s.Read(buf)
			mu.Lock()
			hold := holding
			mu.Unlock()
			if n > 0 && !hold {
				if _, werr := c.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		_ = c.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			p.mu.Lock()
			arm := p.arm
			p.arm = proxyForward
			p.mu.Unlock()
			switch arm {
			case proxyDropRequest:
				lose()
				return
			case proxyDropReply:
				mu.Lock()
				holding = true
				mu.Unlock()
				time.AfterFunc(ReplyHold, lose)
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				reset(c)
			}
			break
		}
	}
	_ = s.Close()
}

// reset closes a TCP connection with an RST (connection reset by peer).
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
