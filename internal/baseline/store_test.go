package baseline

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/tenantwatch/tenantwatch/internal/azurite"
	"github.com/tenantwatch/tenantwatch/internal/azurite/faultproxy"
)

// countingTransport counts requests by method.
type countingTransport struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingTransport) Do(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	key := req.Method
	if strings.HasSuffix(req.URL.Path, "/Tables") {
		key += " Tables"
	}
	c.calls[key]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (c *countingTransport) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[key]
}

func TestEnsureTablesOnceAndConcurrent(t *testing.T) {
	cfg := testConfig(t)
	tr := &countingTransport{}
	cfg.Transport = tr
	s := openStore(t, cfg)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.GetPair(ctx, "u", "t"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := tr.count("POST Tables"); n != 2 {
		t.Errorf("%d table creations; want 2 (one per table, once)", n)
	}
	// An existing table is fine for a second store.
	s2 := openStore(t, cfg)
	if err := s2.EnsureTables(ctx); err != nil {
		t.Errorf("EnsureTables on existing tables: %v", err)
	}
}

func TestMissingTable(t *testing.T) {
	cfg := testConfig(t)
	cfg.CreateTables = false
	tr := &countingTransport{}
	cfg.Transport = tr
	s := openStore(t, cfg)
	ctx := context.Background()

	_, err := s.SavePair(ctx, Pair{User: "u", ResourceTenant: "t", State: testState(t)})
	if !Transient(err) || !hasCode(err, aztables.TableNotFound) {
		t.Errorf("SavePair without the table = %v; want a Transient TableNotFound", err)
	}
	_, _, err = s.ClaimAlert(ctx, testAlert(t, "u", "t", ts(t, "2025-01-01T00:00:00Z")))
	if !Transient(err) {
		t.Errorf("ClaimAlert without the table = %v; want Transient", err)
	}
	if _, err := s.GetPair(ctx, "u", "t"); !Transient(err) {
		t.Errorf("GetPair without the table = %v; want Transient (not a missing pair)", err)
	}
	if _, err := s.DueAlerts(ctx, time.Now(), 10); !Transient(err) {
		t.Errorf("DueAlerts without the table = %v; want Transient", err)
	}
	if n := tr.count("POST Tables"); n != 0 {
		t.Errorf("CreateTables=false created %d tables", n)
	}

	// With CreateTables, a table deleted behind the store's back is
	// created again after the first failure.
	cfg.CreateTables = true
	s = openStore(t, cfg)
	if err := s.EnsureTables(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.DeleteTable(ctx, cfg.BaselineTable, nil); err != nil {
		t.Fatal(err)
	}
	p := Pair{User: "u", ResourceTenant: "t", State: testState(t)}
	if _, err := s.SavePair(ctx, p); !Transient(err) {
		t.Fatalf("SavePair into a deleted table = %v", err)
	}
	if _, err := s.SavePair(ctx, p); err != nil {
		t.Errorf("SavePair after re-creation: %v", err)
	}
}

// outageStore opens a store that reaches Azurite through a fault proxy,
// with few, quick retries so an outage is reported fast.
func outageStore(t *testing.T) (*Store, *faultproxy.Proxy) {
	t.Helper()
	e := emulator(t)
	proxy, err := faultproxy.New(e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	cfg := testConfig(t)
	cfg.Connection.ConnectionString = azurite.ConnectionString(proxy.Addr())
	cfg.OpTimeout = 5 * time.Second
	cfg.Retry = policy.RetryOptions{MaxRetries: 1, RetryDelay: 20 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond}
	return openStore(t, cfg), proxy
}

func TestOutage(t *testing.T) {
	s, proxy := outageStore(t)
	ctx := context.Background()
	p := Pair{User: "outage@example.com", ResourceTenant: "t", State: testState(t)}
	if _, err := s.SavePair(ctx, p); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	ep := ts(t, "2025-01-01T00:00:00Z")

	proxy.SetDown(true)
	ops := map[string]func() error{
		"GetPair": func() error { _, err := s.GetPair(ctx, p.User, p.ResourceTenant); return err },
		"SavePair": func() error {
			_, err := s.SavePair(ctx, Pair{User: "o2", ResourceTenant: "t", State: testState(t)})
			return err
		},
		"ClaimAlert": func() error {
			_, _, err := s.ClaimAlert(ctx, testAlert(t, p.User, p.ResourceTenant, ep))
			return err
		},
		"MoveLearningStartBack": func() error { _, err := s.MoveLearningStartBack(ctx, ep); return err },
		"DueAlerts":             func() error { _, err := s.DueAlerts(ctx, time.Now(), 10); return err },
		"CountTenants":          func() error { _, err := s.CountTenants(ctx, p.User); return err },
	}
	for name, op := range ops {
		start := time.Now()
		err := op()
		d := time.Since(start)
		if err == nil || !Transient(err) || ContentError(err) {
			t.Errorf("%s during the outage = %v; want a Transient error", name, err)
			continue
		}
		if d > 3*time.Second {
			t.Errorf("%s took %v to fail", name, d)
		}
		if msg := err.Error(); strings.Contains(msg, azurite.AccountKey) || strings.Contains(msg, "\n") {
			t.Errorf("%s error leaks the key or spans lines: %q", name, msg)
		}
		t.Logf("%s failed in %v: %v", name, d.Round(time.Millisecond), err)
	}

	proxy.SetDown(false)
	for name, op := range ops {
		if err := op(); err != nil {
			t.Errorf("%s after the outage: %v", name, err)
		}
	}
}

// A service that accepts connections and never answers: the operation
// timeout ends the call.
func TestHangBoundedByOpTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	cfg := testConfig(t)
	cfg.Connection.ConnectionString = azurite.ConnectionString(ln.Addr().String())
	cfg.OpTimeout = 500 * time.Millisecond
	s := openStore(t, cfg)
	start := time.Now()
	_, err = s.GetPair(context.Background(), "u", "t")
	d := time.Since(start)
	if !Transient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetPair against a silent service = %v; want a Transient deadline error", err)
	}
	if d < 400*time.Millisecond || d > 3*time.Second {
		t.Errorf("took %v; want about the 500ms operation timeout", d)
	}
}

func TestSASNeverInErrors(t *testing.T) {
	e := emulator(t)
	proxy, err := faultproxy.New(e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	const sig = "NotARealSignatureButSecret0123456789abcdefXYZ%3D"
	cfg := testConfig(t)
	cfg.Connection.ConnectionString = "TableEndpoint=http://" + proxy.Addr() + "/devstoreaccount1;SharedAccessSignature=sv=2020-08-04&ss=t&srt=sco&sp=rwdlacu&se=2099-01-01T00:00:00Z&sig=" + sig
	cfg.Retry = policy.RetryOptions{MaxRetries: -1}
	s := openStore(t, cfg)
	ctx := context.Background()

	// Azurite refuses the forged signature: 403, an operator's problem.
	_, err = s.GetPair(ctx, "u", "t")
	if !Transient(err) || statusOf(err) != http.StatusForbidden {
		t.Errorf("forged SAS = %v; want a Transient 403", err)
	}
	checkNoSig(t, err, sig)

	// Unreachable: net/http quotes the URL, query and all.
	proxy.SetDown(true)
	_, err = s.GetPair(ctx, "u", "t")
	if !Transient(err) {
		t.Errorf("unreachable = %v; want Transient", err)
	}
	checkNoSig(t, err, sig)
}

func checkNoSig(t *testing.T, err error, sig string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, secret := range []string{sig, "NotARealSignature", "se=2099"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error leaks the SAS: %q", msg)
		}
	}
}

func TestWrongKeyIsTransient(t *testing.T) {
	e := emulator(t)
	cfg := testConfig(t)
	cfg.Connection.ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + testKey + ";TableEndpoint=" + e.TableEndpoint()
	s := openStore(t, cfg)
	_, err := s.GetPair(context.Background(), "u", "t")
	if !Transient(err) || statusOf(err) != http.StatusForbidden {
		t.Errorf("wrong key = %v; want a Transient 403", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks the key: %v", err)
	}
	// EnsureTables failed, so it is tried again next time.
	if s.ensured.Load() {
		t.Error("failed EnsureTables remembered as done")
	}
}

func TestCanceledContext(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.GetPair(ctx, "u", "t")
	if !Transient(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("GetPair(canceled) = %v", err)
	}
}
