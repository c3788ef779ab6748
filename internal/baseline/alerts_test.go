package baseline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testAlert(t testing.TB, user, tenant string, episode time.Time) Alert {
	t.Helper()
	created := ts(t, "2025-01-02T03:04:05.6789012Z")
	return Alert{
		ID:             "alert-" + user + "-" + tenant,
		User:           user,
		ResourceTenant: tenant,
		EpisodeID:      episode,
		State:          AlertPending,
		NextAttemptAt:  created,
		CreatedAt:      created,
		ClaimToken:     NewToken(),
		Payload:        []byte(`{"type":"message","text":"héllo 😀"}`),
	}
}

func TestClaimAndGetAlert(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	ep := ts(t, "2025-01-01T11:59:57.9876543Z")
	a := testAlert(t, "alice_contoso.com#EXT#@fabrikam.onmicrosoft.com", "tenant/1", ep)

	if _, found, err := s.GetAlert(ctx, a.User, a.ResourceTenant, ep); found || err != nil {
		t.Fatalf("GetAlert before claim: %v, %v", found, err)
	}
	claimed, stored, err := s.ClaimAlert(ctx, a)
	if err != nil || !claimed || stored.ETag == "" {
		t.Fatalf("ClaimAlert = %v, %+v, %v", claimed, stored, err)
	}
	got, found, err := s.GetAlert(ctx, a.User, a.ResourceTenant, ep)
	if err != nil || !found {
		t.Fatalf("GetAlert = %v, %v", found, err)
	}
	if d := diffAlerts(got, stored); d != "" {
		t.Errorf("read back differs from ClaimAlert's result: %s", d)
	}
	want := a
	want.ETag = got.ETag
	if d := diffAlerts(got, want); d != "" {
		t.Errorf("read back differs from what was claimed: %s", d)
	}

	// Another writer (other token) loses and sees the first claim.
	b := a
	b.ClaimToken = NewToken()
	b.ID = "other"
	claimed, existing, err := s.ClaimAlert(ctx, b)
	if err != nil || claimed || existing.ClaimToken != a.ClaimToken || existing.ID != a.ID {
		t.Errorf("second claim = %v, %+v, %v; want the first claim", claimed, existing, err)
	}
	// The same writer again (a re-processed batch keeps no token, but a
	// retried call does): claimed, nothing written.
	claimed, _, err = s.ClaimAlert(ctx, a)
	if err != nil || !claimed {
		t.Errorf("re-claim with own token = %v, %v", claimed, err)
	}
	// Another episode of the same pair is another alert.
	c := testAlert(t, a.User, a.ResourceTenant, ep.Add(100*time.Nanosecond))
	if claimed, _, err := s.ClaimAlert(ctx, c); err != nil || !claimed {
		t.Errorf("next episode claim = %v, %v", claimed, err)
	}
}

// diffAlerts compares alerts field by field, times with Equal.
func diffAlerts(a, b Alert) string {
	var d []string
	check := func(name string, ok bool, x, y any) {
		if !ok {
			d = append(d, fmt.Sprintf("%s: %v != %v", name, x, y))
		}
	}
	check("ID", a.ID == b.ID, a.ID, b.ID)
	check("User", a.User == b.User, a.User, b.User)
	check("ResourceTenant", a.ResourceTenant == b.ResourceTenant, a.ResourceTenant, b.ResourceTenant)
	check("EpisodeID", a.EpisodeID.Equal(b.EpisodeID), a.EpisodeID, b.EpisodeID)
	check("State", a.State == b.State, a.State, b.State)
	check("Attempts", a.Attempts == b.Attempts, a.Attempts, b.Attempts)
	check("NextAttemptAt", a.NextAttemptAt.Equal(b.NextAttemptAt), a.NextAttemptAt, b.NextAttemptAt)
	check("LastError", a.LastError == b.LastError, a.LastError, b.LastError)
	check("LastStatus", a.LastStatus == b.LastStatus, a.LastStatus, b.LastStatus)
	check("LeaseUntil", a.LeaseUntil.Equal(b.LeaseUntil), a.LeaseUntil, b.LeaseUntil)
	check("LeaseToken", a.LeaseToken == b.LeaseToken, a.LeaseToken, b.LeaseToken)
	check("ClaimToken", a.ClaimToken == b.ClaimToken, a.ClaimToken, b.ClaimToken)
	check("CreatedAt", a.CreatedAt.Equal(b.CreatedAt), a.CreatedAt, b.CreatedAt)
	check("SentAt", a.SentAt.Equal(b.SentAt), a.SentAt, b.SentAt)
	check("Payload", bytes.Equal(a.Payload, b.Payload), len(a.Payload), len(b.Payload))
	check("Digest", a.Digest == b.Digest, a.Digest, b.Digest)
	check("ETag", a.ETag == b.ETag, a.ETag, b.ETag)
	return strings.Join(d, "; ")
}

func TestClaimAlertConcurrent(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	const rounds, writers = 30, 8
	for round := range rounds {
		ep := ts(t, "2025-01-01T00:00:00Z").Add(time.Duration(round) * time.Hour)
		var wins atomic.Int32
		tokens := make([]string, writers)
		winners := make([]string, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			a := testAlert(t, "racer@example.com", "t", ep)
			tokens[w] = a.ClaimToken
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				claimed, stored, err := s.ClaimAlert(ctx, a)
				if err != nil {
					t.Errorf("round %d: %v", round, err)
					return
				}
				if claimed {
					wins.Add(1)
				}
				winners[w] = stored.ClaimToken
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d claims won; want exactly 1", round, wins.Load())
		}
		for w := range writers {
			if winners[w] != winners[0] {
				t.Fatalf("round %d: writers disagree on the winner: %q vs %q", round, winners[w], winners[0])
			}
		}
	}
}

// commitThenFail lets the first request with one of methods commit at the
// service, then answers 503 as if the response had been lost: azcore
// retries it, and the retry meets what its first attempt wrote. Creating
// tables (POST /Tables) passes untouched.
type commitThenFail struct {
	methods []string
	n       atomic.Int32
}

func (c *commitThenFail) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !slices.Contains(c.methods, req.Method) || strings.HasSuffix(req.URL.Path, "/Tables") {
		return resp, err
	}
	if c.n.Add(1) > 1 {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return &http.Response{
		StatusCode: http.StatusServiceUnavailable,
		Status:     "503 Service Unavailable",
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"odata.error":{"code":"ServerBusy","message":{"value":"busy"}}}`)),
		Request:    req,
	}, nil
}

func TestClaimAlertOwnRetriedInsert(t *testing.T) {
	cfg := testConfig(t)
	tr := &commitThenFail{methods: []string{http.MethodPost}}
	cfg.Transport = tr
	s := openStore(t, cfg)
	ctx := context.Background()
	a := testAlert(t, "retry@example.com", "t", ts(t, "2025-01-01T00:00:00Z"))
	claimed, stored, err := s.ClaimAlert(ctx, a)
	if err != nil || !claimed || stored.ClaimToken != a.ClaimToken {
		t.Fatalf("ClaimAlert after a retried insert = %v, %+v, %v; want claimed", claimed, stored, err)
	}
	if n := tr.n.Load(); n != 2 {
		t.Errorf("%d inserts sent; want 2 (the committed one and azcore's retry)", n)
	}

	// The same happens to a pair insert: SavePair reports ErrConflict, and
	// a re-read finds the caller's own state (documented, harmless).
	tr.n.Store(0)
	p := Pair{User: "retry@example.com", ResourceTenant: "t", State: testState(t)}
	if _, err := s.SavePair(ctx, p); !errors.Is(err, ErrConflict) {
		t.Fatalf("SavePair after a retried insert = %v; want ErrConflict", err)
	}
	if got, err := s.GetPair(ctx, p.User, p.ResourceTenant); err != nil || got.State != p.State {
		t.Errorf("re-read = %+v, %v; want own state", got, err)
	}
}

func TestLease(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	now := ts(t, "2025-01-02T03:04:05.6789012Z")
	a := testAlert(t, "lease@example.com", "t", ts(t, "2025-01-01T00:00:00Z"))
	_, a, err := s.ClaimAlert(ctx, a)
	if err != nil {
		t.Fatal(err)
	}

	// Two acquirers from the same read: one wins.
	var wg sync.WaitGroup
	results := make([]bool, 2)
	leased := make([]Alert, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			leased[i], results[i], err = s.AcquireLease(ctx, a, now, 2*time.Minute, fmt.Sprint("token", i))
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if results[0] == results[1] {
		t.Fatalf("lease results %v; want exactly one winner", results)
	}
	win := 0
	if results[1] {
		win = 1
	}
	held := leased[win]
	got, _, _ := s.GetAlert(ctx, a.User, a.ResourceTenant, a.EpisodeID)
	if d := diffAlerts(got, held); d != "" {
		t.Errorf("stored lease differs from AcquireLease's result: %s", d)
	}
	if got.LeaseToken != fmt.Sprint("token", win) || !got.LeaseUntil.Equal(now.Add(2*time.Minute)) || !bytes.Equal(got.Payload, a.Payload) {
		t.Errorf("stored %+v", got)
	}

	// Fresh read, lease still running: not leasable.
	if _, ok, err := s.AcquireLease(ctx, got, now.Add(time.Minute), time.Minute, "late"); ok || err != nil {
		t.Errorf("AcquireLease under a live lease = %v, %v", ok, err)
	}
	// Expired: re-acquirable (at exactly LeaseUntil, too).
	again, ok, err := s.AcquireLease(ctx, got, got.LeaseUntil, time.Minute, "next")
	if !ok || err != nil || again.LeaseToken != "next" {
		t.Fatalf("AcquireLease after expiry = %v, %v", ok, err)
	}
	// Stale copy: 412 → ok=false, no error.
	if _, ok, err := s.AcquireLease(ctx, got, got.LeaseUntil.Add(time.Hour), time.Minute, "stale"); ok || err != nil {
		t.Errorf("AcquireLease with a stale ETag = %v, %v", ok, err)
	}

	// Sent rows are not leasable.
	again.State, again.SentAt, again.Attempts, again.LeaseUntil, again.LeaseToken = AlertSent, now, 1, time.Time{}, ""
	sent, err := s.UpdateAlert(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.AcquireLease(ctx, sent, now.Add(time.Hour), time.Minute, "x"); ok || err != nil {
		t.Errorf("AcquireLease of a sent alert = %v, %v", ok, err)
	}
}

func TestUpdateAlert(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	now := ts(t, "2025-01-02T03:04:05Z")
	_, a, err := s.ClaimAlert(ctx, testAlert(t, "upd@example.com", "t", ts(t, "2025-01-01T00:00:00Z")))
	if err != nil {
		t.Fatal(err)
	}
	b := a
	b.Attempts = 3
	b.LastStatus = 503
	b.LastError = strings.Repeat("é", 600) + "\xff" // 1200+ bytes, invalid UTF-8
	b.NextAttemptAt = now.Add(5 * time.Minute)
	b.Digest = "digest-1"
	updated, err := s.UpdateAlert(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(updated.LastError) > MaxLastError || !strings.HasPrefix(updated.LastError, "éé") {
		t.Errorf("LastError not cut to %d bytes: %d", MaxLastError, len(updated.LastError))
	}
	got, _, _ := s.GetAlert(ctx, a.User, a.ResourceTenant, a.EpisodeID)
	if d := diffAlerts(got, updated); d != "" {
		t.Errorf("read back differs: %s", d)
	}
	// The stale copy loses.
	a.State = AlertFailed
	if _, err := s.UpdateAlert(ctx, a); !errors.Is(err, ErrConflict) {
		t.Errorf("stale UpdateAlert = %v; want ErrConflict", err)
	}
	// Invalid content is refused before any request.
	bad := updated
	bad.State = "lost"
	if _, err := s.UpdateAlert(ctx, bad); !ContentError(err) {
		t.Errorf("unknown state = %v; want a ContentError", err)
	}
}

func TestAlertPayloads(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	ep := ts(t, "2025-01-01T00:00:00Z")
	var big bytes.Buffer
	for big.Len() < 100_000 {
		big.WriteString(`{"k":"vålue 😀 日本","n":12345},`)
	}
	for i, payload := range [][]byte{
		nil,
		[]byte("{}"),
		big.Bytes(),
		bytes.Repeat([]byte("é"), payloadChunk/2),   // exactly one chunk
		bytes.Repeat([]byte("😀"), payloadChunk/4+1), // a rune split between chunks
		[]byte("\xff\xfe not UTF-8 \x00"),
		bytes.Repeat([]byte("x"), MaxPayload),
	} {
		a := testAlert(t, "payload@example.com", fmt.Sprint("t", i), ep)
		a.Payload = payload
		if _, _, err := s.ClaimAlert(ctx, a); err != nil {
			t.Fatalf("payload %d (%d bytes): %v", i, len(payload), err)
		}
		got, _, err := s.GetAlert(ctx, a.User, a.ResourceTenant, ep)
		if err != nil || !bytes.Equal(got.Payload, payload) {
			j := 0
			for j < len(got.Payload) && j < len(payload) && got.Payload[j] == payload[j] {
				j++
			}
			t.Logf("first diff at %d: want %q got %q", j, payload[max(0, j-20):min(len(payload), j+20)], got.Payload[max(0, j-20):min(len(got.Payload), j+20)])
			t.Fatalf("payload %d (%d bytes) read back as %d bytes, %v", i, len(payload), len(got.Payload), err)
		}
	}
	for _, payload := range [][]byte{bytes.Repeat([]byte("x"), MaxPayload+1)} {
		a := testAlert(t, "payload@example.com", "bad", ep)
		a.Payload = payload
		if _, _, err := s.ClaimAlert(ctx, a); !ContentError(err) {
			t.Errorf("payload of %d bytes = %v; want a ContentError", len(payload), err)
		}
	}
}

func TestDueAlerts(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	now := ts(t, "2025-01-02T03:04:05.6789012Z")
	ep := ts(t, "2025-01-01T00:00:00Z")
	mk := func(user string, mut func(*Alert)) {
		t.Helper()
		a := testAlert(t, user, "t", ep)
		mut(&a)
		if claimed, _, err := s.ClaimAlert(ctx, a); err != nil || !claimed {
			t.Fatalf("claim %s: %v, %v", user, claimed, err)
		}
	}
	mk("due-past@x", func(a *Alert) { a.NextAttemptAt = now.Add(-time.Hour) })
	mk("due-exact@x", func(a *Alert) { a.NextAttemptAt = now })
	mk("due-zero@x", func(a *Alert) { a.NextAttemptAt = time.Time{} })
	mk("due-lease-expired@x", func(a *Alert) { a.NextAttemptAt = now.Add(-time.Minute); a.LeaseUntil = now })
	// Within the same millisecond as now: Azurite's filter lets it through,
	// the exact check must not.
	mk("future-100ns@x", func(a *Alert) { a.NextAttemptAt = now.Add(100 * time.Nanosecond) })
	mk("future@x", func(a *Alert) { a.NextAttemptAt = now.Add(time.Minute) })
	mk("leased@x", func(a *Alert) { a.NextAttemptAt = now.Add(-time.Minute); a.LeaseUntil = now.Add(100 * time.Nanosecond) })
	mk("sent@x", func(a *Alert) { a.State = AlertSent; a.NextAttemptAt = now.Add(-time.Hour) })
	mk("failed@x", func(a *Alert) { a.State = AlertFailed; a.NextAttemptAt = now.Add(-time.Hour) })

	due, err := s.DueAlerts(ctx, now, 100)
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, a := range due {
		users = append(users, a.User)
		if a.ETag == "" || len(a.Payload) == 0 {
			t.Errorf("%s: ETag %q, payload %d bytes", a.User, a.ETag, len(a.Payload))
		}
	}
	want := "due-exact@x,due-lease-expired@x,due-past@x,due-zero@x"
	if got := strings.Join(users, ","); got != want {
		t.Errorf("DueAlerts = %s; want %s", got, want)
	}
	// The ETag from the query is usable for a lease.
	if _, ok, err := s.AcquireLease(ctx, due[0], now, time.Minute, "tok"); !ok || err != nil {
		t.Errorf("AcquireLease of a queried alert = %v, %v", ok, err)
	}
	if due, err := s.DueAlerts(ctx, now, 2); err != nil || len(due) != 2 {
		t.Errorf("DueAlerts(limit 2) = %d alerts, %v", len(due), err)
	}
	if due, err := s.DueAlerts(ctx, now, 100); err != nil || len(due) != 3 {
		t.Errorf("after leasing one: %d due, %v; want 3", len(due), err)
	}
}

func TestAcquireLeaseOwnRetriedMerge(t *testing.T) {
	cfg := testConfig(t)
	plain := openStore(t, cfg)
	ctx := context.Background()
	a := testAlert(t, "lease-retry@example.com", "t", ts(t, "2025-01-01T00:00:00Z"))
	if ok, _, err := plain.ClaimAlert(ctx, a); !ok || err != nil {
		t.Fatal(ok, err)
	}
	stored, _, _ := plain.GetAlert(ctx, a.User, a.ResourceTenant, a.EpisodeID)

	tr := &commitThenFail{methods: []string{http.MethodPatch, "MERGE", http.MethodPut}}
	cfg.Transport = tr
	s := openStore(t, cfg)
	now := ts(t, "2025-01-01T00:00:01Z")
	leased, ok, err := s.AcquireLease(ctx, stored, now, time.Minute, "mine")
	if err != nil || !ok || leased.LeaseToken != "mine" {
		t.Fatalf("AcquireLease after a retried merge = %+v, %v, %v; want it acquired", leased, ok, err)
	}
	if n := tr.n.Load(); n != 2 {
		t.Errorf("%d merges sent; want 2 (the committed one and azcore's retry)", n)
	}
}
