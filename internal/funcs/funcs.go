// Package funcs speaks the Azure Functions custom-handler protocol: the host
// POSTs {"Data":{...},"Metadata":{...}} to /<FunctionName> on 127.0.0.1 and
// expects a JSON object {"Outputs":{},"Logs":[...],"ReturnValue":null} back.
// A 2xx reply completes the invocation; anything else fails it, and for an
// Event Hub trigger under a retry policy the host then re-sends the same
// batch while holding the partition. This package decodes requests, maps
// handler outcomes to status codes and writes replies; it knows nothing of
// sign-ins.
package funcs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// MaxBodyBytes bounds a request body. A batch of 100 one-MiB events,
// escaped twice by the host, stays well under it.
const MaxBodyBytes = 256 << 20

// Invocation is one decoded host request.
type Invocation struct {
	// Function is the function (and route) name.
	Function string
	// ID is the host's invocation id (X-Azure-Functions-InvocationId).
	ID string
	// Data holds the trigger and input bindings, raw, keyed by binding name.
	Data map[string]json.RawMessage
	// Metadata holds the trigger metadata, raw.
	Metadata map[string]json.RawMessage
}

// Result is what a function reports back.
type Result struct {
	// Logs are attached to the invocation in the host's logs.
	Logs []string
	// Err, when non-nil, fails the invocation (non-2xx) so the host retries.
	// Only return errors a retry can cure: bad input must be logged and
	// skipped, or a poison batch under infinite retry stalls its partition.
	Err error
}

// Func handles one invocation.
type Func func(ctx context.Context, inv Invocation) Result

// response is the reply body; ReturnValue must be present and null.
type response struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// Handler routes POST /<name> to functions and answers the host's readiness
// probe (GET /) at once.
func Handler(logger *slog.Logger, functions map[string]Func) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	for name, fn := range functions {
		mux.Handle("POST /"+name, invoke(logger, name, fn))
	}
	return mux
}

func invoke(logger *slog.Logger, name string, fn Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Azure-Functions-InvocationId")
		log := logger.With("function", name, "invocationId", id)
		inv, err := decodeRequest(http.MaxBytesReader(w, r.Body, MaxBodyBytes), r.ContentLength)
		if err != nil {
			// The host would re-send the same bytes forever: log and complete.
			log.Error("undecodable invocation request skipped", "err", err)
			writeJSON(w, http.StatusOK, response{Outputs: map[string]any{}, Logs: []string{"undecodable request skipped: " + err.Error()}})
			return
		}
		inv.Function, inv.ID = name, id
		res := fn(r.Context(), inv)
		logs := res.Logs
		if logs == nil {
			logs = []string{}
		}
		status := http.StatusOK
		if res.Err != nil {
			status = http.StatusInternalServerError
			logs = append(logs, "invocation failed, the host will retry: "+res.Err.Error())
			log.Error("invocation failed; the host will retry", "err", res.Err, "elapsed", time.Since(start))
		}
		writeJSON(w, status, response{Outputs: map[string]any{}, Logs: logs})
	})
}

// writeJSON sets the content type before the status: the host rejects a
// reply it cannot read as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DecodeRequest reads the host's envelope.
func DecodeRequest(r io.Reader) (Invocation, error) {
	return decodeRequest(r, 0)
}

// decodeRequest reads the whole body first, into one buffer of the size
// the host announced when it did: batches run to tens of MiB, and a
// streaming decoder would grow and copy its buffer along the way.
func decodeRequest(r io.Reader, size int64) (Invocation, error) {
	var env struct {
		Data     map[string]json.RawMessage `json:"Data"`
		Metadata map[string]json.RawMessage `json:"Metadata"`
	}
	// Trust the announced size only so far: past this the buffer grows as
	// bytes actually arrive.
	const presize = 64 << 20
	buf := bytes.NewBuffer(make([]byte, 0, max(0, min(size, presize))+bytes.MinRead))
	if _, err := buf.ReadFrom(r); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Invocation{}, fmt.Errorf("request body over %d bytes", tooBig.Limit)
		}
		return Invocation{}, fmt.Errorf("read request: %w", err)
	}
	if err := json.Unmarshal(buf.Bytes(), &env); err != nil {
		return Invocation{}, fmt.Errorf("decode request envelope: %w", err)
	}
	if env.Data == nil {
		return Invocation{}, errors.New("request envelope has no Data object")
	}
	return Invocation{Data: env.Data, Metadata: env.Metadata}, nil
}

// EventBodies turns a cardinality-many Event Hub binding into one byte slice
// per event. The host sends it as a JSON string holding a JSON array of
// strings (each an event body); it is decoded tolerantly: a plain array, and
// elements that are already objects, are accepted too. A single body (a
// string holding an object, or an object) is one event.
func EventBodies(raw json.RawMessage) ([][]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		s, err := unquote(raw)
		if err != nil {
			return nil, fmt.Errorf("decode events string: %w", err)
		}
		raw = bytes.TrimSpace(s)
	}
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return nil, nil
	case raw[0] == '{':
		return [][]byte{raw}, nil
	case raw[0] != '[':
		return nil, errors.New("events are neither an array nor an object")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("decode events array: %w", err)
	}
	out := make([][]byte, 0, len(items))
	for _, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) > 0 && it[0] == '"' {
			// The array decoded, so the string is well formed.
			s, err := unquote(it)
			if err != nil {
				return nil, fmt.Errorf("decode event string: %w", err)
			}
			out = append(out, s)
			continue
		}
		out = append(out, it)
	}
	return out, nil
}

// PartitionContext is the Event Hub trigger's partition metadata.
type PartitionContext struct {
	EventHubName  string `json:"EventHubName"`
	ConsumerGroup string `json:"ConsumerGroup"`
	PartitionID   string `json:"PartitionId"`
}

// RetryContext is present when the function runs under a retry policy.
type RetryContext struct {
	RetryCount    int `json:"RetryCount"`
	MaxRetryCount int `json:"MaxRetryCount"`
}

// MetadataValue decodes one metadata entry into v. Objects arrive as JSON
// objects and everything else JSON-encoded twice; both are accepted. A
// missing key leaves v untouched and reports false.
func (inv Invocation) MetadataValue(key string, v any) bool {
	raw, ok := inv.Metadata[key]
	if !ok {
		return false
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return false
		}
		raw = []byte(s)
	}
	return json.Unmarshal(raw, v) == nil
}
