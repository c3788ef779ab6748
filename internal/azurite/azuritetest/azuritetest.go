// Package azuritetest starts Azurite for tests.
package azuritetest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/tenantwatch/tenantwatch/internal/azurite"
)

// Start launches Azurite for the test and stops it in t.Cleanup. It never
// skips: when the emulator cannot start the test fails with the reason, so
// a broken setup is seen rather than hidden (CI installs Azurite with
// npm ci).
func Start(t testing.TB) *azurite.Emulator {
	t.Helper()
	e, err := azurite.Start(context.Background(), azurite.Options{})
	if err != nil {
		t.Fatalf("start azurite: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stop azurite: %v", err)
		}
	})
	return e
}

// Main runs a package's tests with one Azurite shared by all of them, for
// TestMain: emu is set before the tests run, and the emulator is stopped
// after. If Azurite cannot start, the run fails with the reason (never
// skipped).
func Main(m *testing.M, emu **azurite.Emulator) int {
	e, err := azurite.Start(context.Background(), azurite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start azurite:", err)
		return 1
	}
	defer e.Stop()
	*emu = e
	return m.Run()
}
