package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/azurite"
	"github.com/tenantwatch/tenantwatch/internal/azurite/azuritetest"
	"github.com/tenantwatch/tenantwatch/internal/baseline"
	"github.com/tenantwatch/tenantwatch/internal/baseline/baselinetest"
)

// The store is the real one on Azurite; the notifier is scripted, since
// what is under test is how the outbox records each kind of outcome.

type scripted struct {
	mu      sync.Mutex
	results []alert.Result // one per attempt; the last repeats
	calls   []time.Time
}

func (s *scripted) Send(_ context.Context, env alert.Envelope, now time.Time) alert.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, now)
	r := s.results[min(len(s.calls)-1, len(s.results)-1)]
	return r
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var emu *azurite.Emulator

func TestMain(m *testing.M) { os.Exit(azuritetest.Main(m, &emu)) }

func newStore(t *testing.T) *baseline.Store { return baselinetest.Open(t, emu.ConnectionString()) }

func pending(t *testing.T, s *baseline.Store, at time.Time) baseline.Alert {
	t.Helper()
	env := alert.Envelope{Type: alert.EventType, Timestamp: at, Data: alert.Data{AlertID: "ctsi_test", UserPrincipalName: "a@b.example"}}
	payload, _ := json.Marshal(env)
	a := baseline.Alert{ID: "ctsi_test", User: "a@b.example", ResourceTenant: "t1", EpisodeID: at,
		State: baseline.AlertPending, NextAttemptAt: at, CreatedAt: at, Payload: payload}
	ok, stored, err := s.ClaimAlert(context.Background(), a)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	return stored
}

func get(t *testing.T, s *baseline.Store, a baseline.Alert) baseline.Alert {
	t.Helper()
	got, ok, err := s.GetAlert(context.Background(), a.User, a.ResourceTenant, a.EpisodeID)
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	return got
}

func TestOutboxRecordsEachOutcome(t *testing.T) {
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	schedule := []time.Duration{time.Minute, time.Hour}
	fail := alert.Result{Status: 503, Retry: true, Err: errors.New("service unavailable")}
	tests := []struct {
		name     string
		results  []alert.Result
		runs     int // RunDue calls after the first Deliver, each when due
		state    baseline.AlertState
		attempts int
		next     []time.Duration // expected delays between attempts, at Rand = 0.5 (no jitter)
	}{
		{"delivered at once", []alert.Result{{Delivered: true, Status: 202}}, 0, baseline.AlertSent, 1, nil},
		{"retried per schedule, then delivered", []alert.Result{fail, fail, {Delivered: true, Status: 200}}, 2, baseline.AlertSent, 3, []time.Duration{time.Minute, time.Hour}},
		{"failed after the schedule", []alert.Result{fail}, 3, baseline.AlertFailed, 3, []time.Duration{time.Minute, time.Hour}},
		{"Retry-After longer than the schedule wins", []alert.Result{{Status: 429, Retry: true, RetryAfter: 10 * time.Minute}, {Delivered: true}}, 1, baseline.AlertSent, 2, []time.Duration{10 * time.Minute}},
		{"a refusal is not retried", []alert.Result{{Status: 400, Err: errors.New("bad request")}}, 2, baseline.AlertFailed, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			clk := &clock{t: start}
			n := &scripted{results: tt.results}
			o := &Outbox{Store: s, Notifier: n, Schedule: schedule, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Now: clk.now, Rand: func() float64 { return 0.5 }}
			a := pending(t, s, start)
			if err := o.Deliver(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			for range tt.runs {
				cur := get(t, s, a)
				if cur.State != baseline.AlertPending {
					break
				}
				clk.t = cur.NextAttemptAt
				if _, err := o.RunDue(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			got := get(t, s, a)
			if got.State != tt.state || got.Attempts != tt.attempts || n.count() != tt.attempts {
				t.Errorf("state %s attempts %d (notifier saw %d); want %s %d", got.State, got.Attempts, n.count(), tt.state, tt.attempts)
			}
			for i, d := range tt.next {
				if i+1 < len(n.calls) && n.calls[i+1].Sub(n.calls[i]) != d {
					t.Errorf("delay before attempt %d = %v; want %v", i+2, n.calls[i+1].Sub(n.calls[i]), d)
				}
			}
			if got.LeaseToken != "" || !got.LeaseUntil.IsZero() {
				t.Errorf("lease not released: %q until %v", got.LeaseToken, got.LeaseUntil)
			}
			if tt.state == baseline.AlertFailed && got.LastError == "" {
				t.Error("a failed alert keeps no last error")
			}
		})
	}
}

func TestOutboxNeverSendsAnAlertTwiceAtOnce(t *testing.T) {
	s := newStore(t)
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	a := pending(t, s, start)
	release := make(chan struct{})
	n := &blocking{release: release}
	o := &Outbox{Store: s, Notifier: n, Schedule: []time.Duration{time.Minute}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return start }}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- o.Deliver(context.Background(), a) })
	}
	time.Sleep(300 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	busy := 0
	for err := range errs {
		if errors.Is(err, ErrBusy) {
			busy++
		}
	}
	if n.count() != 1 || busy != 7 {
		t.Errorf("%d sends, %d busy; want 1 and 7", n.count(), busy)
	}
	if again := o.Deliver(context.Background(), get(t, s, a)); !errors.Is(again, ErrBusy) {
		t.Errorf("a sent alert was leased again: %v", again)
	}
}

type blocking struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (b *blocking) Send(context.Context, alert.Envelope, time.Time) alert.Result {
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
	<-b.release
	return alert.Result{Delivered: true, Status: 204}
}

func (b *blocking) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// teams is a scripted notifier that also posts digests.
type teams struct {
	scripted
	digests [][]string // alert ids per digest
	digest  alert.Result
}

func (n *teams) SendDigest(_ context.Context, envs []alert.Envelope, _ int, _ time.Time) (alert.Result, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ids []string
	for _, e := range envs {
		ids = append(ids, e.Data.AlertID)
	}
	n.digests = append(n.digests, ids)
	return n.digest, len(envs)
}

func pendingFor(t *testing.T, s *baseline.Store, user string, at time.Time) baseline.Alert {
	t.Helper()
	env := alert.Envelope{Type: alert.EventType, Timestamp: at, Data: alert.Data{AlertID: "ctsi_" + user, UserPrincipalName: user}}
	payload, _ := json.Marshal(env)
	a := baseline.Alert{ID: "ctsi_" + user, User: user, ResourceTenant: "t1", EpisodeID: at,
		State: baseline.AlertPending, NextAttemptAt: at, CreatedAt: at, Payload: payload}
	ok, stored, err := s.ClaimAlert(context.Background(), a)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	return stored
}

func TestFloodGuard(t *testing.T) {
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	ok := alert.Result{Delivered: true, Status: 202}
	unavailable := alert.Result{Status: 503, Retry: true, Err: errors.New("unavailable")}
	tests := []struct {
		name    string
		results []alert.Result
		digest  alert.Result
		alerts  int
		// want: cards posted on their own, digests posted, final states
		cards, digests int
		state          baseline.AlertState
		digested       int
		runs           int
	}{
		{"past the limit the rest of the hour goes into one digest", []alert.Result{ok}, ok, 5, 2, 1, baseline.AlertSent, 3, 3},
		{"failed attempts give their slot back", []alert.Result{unavailable, ok}, ok, 2, 2, 0, baseline.AlertSent, 0, 3},
		{"a refused digest is retried, not failed", []alert.Result{ok}, alert.Result{Status: 400, Err: errors.New("bad card")}, 4, 2, 1, baseline.AlertPending, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			n := &teams{scripted: scripted{results: tt.results}, digest: tt.digest}
			clk := &clock{t: start}
			o := &Outbox{Store: s, Notifier: n, Digest: n, MaxPerHour: 2, Schedule: []time.Duration{time.Minute, time.Minute},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.now, Rand: func() float64 { return 0.5 }}
			var all []baseline.Alert
			for i := range tt.alerts {
				a := pendingFor(t, s, fmt.Sprintf("u%d@x.example", i), start)
				all = append(all, a)
				_ = o.Deliver(context.Background(), a) // the inline attempt
			}
			for range tt.runs { // timer runs, a minute apart, within the hour
				clk.t = clk.t.Add(time.Minute)
				if _, err := o.RunDue(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if got := n.count(); got-countFailures(n, tt.results) != tt.cards {
				t.Errorf("%d individual attempts (%d delivered cards expected)", got, tt.cards)
			}
			if len(n.digests) < tt.digests || (tt.digests == 0 && len(n.digests) > 0) {
				t.Errorf("%d digests; want %d", len(n.digests), tt.digests)
			}
			digested := 0
			for _, a := range all {
				got := get(t, s, a)
				if got.State != tt.state && !(tt.state == baseline.AlertPending && got.State == baseline.AlertSent) {
					t.Errorf("%s: state %s; want %s", a.User, got.State, tt.state)
				}
				if strings.HasPrefix(got.Digest, "digest_") {
					digested++
				}
			}
			if digested != tt.digested {
				t.Errorf("%d rows marked sent by a digest; want %d", digested, tt.digested)
			}
		})
	}
}

// countFailures counts the scripted attempts that did not deliver.
func countFailures(n *teams, results []alert.Result) int {
	f := 0
	for i := range n.count() {
		if !results[min(i, len(results)-1)].Delivered {
			f++
		}
	}
	return f
}

type slow struct{ scripted }

func (s *slow) Send(ctx context.Context, env alert.Envelope, now time.Time) alert.Result {
	time.Sleep(300 * time.Millisecond)
	return s.scripted.Send(ctx, env, now)
}

func TestRunDueStopsStartingAttemptsWhenItsBudgetIsSpent(t *testing.T) {
	s := newStore(t)
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	for i := range 9 {
		pendingFor(t, s, fmt.Sprintf("slow%d@x.example", i), start)
	}
	n := &slow{scripted{results: []alert.Result{{Delivered: true, Status: 204}}}}
	o := &Outbox{Store: s, Notifier: n, Schedule: []time.Duration{time.Minute}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return start.Add(time.Minute) }, RunBudget: 100 * time.Millisecond}
	st, err := o.RunDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Due != 9 || st.Attempted != 4 {
		t.Errorf("due %d attempted %d; want 9 due and only the first 4 (one round of concurrency) attempted", st.Due, st.Attempted)
	}
	st, err = o.RunDue(context.Background())
	if err != nil || st.Due != 5 {
		t.Errorf("the next run found %d due (%v); want the 5 left", st.Due, err)
	}
}

// TestRunDueMixesHeldAndFreshAlertsSafely: alerts held earlier and alerts
// RunDue's worker holds now end in one digest list (run with -race).
func TestRunDueMixesHeldAndFreshAlertsSafely(t *testing.T) {
	s := newStore(t)
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	ok := alert.Result{Delivered: true, Status: 202}
	n := &teams{scripted: scripted{results: []alert.Result{ok}}, digest: ok}
	clk := &clock{t: start}
	o := &Outbox{Store: s, Notifier: n, Digest: n, MaxPerHour: 1, Schedule: []time.Duration{time.Minute},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.now, Rand: func() float64 { return 0.5 }}
	if err := o.Deliver(context.Background(), pendingFor(t, s, "a0@x.example", start)); err != nil {
		t.Fatal(err) // the hour's one card
	}
	for i := range 20 {
		a := pendingFor(t, s, fmt.Sprintf("b%02d@x.example", i), start)
		if i%2 == 0 {
			if err := o.Deliver(context.Background(), a); !errors.Is(err, ErrHeld) {
				t.Fatalf("want held, got %v", err)
			}
		}
	}
	o.MinInterval = time.Millisecond // paced, as for Teams: one worker beside the loop
	clk.t = start.Add(time.Minute)
	st, err := o.RunDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Due != 20 || st.Held != 20 || st.Digested != 20 {
		t.Errorf("stats %+v; want all 20 due alerts held and digested", st)
	}
}

type countingByID struct {
	mu   sync.Mutex
	byID map[string]int
}

func (c *countingByID) Send(_ context.Context, env alert.Envelope, _ time.Time) alert.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID[env.Data.AlertID]++
	return alert.Result{Delivered: true, Status: 202}
}

// TestALeaseNeverRunsOutWhileWaitingToPost: attempts queued behind the
// pacing of one instance must not hold leases a second instance then takes
// over, or one alert is posted twice with no crash and no timeout.
func TestALeaseNeverRunsOutWhileWaitingToPost(t *testing.T) {
	s := newStore(t)
	start := time.Now().Add(-time.Minute).UTC()
	var alerts []baseline.Alert
	for i := range 8 {
		alerts = append(alerts, pendingFor(t, s, fmt.Sprintf("q%d@x.example", i), start))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	na, nb := &countingByID{byID: map[string]int{}}, &countingByID{byID: map[string]int{}}
	const lease = 1500 * time.Millisecond
	a := &Outbox{Store: s, Notifier: na, Schedule: []time.Duration{time.Minute}, Lease: lease, Logger: log, MinInterval: 300 * time.Millisecond}
	b := &Outbox{Store: s, Notifier: nb, Schedule: []time.Duration{time.Minute}, Lease: lease, Logger: log, MinInterval: 300 * time.Millisecond}
	var wg sync.WaitGroup
	for _, al := range alerts {
		wg.Go(func() { _ = a.Deliver(context.Background(), al) })
	}
	time.Sleep(lease + 200*time.Millisecond)
	if _, err := b.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, al := range alerts {
		if n := na.byID[al.ID] + nb.byID[al.ID]; n != 1 {
			t.Errorf("%s posted %d times (A %d, B %d); want 1", al.ID, n, na.byID[al.ID], nb.byID[al.ID])
		}
	}
}
