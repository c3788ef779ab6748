//go:build unix

package azurite_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/tenantwatch/tenantwatch/internal/azurite"
)

func TestStopKillsProcessGroup(t *testing.T) {
	e, err := azurite.Start(context.Background(), azurite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := azurite.PID(e)
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	// The group no longer exists: signalling it fails with ESRCH.
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("kill(-%d, 0) = %v; want ESRCH", pid, err)
	}
}
