package funcs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// hostRequest builds a host request of n events of about size bytes each,
// encoded as the host does (the events array JSON-encoded twice).
func hostRequest(n, size int) []byte {
	rec := `{"category":"SignInLogs","properties":{"userPrincipalName":"a@b.example","pad":"` + strings.Repeat("x", size) + `"}}`
	events := make([]string, n)
	for i := range events {
		events[i] = `{"records":[` + rec + `]}`
	}
	inner, _ := json.Marshal(events)
	b, _ := json.Marshal(map[string]any{"Data": map[string]any{"events": string(inner)}, "Metadata": map[string]any{}})
	return b
}

// BenchmarkDecodeBatch measures unwrapping a 100-event, ~10 MB request down
// to event bodies; BenchmarkValidBaseline is json.Valid over the same bytes,
// the floor any decoder must pay, for a ratio measured side by side.
func BenchmarkDecodeBatch(b *testing.B) {
	req := hostRequest(100, 100<<10)
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		inv, err := decodeRequest(bytes.NewReader(req), int64(len(req))) // as the handler does, with Content-Length
		if err != nil {
			b.Fatal(err)
		}
		bodies, err := EventBodies(inv.Data["events"])
		if err != nil || len(bodies) != 100 {
			b.Fatal(err, len(bodies))
		}
	}
}

func BenchmarkValidBaseline(b *testing.B) {
	req := hostRequest(100, 100<<10)
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		if !json.Valid(req) {
			b.Fatal("invalid")
		}
	}
}

// eventBodiesViaStrings is the straightforward decoding (through Go
// strings), kept as the reference the unquote path is measured against.
func eventBodiesViaStrings(raw json.RawMessage) ([][]byte, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	var items []string
	if err := json.Unmarshal([]byte(s), &items); err != nil {
		return nil, err
	}
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = []byte(it)
	}
	return out, nil
}

func BenchmarkDecodeBatchViaStrings(b *testing.B) {
	req := hostRequest(100, 100<<10)
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(req)) // the straightforward streaming read
		var env struct{ Data map[string]json.RawMessage }
		if err := dec.Decode(&env); err != nil {
			b.Fatal(err)
		}
		bodies, err := eventBodiesViaStrings(env.Data["events"])
		if err != nil || len(bodies) != 100 {
			b.Fatal(err, len(bodies))
		}
	}
}
