package funcs

import (
	"context"
	"encoding/json"
	"errors"
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
			if rec.Code != tt.status {
				t.Fatalf("status = %d; want %d", rec.Code, tt.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
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
	if rec.Code != http.StatusOK || called || !strings.Contains(rec.Body.String(), "over") {
		t.Fatalf("status %d called=%v body %s", rec.Code, called, rec.Body.String())
	}
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
	for _, seed := range []string{`"[\"{\\\"records\\\":[]}\"]"`, `[{"records":[]}]`, `{"records":[]}`, `null`, `"`, `[`, `"[1]"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		bodies, err := EventBodies(raw)
		if err != nil && bodies != nil {
			t.Fatalf("bodies returned with error %v", err)
		}
	})
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
