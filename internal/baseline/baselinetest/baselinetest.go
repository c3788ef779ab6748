// Package baselinetest opens stores for tests: each call gets tables of its
// own on a shared emulator, so tests share one Azurite without sharing state.
package baselinetest

import (
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/internal/baseline"
)

// Open returns a store on fresh tables of the account connectionString
// names, failing the test if it cannot.
func Open(t testing.TB, connectionString string) *baseline.Store {
	t.Helper()
	id := strings.ToLower(rand.Text()[:16]) // letters and digits: a valid table-name tail
	s, err := baseline.Open(baseline.Config{
		Connection:    baseline.Connection{ConnectionString: connectionString},
		BaselineTable: "b" + id, AlertsTable: "a" + id, CreateTables: true,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
