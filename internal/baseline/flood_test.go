package baseline

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTakeHourSlotCountsAcrossRacersAndHours(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	hour := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	const limit, racers = 5, 12
	var granted atomic.Int32
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			ok, err := s.TakeHourSlot(ctx, hour.Add(time.Duration(i)*time.Minute), limit)
			if err != nil {
				t.Error(err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if got := granted.Load(); got != limit {
		t.Errorf("%d slots granted in one hour; want %d", got, limit)
	}
	if ok, err := s.TakeHourSlot(ctx, hour.Add(59*time.Minute+59*time.Second), limit); ok || err != nil {
		t.Errorf("slot granted past the limit: %v %v", ok, err)
	}
	if ok, err := s.TakeHourSlot(ctx, hour.Add(time.Hour), limit); !ok || err != nil {
		t.Errorf("the next hour starts a new count: %v %v", ok, err)
	}
	if err := s.ReleaseHourSlot(ctx, hour.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.TakeHourSlot(ctx, hour.Add(31*time.Minute), limit); !ok || err != nil {
		t.Errorf("a released slot is not free again: %v %v", ok, err)
	}
	if ok, err := s.TakeHourSlot(ctx, hour.Add(32*time.Minute), limit); ok || err != nil {
		t.Errorf("more than the limit after a release: %v %v", ok, err)
	}
	if err := s.ReleaseHourSlot(ctx, hour.Add(5*time.Hour)); err != nil {
		t.Errorf("releasing in an hour with no count: %v", err)
	}
	if ok, err := s.TakeHourSlot(ctx, hour, 0); !ok || err != nil {
		t.Errorf("limit 0 means no limit: %v %v", ok, err)
	}
	due, err := s.DueAlerts(ctx, hour.Add(48*time.Hour), 100)
	if err != nil || len(due) != 0 {
		t.Errorf("hour counters show up as due alerts: %v %v", due, err)
	}
}

// TestHourCountChangesOnceWhenAzcoreRetriesACommittedWrite: a write whose
// answer was lost is retried by azcore and refused against our own write;
// the re-read must not apply the change twice, either way.
func TestHourCountChangesOnceWhenAzcoreRetriesACommittedWrite(t *testing.T) {
	ctx := context.Background()
	hour := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	const limit = 3

	cfg := testConfig(t)
	plain := openStore(t, cfg)
	for range limit {
		if ok, err := plain.TakeHourSlot(ctx, hour, limit); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	cfg.Transport = &commitThenFail{methods: []string{http.MethodPut}}
	if err := openStore(t, cfg).ReleaseHourSlot(ctx, hour); err != nil {
		t.Fatal(err)
	}
	granted := 0
	for range 5 {
		if ok, err := plain.TakeHourSlot(ctx, hour, limit); err != nil {
			t.Fatal(err)
		} else if ok {
			granted++
		}
	}
	if granted != 1 {
		t.Errorf("one release granted %d more slots; want 1", granted)
	}

	cfg = testConfig(t)
	cfg.Transport = &commitThenFail{methods: []string{http.MethodPost}}
	s := openStore(t, cfg)
	later := hour.Add(time.Hour)
	if ok, err := s.TakeHourSlot(ctx, later, 2); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := s.TakeHourSlot(ctx, later, 2); !ok || err != nil {
		t.Errorf("the second card of a 2-card hour was refused (%v): one card took two slots", err)
	}
}
