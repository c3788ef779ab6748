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
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEventBodiesAcceptsEveryShapeTheHostMaySend(t *testing.T) {
	body1 := `{"records":[{"a":1}]}`
	body2 := `{"records":[]}`
	arr := func(items ...string) string {
		b, _ := json.Marshal(items)
		return string(b)
	}
	str := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	tests := []struct {
		name string
		raw  string
		want []string
	}{
		{"string holding an array of strings (cardinality many, dataType string)", str(arr(body1, body2)), []string{body1, body2}},
		{"plain array of strings", arr(body1, body2), []string{body1, body2}},
		{"string holding an array of objects (no dataType)", str("[" + body1 + "," + body2 + "]"), []string{body1, body2}},
		{"plain array of objects", "[" + body1 + "," + body2 + "]", []string{body1, body2}},
		{"mixed elements", "[" + str(body1) + "," + body2 + "]", []string{body1, body2}},
		{"string holding one object (cardinality one)", str(body1), []string{body1}},
		{"one object", body1, []string{body1}},
		{"empty array", str("[]"), []string{}},
		{"null", "null", nil},
		{"a string element that is not JSON is kept for the parser to reject", arr("not json", body1), []string{"not json", body1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EventBodies(json.RawMessage(tt.raw))
			if err != nil {
				t.Fatalf("EventBodies: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d bodies; want %d", len(got), len(tt.want))
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("body %d = %s; want %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestEventBodiesRejectsWhatIsNoBatch(t *testing.T) {
	for _, raw := range []string{`42`, `"42"`, `"[1,"`, `[1,`, `true`} {
		if _, err := EventBodies(json.RawMessage(raw)); err == nil {
			t.Errorf("EventBodies(%s) succeeded; want an error", raw)
		}
	}
}

func TestMetadataValueDecodesObjectsAndDoubleEncodedValues(t *testing.T) {
	inv, err := DecodeRequest(strings.NewReader(`{"Data":{},"Metadata":{
		"PartitionContext":{"EventHubName":"insights-logs-signinlogs","ConsumerGroup":"tenantwatch","PartitionId":"3"},
		"SequenceNumberArray":"[41,42]",
		"RetryContext":{"RetryCount":2,"MaxRetryCount":-1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var pc PartitionContext
	var seq []int64
	var rc RetryContext
	if !inv.MetadataValue("PartitionContext", &pc) || pc.PartitionID != "3" {
		t.Errorf("PartitionContext = %+v", pc)
	}
	if !inv.MetadataValue("SequenceNumberArray", &seq) || len(seq) != 2 || seq[1] != 42 {
		t.Errorf("SequenceNumberArray = %v", seq)
	}
	if !inv.MetadataValue("RetryContext", &rc) || rc.RetryCount != 2 {
		t.Errorf("RetryContext = %+v", rc)
	}
	if inv.MetadataValue("Missing", &rc) {
		t.Error("a missing key reported true")
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestHandlerRepliesAsTheHostRequires(t *testing.T) {
	var got Invocation
	h := Handler(discard(), map[string]Func{
		"Ok": func(_ context.Context, inv Invocation) Result {
			got = inv
			return Result{Logs: []string{"processed"}}
		},
		"Fails": func(context.Context, Invocation) Result { return Result{Err: errors.New("storage unreachable")} },
	})
	tests := []struct {
		name, method, path, body string
		status                   int
		wantLog                  string
	}{
		{"readiness probe answers at once", "GET", "/", "", 200, ""},
		{"a successful invocation is 200 with its logs", "POST", "/Ok", `{"Data":{"events":"[]"},"Metadata":{}}`, 200, "processed"},
		{"a retryable failure is non-2xx", "POST", "/Fails", `{"Data":{},"Metadata":{}}`, 500, "storage unreachable"},
		{"an undecodable envelope is completed, not retried", "POST", "/Ok", `{"Data":`, 200, "undecodable"},
		{"an envelope without Data is completed, not retried", "POST", "/Ok", `{"Metadata":{}}`, 200, "undecodable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("X-Azure-Functions-InvocationId", "inv-1")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			// The result's header is the header as written with the status:
			// a Content-Type set after WriteHeader never reaches the host.
			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d; want %d", res.StatusCode, tt.status)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var resp map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp) == 0 {
				t.Fatalf("reply %q is not a non-empty JSON object: %v", rec.Body.String(), err)
			}
			if tt.method == "POST" {
				for _, key := range []string{"Outputs", "Logs", "ReturnValue"} {
					if _, ok := resp[key]; !ok {
						t.Errorf("reply lacks %s: %s", key, rec.Body.String())
					}
				}
				if !strings.Contains(string(resp["Logs"]), tt.wantLog) {
					t.Errorf("Logs = %s; want %q", resp["Logs"], tt.wantLog)
				}
			}
		})
	}
	if got.ID != "inv-1" || got.Function != "Ok" {
		t.Errorf("invocation = %+v", got)
	}
}

func TestHandlerRefusesOversizedBodiesWithoutRetry(t *testing.T) {
	called := false
	h := Handler(discard(), map[string]Func{"Ok": func(context.Context, Invocation) Result { called = true; return Result{} }})
	body := io.MultiReader(strings.NewReader(`{"Data":{"events":"`), &zeros{n: MaxBodyBytes + 1}, strings.NewReader(`"}}`))
	req := httptest.NewRequest("POST", "/Ok", body)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if res := rec.Result(); res.StatusCode != http.StatusOK || called || !strings.Contains(rec.Body.String(), "over") {
		t.Fatalf("status %d called=%v body %s", res.StatusCode, called, rec.Body.String())
	}
}

// TestHandlerDecodesALargeBatchCompletely sends a ~40 MiB host request (40
// events of 1 MiB, the events array JSON-encoded twice as the host does) and
// checks the function gets every event, in order, byte for byte. The
// request is generated as it is read, so the test holds one copy of it at
// most, inside the handler.
func TestHandlerDecodesALargeBatchCompletely(t *testing.T) {
	const events, pad = 40, 1 << 20
	prefix := func(i int) string { return fmt.Sprintf(`{"records":[{"seq":%d,"pad":"`, i) }
	const suffix = `"}]}`

	var (
		called bool
		got    int
		errs   []string
	)
	h := Handler(discard(), map[string]Func{"Ok": func(_ context.Context, inv Invocation) Result {
		called = true
		bodies, err := EventBodies(inv.Data["events"])
		if err != nil {
			errs = append(errs, err.Error())
			return Result{}
		}
		got = len(bodies)
		for i, b := range bodies {
			p := prefix(i)
			mid, ok := bytes.CutPrefix(b, []byte(p))
			if ok {
				mid, ok = bytes.CutSuffix(mid, []byte(suffix))
			}
			if !ok || len(mid) != pad || bytes.Count(mid, []byte{'a'}) != pad {
				errs = append(errs, fmt.Sprintf("event %d: %d bytes starting %.40q", i, len(b), b))
			}
		}
		return Result{Logs: []string{"processed"}}
	}})

	body, size := largeHostRequest(events, pad, prefix, suffix)
	req := httptest.NewRequest("POST", "/Ok", body)
	req.ContentLength = size // the host announces it
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if res := rec.Result(); res.StatusCode != http.StatusOK || !called {
		t.Fatalf("status %d, function called=%v: %s", res.StatusCode, called, rec.Body.String())
	}
	if got != events || len(errs) > 0 {
		t.Fatalf("%d events decoded; want %d; problems: %v", got, events, errs)
	}
}

// largeHostRequest streams {"Data":{"events":"<events, JSON-encoded
// twice>"},"Metadata":{...}} where event i is prefix(i), pad 'a' bytes, and
// suffix; size is its length. 'a' needs no escaping at either level, so
// only the short pieces around it are escaped here.
func largeHostRequest(events, pad int, prefix func(int) string, suffix string) (body io.Reader, size int64) {
	esc := func(s string) string { // a JSON string's content, without its quotes
		b, _ := json.Marshal(s)
		return string(b[1 : len(b)-1])
	}
	var parts []io.Reader
	text := func(s string) {
		parts = append(parts, strings.NewReader(s))
		size += int64(len(s))
	}
	text(`{"Data":{"events":"` + esc("["))
	for i := range events {
		if i > 0 {
			text(esc(","))
		}
		text(esc(`"` + esc(prefix(i))))
		parts = append(parts, &zeros{n: pad})
		size += int64(pad)
		text(esc(esc(suffix) + `"`))
	}
	text(esc("]") + `"},"Metadata":{"PartitionContext":{"PartitionId":"0"},"SequenceNumberArray":"[1]"}}`)
	return io.MultiReader(parts...), size
}

// zeros yields n 'a' bytes without allocating them up front.
type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	n := min(len(p), z.n)
	for i := range n {
		p[i] = 'a'
	}
	z.n -= n
	return n, nil
}

func FuzzEventBodies(f *testing.F) {
	for _, seed := range []string{`"[\"{\\\"records\\\":[]}\"]"`, `[{"records":[]}]`, `{"records":[]}`, `null`, `"`, `[`, `"[1]"`,
		` [ "a\u00e9\ud83d\ude00" , 1 ] `, `"[\"\\ud800x\", \"\\n\"]"`, "[\"\xff\"]", `"[ {\"a\" : [1, 2]} ]"`, `[[],"",null]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		bodies, err := EventBodies(raw)
		if err != nil && bodies != nil {
			t.Fatalf("bodies returned with error %v", err)
		}
		want, ok := referenceEventBodies(raw)
		if !ok {
			return // not an array shape encoding/json reads; EventBodies may be more tolerant
		}
		if err != nil {
			t.Fatalf("EventBodies(%q) failed: %v; encoding/json reads %d bodies", raw, err, len(want))
		}
		if len(bodies) != len(want) {
			t.Fatalf("EventBodies(%q) gave %d bodies; encoding/json reads %d", raw, len(bodies), len(want))
		}
		for i := range want {
			if !bytes.Equal(bodies[i], want[i]) {
				t.Fatalf("EventBodies(%q) body %d = %q; encoding/json reads %q", raw, i, bodies[i], want[i])
			}
		}
	})
}

// referenceEventBodies decodes the array shapes of the events binding with
// encoding/json alone: an array, or a string holding one; elements that are
// strings are unquoted, others kept as they are. ok is false when
// encoding/json does not read raw as one of those shapes (null, a single
// object, invalid JSON).
func referenceEventBodies(raw []byte) (bodies [][]byte, ok bool) {
	text := raw
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = []byte(s)
	}
	var items []json.RawMessage
	if json.Unmarshal(text, &items) != nil || items == nil {
		return nil, false
	}
	bodies = make([][]byte, 0, len(items))
	for _, it := range items {
		if len(it) > 0 && it[0] == '"' {
			var e string
			if json.Unmarshal(it, &e) != nil {
				return nil, false
			}
			bodies = append(bodies, []byte(e))
			continue
		}
		bodies = append(bodies, it)
	}
	return bodies, true
}

// The fuzz oracle must itself tell array shapes from the rest.
func TestReferenceEventBodiesReadsOnlyArrayShapes(t *testing.T) {
	for raw, want := range map[string]int{
		`"[\"{}\",{}]"`: 2, `["{}",{"a":1}]`: 2, `[]`: 0, `"[]"`: 0,
		`null`: -1, `{}`: -1, `"{}"`: -1, `[`: -1, `"\"[]\""`: -1,
	} {
		bodies, ok := referenceEventBodies([]byte(raw))
		got := len(bodies)
		if !ok {
			got = -1 // not read
		}
		if got != want {
			t.Errorf("referenceEventBodies(%s) = %d bodies; want %d (-1: not read)", raw, got, want)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"Data":{"events":"[]"},"Metadata":{"sys":{}}}`))
	f.Add([]byte(`{"Data":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		inv, err := DecodeRequest(strings.NewReader(string(raw)))
		if err == nil && inv.Data == nil {
			t.Fatal("nil Data without error")
		}
	})
}
