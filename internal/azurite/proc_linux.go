//go:build linux

package azurite

import "syscall"

// sysProcAttr puts the emulator in its own process group (so Stop can kill
// it and its children) and asks the kernel to kill it if this process dies
// without calling Stop. Pdeathsig is tied to the OS thread that started the
// child; the Go runtime does not retire threads unless a goroutine exits
// while locked to one, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
