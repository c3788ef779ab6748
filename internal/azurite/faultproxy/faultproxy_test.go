package faultproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// echoServer echoes every line back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTrip writes a line on c and reads it back.
func roundTrip(c net.Conn, r *bufio.Reader, line string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	s, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return s[:len(s)-1], nil
}

// dialAndRoundTrip is for connections expected to fail: the dial itself
// may already see the reset.
func dialAndRoundTrip(addr, line string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return roundTrip(c, bufio.NewReader(c), line)
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestForwardsWhenUp(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c, r := dial(t, p.Addr())
	for _, want := range []string{"one", "two", "three"} {
		got, err := roundTrip(c, r, want)
		if err != nil || got != want {
			t.Fatalf("roundTrip(%q) = %q, %v", want, got, err)
		}
	}
}

func TestDownSeversExistingAndRefusesNew(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c, r := dial(t, p.Addr())
	if _, err := roundTrip(c, r, "before"); err != nil {
		t.Fatal(err)
	}

	p.SetDown(true)
	if !p.Down() {
		t.Fatal("Down() = false after SetDown(true)")
	}
	start := time.Now()
	if got, err := roundTrip(c, r, "during"); err == nil {
		t.Fatalf("existing connection still works while down: got %q", got)
	}
	// A new connection may be accepted by the kernel, but it is reset
	// before any data flows.
	if got, err := dialAndRoundTrip(p.Addr(), "new"); err == nil {
		t.Fatalf("new connection works while down: got %q", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failures took %v; want them immediate", d)
	}

	p.SetDown(false)
	c3, r3 := dial(t, p.Addr())
	if got, err := roundTrip(c3, r3, "after"); err != nil || got != "after" {
		t.Fatalf("after SetDown(false): %q, %v", got, err)
	}
}

func TestHTTPClientSeesTransportErrorWhileDown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	p := newProxy(t, srv.Listener.Addr().String())
	client := &http.Client{Timeout: 5 * time.Second}
	get := func() error {
		resp, err := client.Get("http://" + p.Addr() + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	p.SetDown(true)
	for i := 0; i < 3; i++ { // also covers a pooled keep-alive connection
		if err := get(); err == nil {
			t.Fatal("GET succeeded while down")
		}
	}
	p.SetDown(false)
	if err := get(); err != nil {
		t.Fatalf("GET after up again: %v", err)
	}
}

func TestUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	p := newProxy(t, dead)
	if _, err := dialAndRoundTrip(p.Addr(), "x"); err == nil {
		t.Fatal("round trip through a proxy to a dead target succeeded")
	}
}

func TestCloseIsIdempotentAndStopsListening(t *testing.T) {
	p, err := New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	c, r := dial(t, p.Addr())
	if _, err := roundTrip(c, r, "x"); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := roundTrip(c, r, "y"); err == nil {
		t.Fatal("connection survived Close")
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("proxy still listening after Close")
	}
}
