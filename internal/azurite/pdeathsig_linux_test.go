package azurite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/azurite"
)

// TestEmulatorDiesWithParent runs a child test process that starts Azurite
// and exits without calling Stop: the kernel must kill the emulator.
func TestEmulatorDiesWithParent(t *testing.T) {
	if os.Getenv("AZURITE_TEST_ORPHAN") == "1" {
		e, err := azurite.Start(context.Background(), azurite.Options{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("pid:", azurite.PID(e))
		os.Exit(0) // no Stop
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmulatorDiesWithParent$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AZURITE_TEST_ORPHAN=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	pid := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "pid: "); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	if pid == 0 {
		t.Fatalf("helper printed no pid:\n%s", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL) // don't leak it
			t.Fatalf("emulator %d still alive 10s after its parent exited", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
