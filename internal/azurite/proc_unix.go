//go:build unix

package azurite

import (
	"os"
	"syscall"
)

// killGroup kills the whole process group: npm shims or Node may start
// children of their own.
func killGroup(p *os.Process) error {
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if err == syscall.ESRCH {
		return os.ErrProcessDone
	}
	return err
}
