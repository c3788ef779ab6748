package alert

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultRetrySchedule is the delays before the second, third, ... attempt,
// each counted from the previous attempt: the Standard Webhooks example
// schedule, about three days and ten attempts in all.
const DefaultRetrySchedule = "5s,5m,30m,2h,5h,10h,14h,20h,24h"

const (
	// MaxRetryAfter caps the delay a Retry-After answer can impose.
	MaxRetryAfter = time.Hour
	// maxScheduleDelay bounds one delay of a schedule: an alert delivered
	// more than a week late is no longer an alert, and its outbox row should
	// not linger that long.
	maxScheduleDelay = 7 * 24 * time.Hour
	// maxScheduleLen bounds the number of delays.
	maxScheduleLen = 50
	// jitter spreads retries by ±20 % so that alerts that failed together
	// (a webhook outage) do not all come back in the same second.
	jitter = 0.2
)

// ParseRetrySchedule parses a comma-separated list of delays. Each item is a
// Go duration ("90s", "1h30m") or a number of days ("1d", "1.5d"); every
// delay must be positive and at most 7 days, and there may be at most 50.
// The error lists every bad item.
func ParseRetrySchedule(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("retry schedule is empty")
	}
	items := strings.Split(s, ",")
	if len(items) > maxScheduleLen {
		return nil, fmt.Errorf("retry schedule has %d delays; at most %d are allowed", len(items), maxScheduleLen)
	}
	var (
		delays = make([]time.Duration, 0, len(items))
		errs   []error
	)
	for i, item := range items {
		item = strings.TrimSpace(item)
		d, err := parseDelay(item)
		if err != nil {
			errs = append(errs, fmt.Errorf("retry schedule item %d %q: %w", i+1, truncateRunes(item, 32), err))
			continue
		}
		delays = append(delays, d)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return delays, nil
}

func parseDelay(item string) (time.Duration, error) {
	if item == "" {
		return 0, errors.New("empty")
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(item, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return 0, errors.New(`not a number of days (like "2d")`)
		}
		if n > float64(maxScheduleDelay/(24*time.Hour)) {
			return 0, fmt.Errorf("longer than %s", maxScheduleDelay)
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(item); err != nil {
			return 0, errors.New(`not a duration (like "30s", "5m", "2h" or "1d")`)
		}
	}
	switch {
	case d <= 0:
		return 0, errors.New("must be positive")
	case d > maxScheduleDelay:
		return 0, fmt.Errorf("longer than %s", maxScheduleDelay)
	}
	return d, nil
}

// NextAttempt says when the next attempt of an alert is due. attempts is the
// number of attempts already made (1 after the first, inline attempt); last
// is when the latest was made; retryAfter is the latest Result.RetryAfter;
// rnd is a random number in [0, 1) that places the jitter.
//
// The delay is schedule[attempts-1], scaled by a factor in [0.8, 1.2); a
// longer retryAfter (capped at MaxRetryAfter) replaces it. When the schedule
// is used up the result is (zero time, false): the alert has failed. With
// attempts < 1 nothing has been tried yet and the attempt is due at last.
func NextAttempt(attempts int, schedule []time.Duration, last time.Time, retryAfter time.Duration, rnd float64) (time.Time, bool) {
	if attempts < 1 {
		return last, true
	}
	if attempts-1 >= len(schedule) {
		return time.Time{}, false
	}
	if !(rnd >= 0 && rnd < 1) { // also catches NaN
		rnd = 0.5
	}
	base := schedule[attempts-1]
	delay := time.Duration(float64(base) * (1 - jitter + 2*jitter*rnd))
	if ra := min(retryAfter, MaxRetryAfter); ra > delay {
		delay = ra
	}
	return last.Add(delay), true
}
