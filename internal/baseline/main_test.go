package baseline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/internal/azurite"
)

// One Azurite serves the whole package; it starts on first use, so unit
// tests and fuzzing run without it. Tests isolate themselves with their own
// tables.
var (
	emuOnce sync.Once
	emu     *azurite.Emulator
	emuErr  error
	tableN  atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if emu != nil {
		if err := emu.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop azurite:", err)
		}
	}
	os.Exit(code)
}

// emulator returns the package's Azurite, failing (never skipping) the test
// when it cannot start.
func emulator(t testing.TB) *azurite.Emulator {
	t.Helper()
	emuOnce.Do(func() {
		emu, emuErr = azurite.Start(context.Background(), azurite.Options{})
	})
	if emuErr != nil {
		t.Fatalf("start azurite: %v", emuErr)
	}
	return emu
}

// testConfig is a Config for fresh tables on the package's Azurite, with
// quick retries so failures surface fast.
func testConfig(t testing.TB) Config {
	t.Helper()
	e := emulator(t)
	n := tableN.Add(1)
	return Config{
		Connection:    Connection{ConnectionString: e.ConnectionString(), Source: "test"},
		BaselineTable: fmt.Sprintf("Base%d", n),
		AlertsTable:   fmt.Sprintf("Alerts%d", n),
		CreateTables:  true,
		OpTimeout:     10 * time.Second,
		Retry:         policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond},
	}
}

func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func newTestStore(t testing.TB) *Store {
	t.Helper()
	return openStore(t, testConfig(t))
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// ts parses an RFC 3339 time or fails the test.
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
