// Package hostsim plays the Azure Functions host towards a handler process:
// it starts the handler the way the host does (a port in
// FUNCTIONS_CUSTOMHANDLER_PORT, app settings as environment variables),
// waits for the readiness probe, and sends invocations in the host's wire
// format. The real host cannot run here; this follows its documented
// protocol (Data and Metadata, strings and arrays JSON-encoded twice).
package hostsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EventHubRequest builds the host's request body for a cardinality-many,
// dataType-string Event Hub trigger with binding name "events".
func EventHubRequest(events []string, firstSeq int64, partition string) []byte {
	now := time.Now().UTC()
	n := len(events)
	seq, offsets, enq, keys, props := make([]int64, n), make([]string, n), make([]string, n), make([]*string, n), make([]map[string]any, n)
	for i := range events {
		seq[i] = firstSeq + int64(i)
		offsets[i] = fmt.Sprint(4294967296 + seq[i]*1200)
		enq[i] = now.Format("2006-01-02T15:04:05.000")
		props[i] = map[string]any{}
	}
	req := map[string]any{
		"Data": map[string]any{"events": twice(events)},
		"Metadata": map[string]any{
			"PartitionContext": map[string]any{
				"FullyQualifiedNamespace": "localhost", "EventHubName": "insights-logs-signinlogs",
				"ConsumerGroup": "tenantwatch", "PartitionId": partition,
			},
			"SequenceNumberArray":  twice(seq),
			"OffsetArray":          twice(offsets),
			"EnqueuedTimeUtcArray": twice(enq),
			"PartitionKeyArray":    twice(keys),
			"PropertiesArray":      twice(props),
			"sys":                  sys("CrossTenantSignIns", now),
		},
	}
	b, _ := json.Marshal(req)
	return b
}

// TimerRequest builds the host's request body for a timer trigger.
func TimerRequest(function string) []byte {
	now := time.Now().UTC()
	b, _ := json.Marshal(map[string]any{
		"Data": map[string]any{"timer": map[string]any{
			"Schedule":       map[string]any{"AdjustForDST": true},
			"ScheduleStatus": map[string]any{"Last": now.Add(-time.Minute).Format(time.RFC3339), "Next": now.Add(time.Minute).Format(time.RFC3339)},
			"IsPastDue":      false,
		}},
		"Metadata": map[string]any{"sys": sys(function, now)},
	})
	return b
}

// twice is the host's treatment of strings and arrays: serialised once into
// a JSON text, which the envelope then serialises again as a string.
func twice(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sys(method string, now time.Time) map[string]any {
	return map[string]any{"MethodName": method, "UtcNow": now.Format(time.RFC3339Nano), "RandGuid": NewGUID()}
}

// Reply is the handler's answer to one invocation.
type Reply struct {
	Status int
	Logs   []string
}

// OK reports a 2xx reply.
func (r Reply) OK() bool { return r.Status/100 == 2 }

// Invoke POSTs body to the function as the host does.
func Invoke(ctx context.Context, client *http.Client, baseURL, function string, body []byte) (Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/"+function, bytes.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", NewGUID())
	req.Header.Set("X-Azure-Functions-HostVersion", "4.1040.0")
	req.Header.Set("User-Agent", "Azure-Functions-Host/4.1040.0")
	resp, err := client.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return Reply{Status: resp.StatusCode}, fmt.Errorf("reply Content-Type %q: the host cannot read it", ct)
	}
	var reply struct {
		Outputs     map[string]any `json:"Outputs"`
		Logs        []string       `json:"Logs"`
		ReturnValue any            `json:"ReturnValue"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return Reply{Status: resp.StatusCode}, fmt.Errorf("reply is not a JSON object: %w", err)
	}
	return Reply{Status: resp.StatusCode, Logs: reply.Logs}, nil
}

// Counts adds up the "key=N" words of the handler's invocation logs.
func Counts(totals map[string]int, logs []string) {
	for _, l := range logs {
		for _, w := range strings.Fields(l) {
			k, v, ok := strings.Cut(w, "=")
			var n int
			if ok {
				if _, err := fmt.Sscan(v, &n); err == nil {
					totals[k] += n
				}
			}
		}
	}
}

// Handler is a running handler process.
type Handler struct {
	BaseURL string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	logs    *syncBuffer
}

// Start runs bin serve with env added to this process's environment, on a
// free loopback port, and waits until it answers the readiness probe.
// logSink, when non-nil, also receives the handler's output.
func Start(ctx context.Context, bin string, env map[string]string, logSink io.Writer) (*Handler, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "FUNCTIONS_CUSTOMHANDLER_PORT="+port)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	h := &Handler{BaseURL: "http://127.0.0.1:" + port, cmd: cmd, done: make(chan struct{}), logs: &syncBuffer{}}
	var out io.Writer = h.logs
	if logSink != nil {
		out = io.MultiWriter(h.logs, logSink)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start handler: %w", err)
	}
	go func() { h.err = cmd.Wait(); close(h.done) }()
	if err := h.waitReady(ctx); err != nil {
		h.Kill()
		return nil, err
	}
	return h, nil
}

// waitReady polls GET / as the host does, every 25 ms, for up to 30 s.
func (h *Handler) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-h.done:
			return fmt.Errorf("handler exited before listening: %v\n%s", h.err, h.Logs())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := http.Get(h.BaseURL + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return errors.New("handler did not listen within 30 s")
}

// Stop sends SIGTERM and waits for the process to exit.
func (h *Handler) Stop() error {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(2 * time.Minute):
		h.Kill()
		return errors.New("handler ignored SIGTERM for 2 minutes")
	}
	return h.err
}

// Kill stops the process at once (SIGKILL) and waits for it.
func (h *Handler) Kill() {
	_ = h.cmd.Process.Kill()
	<-h.done
}

// Done is closed when the process has exited.
func (h *Handler) Done() <-chan struct{} { return h.done }

// ExitErr is the process's exit status once Done is closed.
func (h *Handler) ExitErr() error { return h.err }

// Logs returns everything the process wrote so far.
func (h *Handler) Logs() string { return h.logs.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// NewGUID returns a random version-4 GUID.
func NewGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
