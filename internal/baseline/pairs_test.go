package baseline

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/tenantwatch/tenantwatch/internal/detect"
)

func testState(t testing.TB) detect.PairState {
	return detect.PairState{
		EpisodeID:    ts(t, "2025-01-01T11:59:57.9876543Z"),
		EpisodeStart: ts(t, "2024-12-31T23:00:00.0000001Z"),
		LastSeen:     ts(t, "2025-01-02T00:00:00.1234567Z"),
	}
}

// keyNames are users and tenants that must survive the trip through keys.
func keyNames() []string {
	return []string{
		"alice_contoso.com#EXT#@fabrikam.onmicrosoft.com",
		"alice@contoso.com",
		"/", "\\", "?", "#", "%", "%25", "%2F", "'", "''", "+", " ", "a b", "~", "!", "!meta", "~21",
		"😀", "é", "日本語@例え.jp",
		"\x00", "\t\n\r", "\x7f", "\u0080\u009f", "\u2028",
		"\xff\xfe", "a\xc3", // invalid UTF-8
		strings.Repeat("n", 400),
		strings.Repeat("a", MaxKeyLen),    // exactly at the limit
		strings.Repeat("#", MaxKeyLen/3),  // 510 encoded bytes
		strings.Repeat("é", MaxKeyLen/6),  // 510 encoded bytes
		strings.Repeat("😀", MaxKeyLen/12), // 504 encoded bytes
		".", "..",
	}
}

func TestKeysRoundTripOnAzurite(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	st := testState(t)
	names := keyNames()
	for i, name := range names {
		// Each name as a user (PartitionKey) and as a tenant (RowKey).
		for _, p := range []Pair{
			{User: name, ResourceTenant: "tenant-" + string(rune('a'+i%26)), State: st},
			{User: "user@example.com", ResourceTenant: name, State: st},
		} {
			if _, err := s.SavePair(ctx, p); err != nil {
				t.Fatalf("SavePair(%q, %q): %v", p.User, p.ResourceTenant, err)
			}
			got, err := s.GetPair(ctx, p.User, p.ResourceTenant)
			if err != nil {
				t.Fatalf("GetPair(%q, %q): %v", p.User, p.ResourceTenant, err)
			}
			if !got.Exists || got.User != p.User || got.ResourceTenant != p.ResourceTenant || got.State != st {
				t.Fatalf("GetPair(%q, %q) = %+v", p.User, p.ResourceTenant, got)
			}
			// A point update also addresses the key in the URL.
			got.State.LastSeen = got.State.LastSeen.Add(time.Second)
			if _, err := s.SavePair(ctx, got); err != nil {
				t.Fatalf("update (%q, %q): %v", p.User, p.ResourceTenant, err)
			}
		}
		if n, err := s.CountTenants(ctx, name); err != nil || n != 1 {
			t.Errorf("CountTenants(%q) = %d, %v; want 1", name, n, err)
		}
	}
	if n, err := s.CountTenants(ctx, "user@example.com"); err != nil || n != len(names) {
		t.Errorf("CountTenants = %d, %v; want %d", n, err, len(names))
	}

	// The stored keys are exactly the encodings.
	pager := s.baseline.NewListEntitiesPager(nil)
	seen := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range page.Entities {
			r, _ := parseRow(raw)
			pk, rk, _ := r.keys()
			if _, err := DecodeKey(pk); err != nil {
				t.Errorf("stored PartitionKey %q: %v", pk, err)
			}
			if _, err := DecodeKey(rk); err != nil {
				t.Errorf("stored RowKey %q: %v", rk, err)
			}
			seen++
		}
	}
	if seen != 2*len(names) {
		t.Errorf("table holds %d rows; want %d", seen, 2*len(names))
	}
}

func TestKeysOverLimit(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for _, name := range []string{strings.Repeat("a", MaxKeyLen+1), strings.Repeat("#", MaxKeyLen/3+1), ""} {
		for _, p := range []Pair{
			{User: name, ResourceTenant: "t", State: testState(t)},
			{User: "u", ResourceTenant: name, State: testState(t)},
		} {
			_, err := s.SavePair(ctx, p)
			if !ContentError(err) || Transient(err) {
				t.Errorf("SavePair(%d-byte key) = %v; want a ContentError", len(name), err)
			}
			_, err = s.GetPair(ctx, p.User, p.ResourceTenant)
			if !ContentError(err) {
				t.Errorf("GetPair(%d-byte key) = %v; want a ContentError", len(name), err)
			}
		}
	}
	_, err := s.SavePair(ctx, Pair{User: strings.Repeat("a", MaxKeyLen+1), ResourceTenant: "t", State: testState(t)})
	if !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("err = %v; want ErrKeyTooLong", err)
	}
}

// Raw keys show what Azurite itself accepts, so the encoding's choices
// are pinned to measured behaviour.
func TestAzuriteRawKeyBehaviour(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	if err := s.EnsureTables(ctx); err != nil {
		t.Fatal(err)
	}
	add := func(pk string) error {
		b, _ := json.Marshal(map[string]any{"PartitionKey": pk, "RowKey": "r"})
		_, err := s.baseline.AddEntity(ctx, b, nil)
		return err
	}
	// Survive a raw round trip on Azurite (the public service is another
	// matter for '%': it decodes key paths twice).
	for _, pk := range []string{"a%b", "a%25b", "a+b", "a b", "é😀", "a'b", "a~b", "a!b", "a@b", "a:b"} {
		if err := add(pk); err != nil {
			t.Errorf("raw add %q: %v", pk, err)
			continue
		}
		resp, err := s.baseline.GetEntity(ctx, pk, "r", nil)
		if err != nil {
			t.Errorf("raw get %q: %v", pk, err)
			continue
		}
		r, _ := parseRow(resp.Value)
		if got, _, _ := r.keys(); got != pk {
			t.Errorf("raw %q read back as %q", pk, got)
		}
	}
	// Refused with 400 InvalidInput, a ContentError.
	for _, pk := range []string{"a/b", "a\\b", "a#b", "a?b", "a\tb", "a\u007fb", "a\u0085b", strings.Repeat("x", 513)} {
		err := add(pk)
		if !hasCode(err, aztables.InvalidInput) || !ContentError(err) {
			t.Errorf("raw add %q = %v; want 400 InvalidInput", pk, err)
		}
	}
	// 512 UTF-16 units is Azurite's limit, whatever the UTF-8 length.
	if err := add(strings.Repeat("é", 512)); err != nil {
		t.Errorf("512 × é: %v", err)
	}
	if err := add(strings.Repeat("😀", 257)); !hasCode(err, aztables.InvalidInput) {
		t.Errorf("257 × emoji (514 UTF-16 units) = %v; want InvalidInput", err)
	}
}

func TestTimesRoundTripExactly(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for i, v := range []string{
		"2025-01-01T11:59:57.9876543Z",
		"2025-01-01T11:59:57Z",
		"2010-01-01T00:00:00.0000001Z",
		"2025-06-30T23:59:59.9999999+02:00",
		"9999-12-31T23:59:59.9999999Z",
	} {
		tm := ts(t, v)
		st := detect.PairState{EpisodeID: tm, EpisodeStart: tm.Add(-100 * time.Nanosecond), LastSeen: tm}
		p := Pair{User: "times@example.com", ResourceTenant: string(rune('a' + i)), State: st, HomeTenant: "home"}
		if _, err := s.SavePair(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetPair(ctx, p.User, p.ResourceTenant)
		if err != nil {
			t.Fatal(err)
		}
		if !got.State.EpisodeID.Equal(tm) || !got.State.EpisodeStart.Equal(st.EpisodeStart) || !got.State.LastSeen.Equal(tm) {
			t.Errorf("%s read back as %+v", v, got.State)
		}
		if got.State.EpisodeID.Location() != time.UTC || got.HomeTenant != "home" {
			t.Errorf("%s: location %v, home %q", v, got.State.EpisodeID.Location(), got.HomeTenant)
		}
	}
	// Below 100 ns the service cannot store: truncated, not rounded.
	tm := ts(t, "2025-01-01T00:00:00.123456789Z")
	p := Pair{User: "times@example.com", ResourceTenant: "ns", State: detect.PairState{EpisodeID: tm, EpisodeStart: tm, LastSeen: tm}}
	if _, err := s.SavePair(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetPair(ctx, p.User, p.ResourceTenant)
	if want := ts(t, "2025-01-01T00:00:00.1234567Z"); !got.State.LastSeen.Equal(want) {
		t.Errorf("LastSeen = %v; want %v", got.State.LastSeen, want)
	}
	// Out of the service's range: a ContentError before any request.
	for _, bad := range []time.Time{{}, ts(t, "1600-01-01T00:00:00Z")} {
		p := Pair{User: "u", ResourceTenant: "t", State: detect.PairState{EpisodeID: bad, EpisodeStart: bad, LastSeen: bad}}
		if _, err := s.SavePair(ctx, p); !ContentError(err) {
			t.Errorf("SavePair(%v) = %v; want a ContentError", bad, err)
		}
	}
}

func TestSavePairConflicts(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	p := Pair{User: "c@example.com", ResourceTenant: "t1", State: testState(t)}

	got, err := s.GetPair(ctx, p.User, p.ResourceTenant)
	if err != nil || got.Exists {
		t.Fatalf("GetPair before insert = %+v, %v", got, err)
	}
	etag, err := s.SavePair(ctx, p)
	if err != nil || etag == "" {
		t.Fatalf("insert: %q, %v", etag, err)
	}
	if _, err := s.SavePair(ctx, p); !errors.Is(err, ErrConflict) || !hasCode(err, aztables.EntityAlreadyExists) {
		t.Fatalf("second insert = %v; want ErrConflict (409)", err)
	}

	a, _ := s.GetPair(ctx, p.User, p.ResourceTenant)
	b, _ := s.GetPair(ctx, p.User, p.ResourceTenant)
	if a.ETag != etag || b.ETag != etag {
		t.Fatalf("read ETags %q %q; want %q", a.ETag, b.ETag, etag)
	}
	a.State.LastSeen = a.State.LastSeen.Add(time.Hour)
	newTag, err := s.SavePair(ctx, a)
	if err != nil || newTag == etag {
		t.Fatalf("first stale writer: %q, %v", newTag, err)
	}
	b.State.LastSeen = b.State.LastSeen.Add(2 * time.Hour)
	if _, err := s.SavePair(ctx, b); !errors.Is(err, ErrConflict) || !hasCode(err, "UpdateConditionNotSatisfied") {
		t.Fatalf("second stale writer = %v; want ErrConflict", err)
	}
	final, _ := s.GetPair(ctx, p.User, p.ResourceTenant)
	if !final.State.LastSeen.Equal(a.State.LastSeen) || final.ETag != newTag {
		t.Errorf("stored %+v; want the first writer's state", final)
	}

	// Deleted under our feet (housekeeping): also a conflict.
	if _, err := s.baseline.DeleteEntity(ctx, final.User, final.ResourceTenant, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SavePair(ctx, final); !errors.Is(err, ErrConflict) {
		t.Errorf("update of a deleted pair = %v; want ErrConflict", err)
	}
}

// Races use single-entity operations (Azurite ignores If-Match inside
// batches) and many rounds.
func TestRaceInsertExactlyOneWins(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	const rounds, writers = 50, 8
	for round := range rounds {
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := testState(t)
				st.LastSeen = st.LastSeen.Add(time.Duration(w) * time.Second)
				<-start
				_, err := s.SavePair(ctx, Pair{User: "race@example.com", ResourceTenant: "t" + string(rune('A'+round%26)) + string(rune('a'+round/26)), State: st})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != writers-1 {
			t.Fatalf("round %d: %d wins, %d conflicts; want 1 and %d", round, wins.Load(), conflicts.Load(), writers-1)
		}
	}
}

func TestRaceConditionalUpdateExactlyOneWins(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	const rounds, writers = 50, 8
	base := Pair{User: "race-update@example.com", ResourceTenant: "t", State: testState(t)}
	if _, err := s.SavePair(ctx, base); err != nil {
		t.Fatal(err)
	}
	for round := range rounds {
		read, err := s.GetPair(ctx, base.User, base.ResourceTenant)
		if err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var winner atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := read
				p.State.LastSeen = p.State.LastSeen.Add(time.Duration(w+1) * time.Millisecond)
				<-start
				_, err := s.SavePair(ctx, p)
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(int64(w))
				case errors.Is(err, ErrConflict):
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d conditional updates from one ETag won; want 1", round, wins.Load())
		}
		after, _ := s.GetPair(ctx, base.User, base.ResourceTenant)
		want := read.State.LastSeen.Add(time.Duration(winner.Load()+1) * time.Millisecond)
		if !after.State.LastSeen.Equal(want) {
			t.Fatalf("round %d: stored %v; want the winner's %v", round, after.State.LastSeen, want)
		}
	}
}

func TestCountTenantsCaps(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	if n, err := s.CountTenants(ctx, "nobody@example.com"); err != nil || n != 0 {
		t.Fatalf("CountTenants(nobody) = %d, %v", n, err)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range MaxCountTenants + 1 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p := Pair{User: "busy@example.com", ResourceTenant: "tenant-" + strconv.Itoa(i), State: testState(t)}
			if _, err := s.SavePair(ctx, p); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, err := s.CountTenants(ctx, "busy@example.com"); err != nil || n != MaxCountTenants {
		t.Errorf("CountTenants = %d, %v; want the cap %d", n, err, MaxCountTenants)
	}
}

func TestLearningStart(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	if _, ok, err := s.LearningStart(ctx); ok || err != nil {
		t.Fatalf("LearningStart before any = %v, %v", ok, err)
	}
	t1 := ts(t, "2025-03-01T10:00:00.1234567Z")
	if got, err := s.MoveLearningStartBack(ctx, t1); err != nil || !got.Equal(t1) {
		t.Fatalf("first move = %v, %v", got, err)
	}
	if got, err := s.MoveLearningStartBack(ctx, t1.Add(time.Hour)); err != nil || !got.Equal(t1) {
		t.Fatalf("later time moved it: %v, %v", got, err)
	}
	t0 := t1.Add(-100 * time.Nanosecond)
	if got, err := s.MoveLearningStartBack(ctx, t0); err != nil || !got.Equal(t0) {
		t.Fatalf("earlier time = %v, %v; want %v", got, err, t0)
	}
	if got, ok, err := s.LearningStart(ctx); !ok || err != nil || !got.Equal(t0) {
		t.Fatalf("LearningStart = %v, %v, %v; want %v", got, ok, err, t0)
	}
	// The reserved row is not a user's partition.
	if n, err := s.CountTenants(ctx, "!meta"); err != nil || n != 0 {
		t.Errorf("CountTenants(\"!meta\") = %d, %v", n, err)
	}
	if _, err := s.MoveLearningStartBack(ctx, time.Time{}); !ContentError(err) {
		t.Errorf("zero time = %v; want a ContentError", err)
	}
}

func TestLearningStartConcurrent(t *testing.T) {
	for round := range 5 {
		s := newTestStore(t)
		ctx := context.Background()
		base := ts(t, "2025-01-01T00:00:00Z")
		const writers = 16
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A spread of times, in an order unrelated to their value.
				mine := base.Add(time.Duration((w*7)%writers) * time.Hour)
				<-start
				got, err := s.MoveLearningStartBack(ctx, mine)
				if err != nil {
					t.Errorf("round %d writer %d: %v", round, w, err)
					return
				}
				if got.After(mine) {
					t.Errorf("round %d: returned %v, later than own %v", round, got, mine)
				}
			}()
		}
		close(start)
		wg.Wait()
		if got, ok, err := s.LearningStart(ctx); !ok || err != nil || !got.Equal(base) {
			t.Fatalf("round %d: LearningStart = %v, %v, %v; want the earliest %v", round, got, ok, err, base)
		}
	}
}
