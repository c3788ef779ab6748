package alert_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
)

func TestParseRetrySchedule(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		in   string
		want []time.Duration
	}{
		{alert.DefaultRetrySchedule, []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}},
		{"1d", []time.Duration{day}},
		{" 1.5d , 90s,1h30m ", []time.Duration{36 * time.Hour, 90 * time.Second, 90 * time.Minute}},
		{"7d", []time.Duration{7 * day}},
		{"1ms", []time.Duration{time.Millisecond}},
	}
	for _, tt := range tests {
		got, err := alert.ParseRetrySchedule(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseRetrySchedule(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRetryScheduleRejects(t *testing.T) {
	tests := []struct {
		in      string
		wantErr []string
	}{
		{"", []string{"empty"}},
		{"   ", []string{"empty"}},
		{"5s,,5m", []string{`item 2 "": empty`}},
		{"0s", []string{"item 1", "positive"}},
		{"-5m", []string{"item 1", "positive"}},
		{"-1d", []string{"item 1", "positive"}},
		{"0d", []string{"item 1", "positive"}},
		{"8d", []string{"item 1", "longer than"}},
		{"200h", []string{"item 1", "longer than"}},
		{"NaNd", []string{"item 1", "days"}},
		{"Infd", []string{"item 1", "days"}},
		{"d", []string{"item 1", "days"}},
		{"5", []string{"item 1", "not a duration"}},
		{"soon", []string{"item 1", "not a duration"}},
		{"5s,banana,-1m,1w", []string{`item 2 "banana"`, `item 3 "-1m"`, `item 4 "1w"`}},
		{strings.Repeat("1s,", 50) + "1s", []string{"at most 50"}},
	}
	for _, tt := range tests {
		got, err := alert.ParseRetrySchedule(tt.in)
		if err == nil {
			t.Errorf("ParseRetrySchedule(%q) = %v, nil; want an error", tt.in, got)
			continue
		}
		for _, w := range tt.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseRetrySchedule(%q) error = %q; want it to mention %q", tt.in, err, w)
			}
		}
	}
}

func TestNextAttempt(t *testing.T) {
	schedule := []time.Duration{10 * time.Second, 10 * time.Minute, 2 * time.Hour}
	last := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		attempts   int
		retryAfter time.Duration
		rnd        float64
		wantDelay  time.Duration // from last
		wantOK     bool
	}{
		{"first retry, lowest jitter", 1, 0, 0, 8 * time.Second, true},
		{"first retry, no jitter", 1, 0, 0.5, 10 * time.Second, true},
		{"second retry, lowest jitter", 2, 0, 0, 8 * time.Minute, true},
		{"second retry, no jitter", 2, 0, 0.5, 10 * time.Minute, true},
		{"last retry", 3, 0, 0.5, 2 * time.Hour, true},
		{"schedule used up", 4, 0, 0.5, 0, false},
		{"far past the schedule", 40, time.Hour, 0.5, 0, false},
		{"nothing tried yet", 0, 0, 0.5, 0, true},
		{"Retry-After longer than the delay wins", 1, 45 * time.Second, 0.5, 45 * time.Second, true},
		{"Retry-After shorter than the delay is ignored", 2, 45 * time.Second, 0.5, 10 * time.Minute, true},
		{"Retry-After is capped at an hour", 1, 5 * time.Hour, 0.5, time.Hour, true},
		{"a capped Retry-After does not shorten a longer delay", 3, 5 * time.Hour, 0.5, 2 * time.Hour, true},
		{"out-of-range random means no jitter", 1, 0, 7, 10 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := alert.NextAttempt(tt.attempts, schedule, last, tt.retryAfter, tt.rnd)
			if ok != tt.wantOK {
				t.Fatalf("NextAttempt(%d, ...) ok = %t; want %t", tt.attempts, ok, tt.wantOK)
			}
			if !ok {
				if !got.IsZero() {
					t.Errorf("NextAttempt(%d, ...) = %v, false; want the zero time", tt.attempts, got)
				}
				return
			}
			if d := got.Sub(last); d != tt.wantDelay {
				t.Errorf("NextAttempt(%d, %v, last, %v, %v) = last+%v; want last+%v", tt.attempts, schedule, tt.retryAfter, tt.rnd, d, tt.wantDelay)
			}
		})
	}
}

func TestNextAttemptJitterBounds(t *testing.T) {
	schedule := []time.Duration{time.Hour}
	last := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	lo, _ := alert.NextAttempt(1, schedule, last, 0, 0)
	hi, _ := alert.NextAttempt(1, schedule, last, 0, 0.999999999)
	if d := lo.Sub(last); d != 48*time.Minute {
		t.Errorf("delay at rnd 0 = %v; want 48m (-20%%)", d)
	}
	if d := hi.Sub(last); d >= 72*time.Minute || d < 71*time.Minute+59*time.Second {
		t.Errorf("delay at rnd ~1 = %v; want just under 1h12m (+20%%)", d)
	}
	for i := range 101 {
		rnd := float64(i) / 101
		next, _ := alert.NextAttempt(1, schedule, last, 0, rnd)
		if d := next.Sub(last); d < 48*time.Minute || d >= 72*time.Minute {
			t.Errorf("delay at rnd %v = %v; want within [48m, 1h12m)", rnd, d)
		}
	}
}

func FuzzParseRetrySchedule(f *testing.F) {
	for _, s := range []string{alert.DefaultRetrySchedule, "1d,2.5d", "", ",", "-1s", "1e300d", "0x1p-2d", "9223372036854775807ns", "1h,,", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		delays, err := alert.ParseRetrySchedule(s)
		if err != nil {
			return
		}
		for _, d := range delays {
			if d <= 0 || d > 7*24*time.Hour {
				t.Errorf("ParseRetrySchedule(%q) accepted delay %v", s, d)
			}
		}
		// Whatever was accepted gives sane due times.
		last := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for n := 1; n <= len(delays); n++ {
			next, ok := alert.NextAttempt(n, delays, last, 0, 0.5)
			if !ok || !next.After(last) {
				t.Errorf("NextAttempt(%d, %v) = %v, %t; want a time after the last attempt", n, delays, next, ok)
			}
		}
	})
}
