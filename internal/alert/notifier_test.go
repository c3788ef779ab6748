package alert_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tenantwatch/tenantwatch/internal/alert"
)

// The webhook URLs in these tests look like Teams Workflows URLs: the path
// and the sig query value are the secrets.
const (
	secretPath  = "/workflows/5d1a0c3b9e8f4e7aa1b2c3d4/triggers/manual/paths/invoke"
	secretQuery = "api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zm9vYmFyYmF6cXV4LXNlY3JldC1zaWc"
	secretSig   = "Zm9vYmFyYmF6cXV4LXNlY3JldC1zaWc"
	// secretSegment is the workflow id in secretPath.
	secretSegment = "5d1a0c3b9e8f4e7aa1b2c3d4"
	// secret1 is the Standard Webhooks specification's example secret.
	secret1 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

var (
	secret2 = "whsec_" + base64.StdEncoding.EncodeToString([]byte("tenantwatch-test-secret-number-2"))
	attempt = time.Date(2026, 3, 14, 9, 27, 5, 0, time.UTC)
)

// recorder is a webhook peer that records what it receives.
type recorder struct {
	status  int
	header  http.Header // added to every answer
	body    string
	mu      sync.Mutex
	reqs    []received
	handler func(w http.ResponseWriter, r *http.Request) // overrides the rest
}

type received struct {
	url    *url.URL
	header http.Header
	body   []byte
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, received{url: r.URL, header: r.Header.Clone(), body: body})
	rec.mu.Unlock()
	if rec.handler != nil {
		rec.handler(w, r)
		return
	}
	maps.Copy(w.Header(), rec.header)
	w.WriteHeader(cmp.Or(rec.status, http.StatusOK))
	io.WriteString(w, rec.body)
}

func (rec *recorder) received() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

func (rec *recorder) only(t *testing.T) received {
	t.Helper()
	reqs := rec.received()
	if len(reqs) != 1 {
		t.Fatalf("webhook received %d requests; want 1", len(reqs))
	}
	return reqs[0]
}

// serve starts rec and returns the secret-bearing URL to reach it.
func serve(t *testing.T, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, srv.URL + secretPath + "?" + secretQuery
}

func newNotifier(t *testing.T, rawURL string, cfg alert.Config, client *http.Client) *alert.Notifier {
	t.Helper()
	u, err := alert.ParseWebhookURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.URL = u
	n, err := alert.NewNotifier(cfg, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSendJSONWebhook(t *testing.T) {
	rec := &recorder{status: http.StatusOK}
	srv, raw := serve(t, rec)
	n := newNotifier(t, raw, alert.Config{Secrets: secret1}, srv.Client())
	env := alert.NewEnvelope(outboundData(), raised)

	res := n.Send(t.Context(), env, attempt)
	if !res.Delivered || res.Status != http.StatusOK || res.Retry || res.Err != nil {
		t.Fatalf("Send = %+v; want delivered with status 200", res)
	}
	got := rec.only(t)
	if got.url.Path != secretPath || got.url.RawQuery != secretQuery {
		t.Errorf("request went to %s; want the configured path and query", got.url)
	}
	wantHeaders := map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        alert.DefaultUserAgent,
		"Webhook-Id":        env.Data.AlertID,
		"Webhook-Timestamp": strconv.FormatInt(attempt.Unix(), 10),
	}
	for k, want := range wantHeaders {
		if v := got.header.Get(k); v != want {
			t.Errorf("header %s = %q; want %q", k, v, want)
		}
	}
	// The signature, computed here from the specification rather than by
	// the library: HMAC-SHA256 over "id.timestamp.body" with the decoded key.
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret1, "whsec_"))
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", env.Data.AlertID, attempt.Unix(), got.body)
	if want, sig := "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)), got.header.Get("Webhook-Signature"); sig != want {
		t.Errorf("webhook-signature = %q; want %q", sig, want)
	}

	checkGolden(t, "webhook_body.golden", got.body)

	// The body is the envelope, losslessly.
	var decoded alert.Envelope
	if err := json.Unmarshal(got.body, &decoded); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(decoded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, got.body) {
		t.Errorf("body does not round-trip through Envelope:\n got: %s\nwant: %s", again, got.body)
	}
}

var (
	requiredDataKeys = []string{
		"alertId", "userPrincipalName", "userId", "homeTenantId", "resourceTenantId", "otherTenantId",
		"direction", "signInId", "createdDateTime", "category", "appDisplayName", "ipAddress",
		"riskLevelAggregated", "riskLevelDuringSignIn", "riskState", "riskEventTypes",
		"crossTenantAccessType", "episodeId", "episodeStart",
	}
	optionalDataKeys = []string{
		"userDisplayName", "userType", "otherTenantName", "correlationId", "appId",
		"resourceDisplayName", "location", "riskDetail", "baselineTenantCount", "test",
	}
)

func TestSendJSONDataKeys(t *testing.T) {
	full := outboundData()
	full.Test = true
	tests := []struct {
		name string
		data alert.Data
		want []string
	}{
		{"bare alert has exactly the required keys", alert.Data{AlertID: "ctsi_0"}, requiredDataKeys},
		{"full alert adds only the optional keys", full, append(slices.Clone(requiredDataKeys), optionalDataKeys...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			srv, raw := serve(t, rec)
			n := newNotifier(t, raw, alert.Config{}, srv.Client())
			if res := n.Send(t.Context(), alert.NewEnvelope(tt.data, raised), attempt); !res.Delivered {
				t.Fatalf("Send = %+v; want delivered", res)
			}
			var body struct {
				Type      string
				Timestamp time.Time
				Data      map[string]json.RawMessage
			}
			if err := json.Unmarshal(rec.only(t).body, &body); err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(maps.Keys(body.Data))
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("data keys = %v;\nwant %v", got, want)
			}
			if body.Type != alert.EventType || !body.Timestamp.Equal(raised) {
				t.Errorf("type, timestamp = %q, %v; want %q, %v", body.Type, body.Timestamp, alert.EventType, raised)
			}
		})
	}
}

func TestSendSignaturesVerify(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
	}{
		{"one secret", []string{secret1}},
		{"two secrets while rotating", []string{secret1, secret2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{status: http.StatusServiceUnavailable}
			srv, raw := serve(t, rec)
			n := newNotifier(t, raw, alert.Config{Secrets: strings.Join(tt.secrets, " ")}, srv.Client())
			env := alert.NewEnvelope(outboundData(), raised)

			// Verify checks the timestamp against the clock, so the
			// attempts happen now.
			now := time.Now()
			n.Send(t.Context(), env, now)
			n.Send(t.Context(), env, now.Add(30*time.Second))
			reqs := rec.received()
			if len(reqs) != 2 {
				t.Fatalf("webhook received %d requests; want 2", len(reqs))
			}
			for i, r := range reqs {
				if sigs := strings.Fields(r.header.Get("Webhook-Signature")); len(sigs) != len(tt.secrets) {
					t.Errorf("attempt %d: %d signatures; want %d", i+1, len(sigs), len(tt.secrets))
				}
				for j, s := range tt.secrets {
					wh, err := standardwebhooks.NewWebhook(s)
					if err != nil {
						t.Fatal(err)
					}
					if err := wh.Verify(r.body, r.header); err != nil {
						t.Errorf("attempt %d: Verify with secret %d: %v", i+1, j+1, err)
					}
				}
			}
			first, second := reqs[0].header, reqs[1].header
			if first.Get("Webhook-Id") != env.Data.AlertID || second.Get("Webhook-Id") != env.Data.AlertID {
				t.Errorf("webhook-ids = %q, %q; want %q for every attempt", first.Get("Webhook-Id"), second.Get("Webhook-Id"), env.Data.AlertID)
			}
			t1, _ := strconv.ParseInt(first.Get("Webhook-Timestamp"), 10, 64)
			t2, _ := strconv.ParseInt(second.Get("Webhook-Timestamp"), 10, 64)
			if t2-t1 != 30 {
				t.Errorf("webhook-timestamps = %d, %d; want the second 30 s after the first (signed afresh)", t1, t2)
			}
			other, _ := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte("some-other-secret-of-32-bytes!!!")))
			if err := other.Verify(reqs[0].body, first); err == nil {
				t.Error("Verify with a secret that was not configured succeeded; want failure")
			}
		})
	}
}

func TestSendWithoutSecretsIsUnsigned(t *testing.T) {
	rec := &recorder{}
	srv, raw := serve(t, rec)
	n := newNotifier(t, raw, alert.Config{}, srv.Client())
	env := alert.NewEnvelope(outboundData(), raised)
	n.Send(t.Context(), env, attempt)
	h := rec.only(t).header
	if _, ok := h["Webhook-Signature"]; ok {
		t.Errorf("webhook-signature = %q; want no header without secrets", h.Get("Webhook-Signature"))
	}
	if h.Get("Webhook-Id") != env.Data.AlertID || h.Get("Webhook-Timestamp") == "" {
		t.Errorf("webhook-id, webhook-timestamp = %q, %q; want both present", h.Get("Webhook-Id"), h.Get("Webhook-Timestamp"))
	}
}

func TestSendTeamsWorkflow(t *testing.T) {
	// A Workflows webhook answers 202 with no body.
	rec := &recorder{status: http.StatusAccepted}
	srv, raw := serve(t, rec)
	n := newNotifier(t, raw, alert.Config{Format: alert.FormatTeams}, srv.Client())
	env := alert.NewEnvelope(outboundData(), raised)

	res := n.Send(t.Context(), env, attempt)
	if !res.Delivered || res.Status != http.StatusAccepted || res.Err != nil {
		t.Fatalf("Send = %+v; want delivered with status 202", res)
	}
	got := rec.only(t)
	want, err := alert.TeamsMessage(env, alert.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.body, want) {
		t.Errorf("body is not TeamsMessage(env):\n got: %s\nwant: %s", got.body, want)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", ct)
	}
	if s := got.header.Get("Webhook-Signature"); s != "" {
		t.Errorf("webhook-signature = %q; want none for Teams", s)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSendClassifiesEveryStatus covers every status code, the way
// Alertmanager's notifier tests do, through a transport that answers with
// the code; the count of round trips also proves no redirect was followed.
func TestSendClassifiesEveryStatus(t *testing.T) {
	wantRetry := map[int]bool{408: true, 409: true, 425: true, 429: true}
	for code := 500; code <= 599; code++ {
		wantRetry[code] = true
	}
	env := alert.NewEnvelope(outboundData(), raised)
	for code := 100; code <= 599; code++ {
		var trips atomic.Int32
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			trips.Add(1)
			h := http.Header{}
			if code >= 300 && code < 400 {
				h.Set("Location", "https://elsewhere.example/moved")
			}
			return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader("nope")), Request: r}, nil
		})}
		n := newNotifier(t, "https://hooks.example"+secretPath+"?"+secretQuery, alert.Config{}, client)

		res := n.Send(t.Context(), env, attempt)
		wantDelivered := code >= 200 && code <= 299
		if res.Delivered != wantDelivered || res.Retry != wantRetry[code] || res.Status != code {
			t.Errorf("status %d: Send = {Delivered:%t Retry:%t Status:%d}; want {Delivered:%t Retry:%t Status:%d}",
				code, res.Delivered, res.Retry, res.Status, wantDelivered, wantRetry[code], code)
		}
		if wantDelivered != (res.Err == nil) {
			t.Errorf("status %d: Err = %v; want nil exactly when delivered", code, res.Err)
		}
		if !wantDelivered {
			if se, ok := errors.AsType[*alert.StatusError](res.Err); !ok || se.StatusCode != code {
				t.Errorf("status %d: Err = %v; want a *StatusError with the code", code, res.Err)
			}
		}
		if n := trips.Load(); n != 1 {
			t.Errorf("status %d: %d round trips; want 1 (redirects are not followed)", code, n)
		}
	}
}

func TestSendOverHTTP(t *testing.T) {
	tests := []struct {
		status         int
		delivered, try bool
	}{
		{200, true, false}, {202, true, false}, {204, true, false},
		{400, false, false}, {401, false, false}, {404, false, false}, {410, false, false}, {413, false, false},
		{408, false, true}, {429, false, true}, {500, false, true}, {502, false, true}, {503, false, true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			rec := &recorder{status: tt.status}
			srv, raw := serve(t, rec)
			n := newNotifier(t, raw, alert.Config{Secrets: secret1}, srv.Client())
			res := n.Send(t.Context(), alert.NewEnvelope(outboundData(), raised), attempt)
			if res.Delivered != tt.delivered || res.Retry != tt.try || res.Status != tt.status {
				t.Errorf("Send = %+v; want Delivered %t, Retry %t, Status %d", res, tt.delivered, tt.try, tt.status)
			}
		})
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	env := alert.NewEnvelope(outboundData(), raised)
	for _, code := range []int{300, 301, 302, 303, 304, 305, 307, 308} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			rec := &recorder{status: code, header: http.Header{"Location": {target.URL + "/moved"}}}
			_, raw := serve(t, rec)
			// http.Client{} follows redirects; the Notifier must not.
			n := newNotifier(t, raw, alert.Config{}, &http.Client{})
			res := n.Send(t.Context(), env, attempt)
			if res.Delivered || res.Retry || res.Status != code || res.Err == nil {
				t.Errorf("Send = %+v; want a failure with status %d and no retry", res, code)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect target was hit %d times; want 0", n)
	}
}

func TestSendRetryAfter(t *testing.T) {
	date := func(d time.Duration) string { return attempt.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		status int
		header string
		want   time.Duration
	}{
		{"delay-seconds", 429, "120", 2 * time.Minute},
		{"zero seconds", 429, "0", 0},
		{"HTTP-date relative to the attempt", 503, date(90 * time.Second), 90 * time.Second},
		{"HTTP-date in the past", 503, date(-time.Hour), 0},
		{"garbage", 429, "soon", 0},
		{"negative", 429, "-5", 0},
		{"fraction", 503, "1.5", 0},
		{"seconds beyond an hour are capped", 429, "7200", time.Hour},
		{"overflowing seconds are capped", 429, "99999999999999999999999", time.Hour},
		{"date beyond an hour is capped", 503, date(5 * time.Hour), time.Hour},
		{"absent", 429, "", 0},
		{"ignored on other statuses", 500, "120", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{status: tt.status}
			if tt.header != "" {
				rec.header = http.Header{"Retry-After": {tt.header}}
			}
			srv, raw := serve(t, rec)
			n := newNotifier(t, raw, alert.Config{}, srv.Client())
			res := n.Send(t.Context(), alert.NewEnvelope(outboundData(), raised), attempt)
			if res.RetryAfter != tt.want || !res.Retry {
				t.Errorf("Retry-After %q on %d: RetryAfter = %v, Retry = %t; want %v, true", tt.header, tt.status, res.RetryAfter, res.Retry, tt.want)
			}
		})
	}
}

// hang answers only when the client gives up. It reads the body first:
// only then does the server watch the connection and cancel the request's
// context when the client hangs up.
func hang(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second): // never let a broken test hang
		}
	})
}

func TestSendTimesOut(t *testing.T) {
	srv, raw := serve(t, hang(t))
	n := newNotifier(t, raw, alert.Config{Timeout: 200 * time.Millisecond}, srv.Client())
	res := n.Send(t.Context(), alert.NewEnvelope(outboundData(), raised), attempt)
	if res.Delivered || !res.Retry || res.Status != 0 || res.Err == nil {
		t.Fatalf("Send = %+v; want a retryable failure with no status", res)
	}
	if !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Errorf("Err = %v; want it to wrap context.DeadlineExceeded", res.Err)
	}
	if !strings.Contains(res.Err.Error(), "timed out after 200ms") {
		t.Errorf("Err = %v; want it to say the attempt timed out", res.Err)
	}
}

func TestSendRejectsInvalidAlert(t *testing.T) {
	rec := &recorder{}
	srv, raw := serve(t, rec)
	n := newNotifier(t, raw, alert.Config{}, srv.Client())
	for _, id := range []string{"", "ctsi_a.b", "ctsi a", "ctsi_\r\nX-Evil: 1"} {
		d := outboundData()
		d.AlertID = id
		res := n.Send(t.Context(), alert.NewEnvelope(d, raised), attempt)
		if res.Delivered || res.Retry || !errors.Is(res.Err, alert.ErrInvalidAlert) {
			t.Errorf("alert id %q: Send = %+v; want ErrInvalidAlert without retry", id, res)
		}
	}
	res := n.Send(t.Context(), alert.Envelope{Data: outboundData()}, attempt)
	if !errors.Is(res.Err, alert.ErrInvalidAlert) {
		t.Errorf("envelope without type: Err = %v; want ErrInvalidAlert", res.Err)
	}
	if n := len(rec.received()); n != 0 {
		t.Errorf("webhook received %d requests; want 0", n)
	}
}

// closedPortURL returns a loopback URL on which nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + secretPath + "?" + secretQuery
}

// secretForms lists every spelling of the test URL's secrets that must
// never appear in an error: the URL, its path, its query and query values,
// their query- and path-escaped forms, and the signing secrets.
func secretForms(raw string) []string {
	u, _ := url.Parse(raw)
	forms := []string{raw, u.String(), secretPath, u.EscapedPath(), secretQuery, secretSig, "/triggers/manual/run",
		secretSegment, strings.TrimPrefix(secret1, "whsec_"), secret1, secret2}
	for _, s := range []string{raw, secretPath, secretQuery, secretSig, "/triggers/manual/run"} {
		forms = append(forms, url.QueryEscape(s), url.PathEscape(s))
	}
	return forms
}

// assertNoSecret checks the error's message at every level of its chain,
// in every print form, and the URL of any *url.Error in it.
func assertNoSecret(t *testing.T, err error, raw string) {
	t.Helper()
	if err == nil {
		t.Fatal("Err = nil; want an error")
	}
	t.Logf("error: %v", err)
	var texts []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		texts = append(texts, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
		if ue, ok := e.(*url.Error); ok {
			texts = append(texts, ue.URL)
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	for _, text := range texts {
		for _, form := range secretForms(raw) {
			if strings.Contains(text, form) {
				t.Errorf("error text %q contains the secret %q", text, form)
			}
		}
	}
}

func TestSendErrorsLeakNoSecret(t *testing.T) {
	env := alert.NewEnvelope(outboundData(), raised)
	cfg := alert.Config{Secrets: secret1 + " " + secret2, Timeout: 200 * time.Millisecond}

	t.Run("connection refused", func(t *testing.T) {
		raw := closedPortURL(t)
		res := newNotifier(t, raw, cfg, nil).Send(t.Context(), env, attempt)
		if !res.Retry {
			t.Errorf("Send = %+v; want a retryable failure", res)
		}
		assertNoSecret(t, res.Err, raw)
	})
	t.Run("timeout", func(t *testing.T) {
		srv, raw := serve(t, hang(t))
		res := newNotifier(t, raw, cfg, srv.Client()).Send(t.Context(), env, attempt)
		assertNoSecret(t, res.Err, raw)
	})
	t.Run("context cancelled before the attempt", func(t *testing.T) {
		srv, raw := serve(t, &recorder{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		res := newNotifier(t, raw, cfg, srv.Client()).Send(ctx, env, attempt)
		if !res.Retry || !errors.Is(res.Err, context.Canceled) {
			t.Errorf("Send = %+v; want a retryable failure wrapping context.Canceled", res)
		}
		assertNoSecret(t, res.Err, raw)
	})
	t.Run("context cancelled during the attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		srv, raw := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			cancel()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}))
		res := newNotifier(t, raw, cfg, srv.Client()).Send(ctx, env, attempt)
		if !errors.Is(res.Err, context.Canceled) {
			t.Errorf("Err = %v; want it to wrap context.Canceled", res.Err)
		}
		assertNoSecret(t, res.Err, raw)
	})
	t.Run("error body echoes the URL", func(t *testing.T) {
		srv, raw := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			full := "http://" + r.Host + r.URL.RequestURI()
			fmt.Fprintf(w, "no route for %s (%s, %s) sig=%s path=%s", full, url.QueryEscape(full), url.PathEscape(full), secretSig, r.URL.Path)
		}))
		res := newNotifier(t, raw, cfg, srv.Client()).Send(t.Context(), env, attempt)
		if res.Status != http.StatusInternalServerError || !res.Retry {
			t.Errorf("Send = %+v; want a retryable 500", res)
		}
		assertNoSecret(t, res.Err, raw)
		if se, ok := errors.AsType[*alert.StatusError](res.Err); !ok || !strings.Contains(se.Body, "no route for") {
			t.Errorf("Err = %v; want a *StatusError quoting the (scrubbed) body", res.Err)
		}
	})
}

func TestSendErrorBodyCutThroughASecret(t *testing.T) {
	// Whitespace, collapsed in the message, pushes the URL across the
	// read limit: the piece of it before the cut must not leak either.
	for _, pad := range []int{4096 - 40, 4096 - 80, 4096 - 140} {
		srv, raw := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, strings.Repeat(" ", pad)+"http://"+r.Host+r.URL.RequestURI()+strings.Repeat(" ", 8000))
		}))
		res := newNotifier(t, raw, alert.Config{}, srv.Client()).Send(t.Context(), alert.NewEnvelope(outboundData(), raised), attempt)
		assertNoSecret(t, res.Err, raw)
		for _, piece := range []string{secretSegment[:8], "workflows/5d1a", "api-version=2016"} {
			if strings.Contains(res.Err.Error(), piece) {
				t.Errorf("pad %d: error %q contains %q, a piece of the URL", pad, res.Err, piece)
			}
		}
	}
}

func TestNewNotifierRejectsInvalidConfig(t *testing.T) {
	_, err := alert.NewNotifier(alert.Config{Format: "xml"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no webhook URL") || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("NewNotifier(invalid) error = %v; want both problems reported", err)
	}
}

func TestLogNotifierLogsOneWarning(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	env := alert.NewEnvelope(outboundData(), raised)

	res := alert.NewLogNotifier(logger).Send(t.Context(), env, attempt)
	if !res.Delivered || res.Err != nil || res.Retry {
		t.Errorf("Send = %+v; want delivered", res)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines; want 1:\n%s", len(lines), buf.String())
	}
	var line struct {
		Level   string          `json:"level"`
		AlertID string          `json:"alert_id"`
		Alert   json.RawMessage `json:"alert"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line.Level != "WARN" || line.AlertID != env.Data.AlertID {
		t.Errorf("level, alert_id = %q, %q; want WARN, %q", line.Level, line.AlertID, env.Data.AlertID)
	}
	want, _ := json.Marshal(env)
	if !bytes.Equal(line.Alert, want) {
		t.Errorf("alert attribute = %s;\nwant the envelope %s", line.Alert, want)
	}
}
