package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/azurite"
	"github.com/tenantwatch/tenantwatch/internal/azurite/azuritetest"
	"github.com/tenantwatch/tenantwatch/internal/baseline"
	"github.com/tenantwatch/tenantwatch/internal/baseline/baselinetest"
	"github.com/tenantwatch/tenantwatch/internal/detect"
	"github.com/tenantwatch/tenantwatch/internal/outbox"
)

// These tests run the processor on the real store (Azurite) and record the
// alerts it hands to the outbox.

var emu *azurite.Emulator

func TestMain(m *testing.M) { os.Exit(azuritetest.Main(m, &emu)) }

type recorder struct {
	mu     sync.Mutex
	alerts []baseline.Alert
}

func (r *recorder) DeliverBy(_ context.Context, a baseline.Alert, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
	return nil
}

func (r *recorder) users() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.alerts {
		out = append(out, a.User)
	}
	return out
}

const (
	ours   = "11111111-1111-1111-1111-111111111111"
	theirs = "22222222-2222-2222-2222-222222222222"
)

var day0 = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

func newProcessor(t *testing.T, policy detect.Policy, now time.Time) (*Processor, *recorder) {
	t.Helper()
	s := baselinetest.Open(t, emu.ConnectionString())
	rec := &recorder{}
	return &Processor{Policy: policy, Store: s, Outbox: rec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now }}, rec
}

type rec struct {
	user, home, resource, risk, category, result string
	at                                           time.Time
}

func batch(rs ...rec) [][]byte {
	var recs []map[string]any
	for _, r := range rs {
		if r.category == "" {
			r.category = "SignInLogs"
		}
		if r.result == "" {
			r.result = "0"
		}
		recs = append(recs, map[string]any{
			"category": r.category, "tenantId": ours, "resultType": r.result, "time": r.at.Format(time.RFC3339Nano),
			"properties": map[string]any{"id": "sid-" + r.user, "userPrincipalName": r.user, "homeTenantId": r.home,
				"resourceTenantId": r.resource, "riskLevelAggregated": r.risk, "createdDateTime": r.at.Format(time.RFC3339Nano)},
		})
	}
	b, _ := json.Marshal(map[string]any{"records": recs})
	return [][]byte{b}
}

func TestLearningHoldsAlertsUntilThePeriodHasPassed(t *testing.T) {
	p, out := newProcessor(t, detect.DefaultPolicy(), day0.AddDate(0, 1, 0))
	ctx := context.Background()
	steps := []struct {
		name  string
		rec   rec
		alert bool
	}{
		{"the first sighting starts learning", rec{user: "a@x.example", home: ours, resource: theirs, risk: "high", at: day0}, false},
		{"a new pair during learning builds state quietly", rec{user: "b@x.example", home: ours, resource: theirs, risk: "high", at: day0.AddDate(0, 0, 13)}, false},
		{"a new pair once learning is over alerts", rec{user: "c@x.example", home: ours, resource: theirs, risk: "high", at: day0.AddDate(0, 0, 14)}, true},
		{"a pair learnt during learning stays known", rec{user: "b@x.example", home: ours, resource: theirs, risk: "high", at: day0.AddDate(0, 0, 15)}, false},
		{"an older sighting moves learning back, so later ones need not wait", rec{user: "d@x.example", home: ours, resource: theirs, risk: "high", at: day0.AddDate(0, 0, -20)}, false},
		{"after learning moved back, a pair new on day 10 alerts", rec{user: "e@x.example", home: ours, resource: theirs, risk: "high", at: day0.AddDate(0, 0, 10)}, true},
	}
	want := 0
	for _, s := range steps {
		if _, err := p.Process(ctx, batch(s.rec)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.alert {
			want++
		}
		if got := len(out.users()); got != want {
			t.Fatalf("%s: %d alerts so far; want %d (%v)", s.name, got, want, out.users())
		}
	}
}

func TestStatsCountWhatHappenedToEachRecord(t *testing.T) {
	pol := detect.DefaultPolicy()
	pol.LearningPeriod = 0
	p, out := newProcessor(t, pol, day0.Add(time.Hour))
	st, err := p.Process(context.Background(), append(batch(
		rec{user: "a@x.example", home: ours, resource: theirs, risk: "none", at: day0},
		rec{user: "a@x.example", home: ours, resource: theirs, risk: "medium", at: day0.Add(time.Minute)},
		rec{user: "a@x.example", home: ours, resource: theirs, risk: "high", at: day0.Add(2 * time.Minute)},
		rec{user: "a@x.example", home: ours, resource: theirs, risk: "high", at: day0.AddDate(0, 0, -20)},
		rec{user: "b@x.example", home: ours, resource: ours, risk: "high", at: day0},
		rec{user: "c@x.example", home: ours, resource: theirs, risk: "high", at: day0, result: "50126"},
		rec{user: "d@x.example", home: ours, resource: theirs, risk: "high", at: day0, category: "AuditLogs"},
		rec{user: "e@x.example", home: ours, resource: theirs, risk: "high", at: day0.Add(3 * time.Hour)},
	), []byte("garbage")))
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Events: 2, BadEvents: 1, Records: 8, Sightings: 4, Malformed: 1, History: 1, Claimed: 1, PairWrites: 3,
		Skipped: map[string]int{detect.ReasonSameTenant: 1, detect.ReasonFailed: 1, detect.ReasonCategory: 1}}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("stats = %+v\nwant    %+v", st, want)
	}
	if got := out.users(); len(got) != 1 || got[0] != "a@x.example" {
		t.Errorf("alerts for %v; want one for a@x.example", got)
	}
}

func TestOneEpisodeRaisesOneAlertWhateverTheOrder(t *testing.T) {
	pol := detect.DefaultPolicy()
	pol.LearningPeriod = 0
	p, out := newProcessor(t, pol, day0.AddDate(0, 0, 20))
	ctx := context.Background()
	// The episode opens, then a late sighting moves its start back, then a
	// re-published copy brings risk: all one episode, one alert.
	for _, r := range []rec{
		{user: "a@x.example", home: ours, resource: theirs, risk: "high", at: day0},
		{user: "a@x.example", home: ours, resource: theirs, risk: "high", at: day0.Add(-3 * time.Hour)},
		{user: "a@x.example", home: ours, resource: theirs, risk: "medium", at: day0.Add(time.Hour)},
	} {
		if _, err := p.Process(ctx, batch(r)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(out.users()); n != 1 {
		t.Fatalf("%d alerts; want 1", n)
	}
	pair, err := p.Store.GetPair(ctx, "a@x.example", theirs)
	if err != nil {
		t.Fatal(err)
	}
	if !pair.State.EpisodeID.Equal(day0) || !pair.State.EpisodeStart.Equal(day0.Add(-3*time.Hour)) || !pair.State.LastSeen.Equal(day0.Add(time.Hour)) {
		t.Errorf("pair state = %+v", pair.State)
	}
	// Fifteen days of silence later the pair is new again: a second episode, a second alert.
	if _, err := p.Process(ctx, batch(rec{user: "a@x.example", home: ours, resource: theirs, risk: "low", at: day0.AddDate(0, 0, 15)})); err != nil {
		t.Fatal(err)
	}
	if n := len(out.users()); n != 2 {
		t.Fatalf("%d alerts after the pair went quiet for 15 days; want 2", n)
	}
}

// TestWhereBatchesAreCutNeverChangesADecision feeds the same sightings in
// the same order once as one batch and once split, on fresh stores.
func TestWhereBatchesAreCutNeverChangesADecision(t *testing.T) {
	seq := []rec{
		{user: "x@x.example", home: ours, resource: theirs, risk: "high", at: day0.AddDate(0, 0, 20)},
		{user: "y@x.example", home: ours, resource: theirs, risk: "high", at: day0},
		{user: "z@x.example", home: ours, resource: theirs, risk: "high", at: day0.AddDate(0, 0, 15)},
	}
	run := func(t *testing.T, cuts [][]rec) []string {
		p, out := newProcessor(t, detect.DefaultPolicy(), day0.AddDate(0, 1, 0))
		for _, c := range cuts {
			if _, err := p.Process(context.Background(), batch(c...)); err != nil {
				t.Fatal(err)
			}
		}
		return slices.Sorted(slices.Values(out.users())) // pairs are worked on concurrently
	}
	whole := run(t, [][]rec{seq})
	for _, cuts := range [][][]rec{
		{seq[:1], seq[1:]},
		{seq[:2], seq[2:]},
		{seq[:1], seq[1:2], seq[2:]},
	} {
		if got := run(t, cuts); fmt.Sprint(got) != fmt.Sprint(whole) {
			t.Errorf("cut into %d batches: alerts %v; as one batch %v", len(cuts), got, whole)
		}
	}
	// x is the first sighting ever: it starts learning and cannot end it.
	// z arrives after y moved learning back to day 0, so day 15 is past it.
	if fmt.Sprint(whole) != "[z@x.example]" {
		t.Errorf("alerts %v; want [z@x.example]", whole)
	}
}

type instant struct{}

func (instant) Send(context.Context, alert.Envelope, time.Time) alert.Result {
	return alert.Result{Delivered: true, Status: 202}
}

// TestInlineDeliveryNeverWaitsPastItsBudget: several batches on one
// instance share the Teams pacing; none may queue its reply behind it for
// longer than its inline budget (the rest is the timer's).
func TestInlineDeliveryNeverWaitsPastItsBudget(t *testing.T) {
	p0, _ := newProcessor(t, detect.DefaultPolicy(), day0)
	store := p0.Store.(*baseline.Store)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ob := &outbox.Outbox{Store: store, Notifier: instant{}, Schedule: []time.Duration{time.Minute}, Logger: log, MinInterval: 300 * time.Millisecond}
	const batches, perBatch = 8, 4
	budget := 200 * time.Millisecond
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		slowest time.Duration
	)
	for b := range batches {
		var alerts []baseline.Alert
		for i := range perBatch {
			a := baseline.Alert{ID: fmt.Sprintf("a%d-%d", b, i), User: fmt.Sprintf("u%d-%d@x.example", b, i), ResourceTenant: theirs,
				EpisodeID: day0, State: baseline.AlertPending, NextAttemptAt: day0, CreatedAt: day0, Payload: []byte(`{"data":{}}`)}
			_, stored, err := store.ClaimAlert(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			alerts = append(alerts, stored)
		}
		p := &Processor{Outbox: ob, Logger: log, InlineBudget: budget}
		wg.Go(func() {
			start := time.Now()
			p.deliver(context.Background(), alerts)
			mu.Lock()
			slowest = max(slowest, time.Since(start))
			mu.Unlock()
		})
	}
	wg.Wait()
	// The budget bounds when attempts start; one attempt (instant here, but
	// with its storage writes) may still be under way when it ends.
	if slowest > budget+2*time.Second {
		t.Errorf("inline delivery held a batch's reply %v; budget %v", slowest, budget)
	}
}
