//go:build unix && !linux

package azurite

import "syscall"

// sysProcAttr puts the emulator in its own process group so Stop can kill it
// and its children.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
