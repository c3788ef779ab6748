// Package azurite runs the Azurite Table Storage emulator as a child process,
// for integration tests and for local development (make run).
//
// Azurite comes from npm (the repository's package.json pins it), so Start
// looks for node_modules/.bin/azurite-table by walking up from the working
// directory and runs it with Node.js, in memory, on a free loopback port.
// The emulator is a child in its own process group: Stop kills the whole
// group, and on Linux the kernel kills it too when the parent dies.
package azurite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Well-known development storage account. Azurite accepts only this key
// unless told otherwise; it is published in the Azurite and Azure Storage
// documentation and grants access to nothing else.
const (
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Options configures Start. The zero value finds Azurite from the working
// directory and node on PATH.
type Options struct {
	// Dir is where the search for node_modules/.bin/azurite-table starts;
	// it walks up to the directory holding package.json and node_modules.
	// Default: the working directory.
	Dir string
	// Bin is the azurite-table script. When set, no search is made.
	Bin string
	// Node is the Node.js executable. Default: "node" looked up on PATH.
	Node string
	// StartTimeout bounds the wait for the emulator to accept connections.
	// Default: 30s.
	StartTimeout time.Duration
	// AccessLog keeps Azurite's per-request access log (it is silenced by
	// default: it is noise in tests).
	AccessLog bool
	// Output, when set, also receives the emulator's stdout and stderr.
	Output io.Writer
}

// Emulator is a running Azurite Table emulator.
type Emulator struct {
	cmd      *exec.Cmd
	addr     string
	location string
	out      *tailBuffer
	exited   chan struct{} // closed when the process has been reaped
	waitErr  error         // valid after exited is closed

	stopOnce sync.Once
	stopErr  error
}

// ErrNotInstalled reports that node or the azurite package is missing.
var ErrNotInstalled = errors.New("azurite not installed: run npm ci in the repository root (needs Node.js 20+)")

// Start launches azurite-table and waits until its port answers. The caller
// must call Stop. ctx bounds the start only, not the emulator's life.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	script, err := findScript(opts)
	if err != nil {
		return nil, err
	}
	node := opts.Node
	if node == "" {
		node = "node"
	}
	nodePath, err := exec.LookPath(node)
	if err != nil {
		return nil, fmt.Errorf("%w: node executable %q not found: %v", ErrNotInstalled, node, err)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// Picking a free port and handing it to another process is racy: a
	// process may take it in between. Azurite then exits at once with
	// EADDRINUSE, so a few attempts make the race harmless.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		e, err := startOnce(ctx, nodePath, script, opts)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errAddrInUse) {
			break
		}
	}
	return nil, lastErr
}

var (
	errExitedEarly = errors.New("azurite exited before accepting connections")
	errAddrInUse   = errors.New("port taken")
)

func startOnce(ctx context.Context, node, script string, opts Options) (*Emulator, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("azurite: find a free port: %w", err)
	}
	location, err := os.MkdirTemp("", "azurite-")
	if err != nil {
		return nil, fmt.Errorf("azurite: workspace: %w", err)
	}
	args := []string{script,
		"--inMemoryPersistence",
		"--disableTelemetry",
		"--skipApiVersionCheck",
		"--tableHost", "127.0.0.1",
		"--tablePort", strconv.Itoa(port),
		// No --location: Azurite 3.37 refuses it together with
		// --inMemoryPersistence. The working directory below is a fresh
		// temporary one instead, in case it writes anything there.
	}
	if !opts.AccessLog {
		args = append(args, "--silent")
	}
	out := newTailBuffer(64 << 10)
	// Not exec.CommandContext: ctx bounds the start, the process outlives it.
	cmd := exec.Command(node, args...)
	cmd.Dir = location
	var w io.Writer = out
	if opts.Output != nil {
		w = io.MultiWriter(out, opts.Output)
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(location)
		return nil, fmt.Errorf("azurite: start %s: %w", script, err)
	}
	e := &Emulator{
		cmd:      cmd,
		addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		location: location,
		out:      out,
		exited:   make(chan struct{}),
	}
	go func() {
		e.waitErr = cmd.Wait()
		close(e.exited)
	}()
	if err := e.waitReady(ctx); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// waitReady polls the port until it accepts a connection, the process
// exits, or ctx ends.
func (e *Emulator) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := d.DialContext(dctx, "tcp", e.addr)
		cancel()
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-e.exited:
			out := e.out.String()
			err := fmt.Errorf("%w (%v); output:\n%s", errExitedEarly, e.waitErr, out)
			if strings.Contains(out, "EADDRINUSE") {
				err = fmt.Errorf("%w: %w", errAddrInUse, err)
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("azurite did not accept connections on %s: %w; output:\n%s", e.addr, ctx.Err(), e.out.String())
		case <-tick.C:
		}
	}
}

// Addr is the emulator's host:port.
func (e *Emulator) Addr() string { return e.addr }

// TableEndpoint is the table service URL of the development account.
func (e *Emulator) TableEndpoint() string {
	return "http://" + e.addr + "/" + AccountName
}

// ConnectionString is a full connection string for the development account.
func (e *Emulator) ConnectionString() string {
	return ConnectionString(e.addr)
}

// ConnectionString builds the development-account connection string for an
// emulator (or a proxy in front of one) listening on addr.
func ConnectionString(addr string) string {
	return "DefaultEndpointsProtocol=http;AccountName=" + AccountName +
		";AccountKey=" + AccountKey +
		";TableEndpoint=http://" + addr + "/" + AccountName + ";"
}

// Output returns the tail of what the emulator has written so far.
func (e *Emulator) Output() string { return e.out.String() }

// Stop kills the emulator's process group, waits for it and removes its
// workspace. It is safe to call more than once; later calls return the
// first call's result.
func (e *Emulator) Stop() error {
	e.stopOnce.Do(func() {
		select {
		case <-e.exited:
		default:
			if err := killGroup(e.cmd.Process); err != nil && !errors.Is(err, os.ErrProcessDone) {
				e.stopErr = fmt.Errorf("azurite: kill: %w", err)
			}
			select {
			case <-e.exited:
			case <-time.After(10 * time.Second):
				if e.stopErr == nil {
					e.stopErr = errors.New("azurite: process did not exit within 10s of SIGKILL")
				}
			}
		}
		if err := os.RemoveAll(e.location); err != nil && e.stopErr == nil {
			e.stopErr = fmt.Errorf("azurite: remove workspace: %w", err)
		}
	})
	return e.stopErr
}

// findScript returns the azurite-table script to run with node.
func findScript(opts Options) (string, error) {
	if opts.Bin != "" {
		if _, err := os.Stat(opts.Bin); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
		return opts.Bin, nil
	}
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("azurite: working directory: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("azurite: %w", err)
	}
	for {
		if fileExists(filepath.Join(dir, "package.json")) {
			bin := filepath.Join(dir, "node_modules", ".bin", "azurite-table")
			if fileExists(bin) {
				return bin, nil
			}
			// A package.json without the emulator may be a nested package;
			// keep walking up to the repository root.
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no node_modules/.bin/azurite-table next to a package.json above %s", ErrNotInstalled, opts.dirOrWD())
		}
		dir = parent
	}
}

func (o Options) dirOrWD() string {
	if o.Dir != "" {
		return o.Dir
	}
	return "the working directory"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
