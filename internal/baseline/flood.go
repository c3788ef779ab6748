package baseline

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// The flood guard counts Teams cards per wall-clock hour in the alerts
// table, one row per hour under a reserved partition, so every instance
// counts against the same limit.
const (
	floodPartition = "!flood"
	floodHour      = "2006-01-02T15"
)

// maxFloodAttempts bounds the hour count's read-modify-write loops.
const maxFloodAttempts = 20

// TakeHourSlot counts one card against the hour holding now, unless limit
// cards were already counted in it; it reports whether the card may go out
// on its own. Concurrent callers never together take more than limit slots.
func (s *Store) TakeHourSlot(ctx context.Context, now time.Time, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	return s.addToHour(ctx, now, func(count int) (int, bool) {
		if count >= limit {
			return count, false
		}
		return count + 1, true
	})
}

// ReleaseHourSlot gives back a slot taken at now whose card was not
// delivered, so failed attempts do not use up the hour's cards.
func (s *Store) ReleaseHourSlot(ctx context.Context, now time.Time) error {
	_, err := s.addToHour(ctx, now, func(count int) (int, bool) {
		if count <= 0 {
			return 0, false
		}
		return count - 1, true
	})
	return err
}

// addToHour applies change to the hour's count under optimistic
// concurrency; change returns the new count and whether to write it.
func (s *Store) addToHour(ctx context.Context, now time.Time, change func(int) (int, bool)) (bool, error) {
	hour := now.UTC().Format(floodHour)
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	defer cancel()
	// Each write carries a token: azcore retries a write whose answer was
	// lost, the retry then fails against our own write, and the re-read
	// must not apply the change a second time.
	token := rand.Text()
	var lastErr error
	for range maxFloodAttempts {
		resp, err := s.alerts.GetEntity(ctx, floodPartition, hour, nil)
		count, exists := 0, err == nil
		switch {
		case isNotFound(err):
		case err != nil:
			return false, s.fail("get hour count", err, false)
		default:
			r, err := parseRow(resp.Value)
			if err == nil {
				count, err = r.int("Count")
			}
			if err != nil {
				return false, fmt.Errorf("baseline: get hour count: %w", err)
			}
			if lastErr != nil {
				if op, _ := r.str("Op"); op == token {
					return true, nil // our earlier write landed
				}
			}
		}
		next, write := change(count)
		if !write {
			return false, nil
		}
		e := newEntity(floodPartition, hour)
		if err := e.setString("Op", token); err != nil {
			return false, fmt.Errorf("baseline: hour count: %w", err)
		}
		if err := e.setInt32("Count", next); err != nil {
			return false, fmt.Errorf("baseline: hour count: %w", err)
		}
		body, err := e.marshal()
		if err != nil {
			return false, fmt.Errorf("baseline: hour count: %w", err)
		}
		if !exists {
			_, err = s.alerts.AddEntity(ctx, body, nil)
			if err == nil {
				return true, nil
			}
			if !hasCode(err, aztables.EntityAlreadyExists) {
				return false, s.fail("insert hour count", err, false)
			}
		} else {
			etag := resp.ETag
			_, err = s.alerts.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: &etag})
			if err == nil {
				return true, nil
			}
			if !conflictOnUpdate(err) {
				return false, s.fail("update hour count", err, false)
			}
		}
		lastErr = err
	}
	return false, s.fail(fmt.Sprintf("hour count: still conflicting after %d attempts", maxFloodAttempts), lastErr, true)
}
