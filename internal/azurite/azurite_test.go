package azurite_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/azurite"
	"github.com/tenantwatch/tenantwatch/internal/azurite/azuritetest"
)

func TestStartServesTablesAndStops(t *testing.T) {
	e := azuritetest.Start(t)

	if !strings.HasPrefix(e.TableEndpoint(), "http://127.0.0.1:") {
		t.Errorf("TableEndpoint() = %q", e.TableEndpoint())
	}
	cs := e.ConnectionString()
	for _, part := range []string{
		"DefaultEndpointsProtocol=http;",
		"AccountName=devstoreaccount1;",
		"AccountKey=" + azurite.AccountKey + ";",
		"TableEndpoint=http://" + e.Addr() + "/devstoreaccount1;",
	} {
		if !strings.Contains(cs, part) {
			t.Errorf("ConnectionString() = %q, missing %q", cs, part)
		}
	}

	// Any HTTP answer proves the table service is up (an unsigned request
	// is refused, which is fine).
	resp, err := http.Get(e.TableEndpoint() + "/Tables")
	if err != nil {
		t.Fatalf("GET Tables: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("unsigned GET Tables = %d; want a 4xx", resp.StatusCode)
	}

	if err := e.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := e.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", e.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("port still answers after Stop")
	}
}

func TestConcurrentEmulators(t *testing.T) {
	a := azuritetest.Start(t)
	b := azuritetest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two emulators on one address %s", a.Addr())
	}
}

func TestMissingInstallation(t *testing.T) {
	dir := t.TempDir()
	_, err := azurite.Start(context.Background(), azurite.Options{Dir: dir})
	if !errors.Is(err, azurite.ErrNotInstalled) {
		t.Fatalf("Start in an empty directory: %v; want ErrNotInstalled", err)
	}
	if !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("error %q does not say how to fix it", err)
	}

	_, err = azurite.Start(context.Background(), azurite.Options{Bin: filepath.Join(dir, "nope")})
	if !errors.Is(err, azurite.ErrNotInstalled) {
		t.Fatalf("Start with a missing Bin: %v; want ErrNotInstalled", err)
	}

	script := filepath.Join(dir, "azurite-table")
	if err := os.WriteFile(script, []byte("//"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = azurite.Start(context.Background(), azurite.Options{Bin: script, Node: "no-such-node-binary"})
	if !errors.Is(err, azurite.ErrNotInstalled) {
		t.Fatalf("Start without node: %v; want ErrNotInstalled", err)
	}
}

func TestEarlyExitReportsOutput(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "azurite-table")
	if err := os.WriteFile(script, []byte(`console.error("boom: cannot start"); process.exit(3);`), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := azurite.Start(context.Background(), azurite.Options{Bin: script, StartTimeout: 20 * time.Second})
	if err == nil {
		t.Fatal("Start succeeded with a script that exits")
	}
	if !strings.Contains(err.Error(), "boom: cannot start") {
		t.Errorf("error %q does not include the emulator's output", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to notice the exit", d)
	}
}

func TestStartTimeout(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "azurite-table")
	if err := os.WriteFile(script, []byte(`setInterval(() => {}, 1000);`), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := azurite.Start(context.Background(), azurite.Options{Bin: script, StartTimeout: 500 * time.Millisecond})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with a script that never listens: %v; want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v; want about the 500ms timeout", d)
	}
}
