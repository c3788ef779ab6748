// Package faultproxy is a TCP proxy that can be switched off, to make a
// backend (Azurite in tests) unreachable for a while.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards TCP connections from a loopback listener to a target.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	down   bool
	closed bool
	conns  map[net.Conn]struct{} // both sides of every live proxied connection

	wg sync.WaitGroup
}

// New starts a proxy listening on 127.0.0.1:0 that forwards to target
// (host:port).
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{target: target, ln: ln, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetDown switches the proxy off (true) or back on (false). Switching off
// resets every open connection; while off, new connections are accepted and
// reset at once, as a crashed or unreachable backend would look to a client.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	var victims []net.Conn
	if down {
		for c := range p.conns {
			victims = append(victims, c)
		}
	}
	p.mu.Unlock()
	for _, c := range victims {
		reset(c)
	}
}

// Down reports whether the proxy is switched off.
func (p *Proxy) Down() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.down
}

// Close stops the listener, resets all connections and waits for the
// proxy's goroutines. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var victims []net.Conn
	for c := range p.conns {
		victims = append(victims, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range victims {
		reset(c)
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary accept failures (e.g. EMFILE): back off briefly.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		if p.down || p.closed {
			p.mu.Unlock()
			reset(c)
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.forget(client)
	backend, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		reset(client)
		return
	}
	if !p.track(backend) {
		reset(backend)
		reset(client)
		return
	}
	defer p.forget(backend)

	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Propagate a half-close so request/response protocols finish;
		// the other direction ends on its own.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(backend, client)
	go pipe(client, backend)
	<-done
	<-done
	_ = client.Close()
	_ = backend.Close()
}

// track registers c unless the proxy went down or closed meanwhile.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down || p.closed {
		return false
	}
	// The client side may have been reset by SetDown while we dialled.
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// reset closes c with SO_LINGER 0 so the peer sees a RST, not a clean EOF.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
