package azurite

// PID exposes the emulator's process id to tests.
func PID(e *Emulator) int { return e.cmd.Process.Pid }
