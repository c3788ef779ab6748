package signin

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEventTime(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	const created, tm = "properties.createdDateTime", "time"
	tests := []struct {
		name        string
		created, tm string
		want        time.Time
		wantField   string // set when an error is expected
		wantReason  string
	}{
		{name: "Z", created: "2025-01-01T11:59:57.9876543Z", want: at("2025-01-01T11:59:57.9876543Z")},
		{name: "+00:00", created: "2025-01-01T11:59:57.9876543+00:00", want: at("2025-01-01T11:59:57.9876543Z")},
		{name: "+05:30", created: "2025-01-01T17:29:57.9876543+05:30", want: at("2025-01-01T11:59:57.9876543Z")},
		{name: "-08:00", created: "2025-01-01T03:59:57-08:00", want: at("2025-01-01T11:59:57Z")},
		{name: "-00:00 is UTC", created: "2025-01-01T11:59:57-00:00", want: at("2025-01-01T11:59:57Z")},
		{name: "offset moves the date back", created: "2025-01-01T00:30:00+01:00", want: at("2024-12-31T23:30:00Z")},
		{name: "extreme offsets", created: "2025-01-01T23:59:00-23:59", want: at("2025-01-02T23:58:00Z")},
		{name: "7 fractional digits exact to 100ns", created: "2025-01-01T11:59:57.0000001Z", want: at("2025-01-01T11:59:57.0000001Z")},
		{name: "9 fractional digits truncated, not rounded", created: "2025-01-01T11:59:57.987654399Z", want: at("2025-01-01T11:59:57.9876543Z")},
		{name: "12 fractional digits truncated", created: "2025-01-01T11:59:57.999999999999Z", want: at("2025-01-01T11:59:57.9999999Z")},
		{name: "1 fractional digit", created: "2025-01-01T11:59:57.5Z", want: at("2025-01-01T11:59:57.5Z")},
		{name: "no fraction", created: "2025-01-01T11:59:57Z", want: at("2025-01-01T11:59:57Z")},
		{name: "no zone is UTC", created: "2025-01-01T11:59:57.1234567", want: at("2025-01-01T11:59:57.1234567Z")},
		{name: "lower-case t and z", created: "2025-01-01t11:59:57z", want: at("2025-01-01T11:59:57Z")},
		{name: "space instead of T", created: "2025-01-01 11:59:57.25+00:00", want: at("2025-01-01T11:59:57.25Z")},
		{name: "surrounding whitespace", created: " 2025-01-01T11:59:57Z\n", want: at("2025-01-01T11:59:57Z")},
		{name: "leap day", created: "2024-02-29T00:00:00Z", want: at("2024-02-29T00:00:00Z")},
		{name: "createdDateTime preferred over time", created: "2025-01-01T11:59:57Z", tm: "2025-01-01T11:59:58Z", want: at("2025-01-01T11:59:57Z")},

		{name: "createdDateTime absent falls back to time", tm: "2025-01-01T11:59:58.1234567Z", want: at("2025-01-01T11:59:58.1234567Z")},
		{name: "createdDateTime blank falls back to time", created: "  ", tm: "2025-01-01T11:59:58Z", want: at("2025-01-01T11:59:58Z")},
		{name: "createdDateTime unparseable falls back to time", created: "11/14/2025 1:48:53 AM", tm: "2025-01-01T11:59:58Z", want: at("2025-01-01T11:59:58Z")},
		{name: "createdDateTime impossible date falls back to time", created: "2025-02-29T00:00:00Z", tm: "2025-01-01T11:59:58Z", want: at("2025-01-01T11:59:58Z")},

		{name: "both absent", wantField: created, wantReason: "absent (time: absent)"},
		{name: "createdDateTime bad, time absent", created: "yesterday", wantField: created, wantReason: "not an RFC 3339 date-time (time: absent)"},
		{name: "createdDateTime absent, time in US format", tm: "11/14/2025 1:48:53 AM", wantField: tm, wantReason: "not an RFC 3339 date-time (properties.createdDateTime: absent)"},
		{name: "both bad", created: "2025-13-01T00:00:00Z", tm: "1731548933", wantField: tm, wantReason: "not an RFC 3339 date-time (properties.createdDateTime: month out of range)"},
		{name: "time before 2010 after fallback", created: "x", tm: "2009-06-01T00:00:00Z", wantField: tm, wantReason: "before 2010-01-01T00:00:00Z (properties.createdDateTime: not an RFC 3339 date-time)"},

		{name: "2010-01-01 is valid", created: "2010-01-01T00:00:00Z", want: at("2010-01-01T00:00:00Z")},
		{name: "100ns before 2010 is not", created: "2009-12-31T23:59:59.9999999Z", wantField: created, wantReason: "before 2010-01-01T00:00:00Z"},
		{name: "zero value time is not", created: "0001-01-01T00:00:00Z", tm: "2025-01-01T11:59:58Z", wantField: created, wantReason: "before 2010"},
		{name: "exactly 1h ahead is valid", created: "2025-06-01T13:00:00Z", want: at("2025-06-01T13:00:00Z")},
		{name: "exactly 1h ahead in another zone is valid", created: "2025-06-01T15:00:00+02:00", want: at("2025-06-01T13:00:00Z")},
		{name: "1h and 100ns ahead is not", created: "2025-06-01T13:00:00.0000001Z", wantField: created, wantReason: "more than 1h after now"},
		{name: "out of range createdDateTime does not fall back", created: "2026-01-01T00:00:00Z", tm: "2025-06-01T11:00:00Z", wantField: created, wantReason: "more than 1h after now"},

		{name: "hour 24", created: "2025-01-01T24:00:00Z", wantField: created, wantReason: "hour out of range"},
		{name: "minute 60", created: "2025-01-01T23:60:00Z", wantField: created, wantReason: "minute out of range"},
		{name: "leap second", created: "2016-12-31T23:59:60Z", wantField: created, wantReason: "second out of range"},
		{name: "day 31 in April", created: "2025-04-31T00:00:00Z", wantField: created, wantReason: "day out of range"},
		{name: "day 0", created: "2025-04-00T00:00:00Z", wantField: created, wantReason: "day out of range"},
		{name: "offset hour 24", created: "2025-01-01T00:00:00+24:00", wantField: created, wantReason: "zone offset out of range"},
		{name: "offset without colon", created: "2025-01-01T00:00:00+0530", wantField: created, wantReason: "not an RFC 3339"},
		{name: "offset hours only", created: "2025-01-01T00:00:00+05", wantField: created, wantReason: "not an RFC 3339"},
		{name: "dot without digits", created: "2025-01-01T00:00:00.Z", wantField: created, wantReason: "not an RFC 3339"},
		{name: "comma fraction", created: "2025-01-01T00:00:00,5Z", wantField: created, wantReason: "not an RFC 3339"},
		{name: "one-digit month", created: "2025-1-01T00:00:00Z", wantField: created, wantReason: "not an RFC 3339"},
		{name: "date only", created: "2025-01-01", wantField: created, wantReason: "not an RFC 3339"},
		{name: "minutes only", created: "2025-01-01T00:00Z", wantField: created, wantReason: "not an RFC 3339"},
		{name: "signed field", created: "2025-01-01T+1:00:00Z", wantField: created, wantReason: "not an RFC 3339"},
		{name: "trailing junk", created: "2025-01-01T00:00:00Zjunk", wantField: created, wantReason: "not an RFC 3339"},
		{name: "zone name", created: "2025-01-01T00:00:00 UTC", wantField: created, wantReason: "not an RFC 3339"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Record{CreatedDateTime: tt.created, Time: tt.tm}.EventTime(now)
			if tt.wantField != "" {
				var te *TimeError
				if !errors.As(err, &te) {
					t.Fatalf("EventTime() = %v, %v; want a *TimeError", got, err)
				}
				if te.Field != tt.wantField || !strings.HasPrefix(te.Reason, tt.wantReason) {
					t.Errorf("TimeError = %+v, want field %s, reason starting %q", te, tt.wantField, tt.wantReason)
				}
				if !got.IsZero() {
					t.Errorf("time %v beside an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("EventTime() error = %v", err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("EventTime() = %v, want %v in UTC", got, tt.want)
			}
		})
	}
}

func TestEventTimeIsUTCWhateverTheZoneOfNow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	got, err := Record{CreatedDateTime: "2025-06-01T12:30:00+02:00"}.EventTime(now)
	if err != nil || got.Location() != time.UTC || !got.Equal(time.Date(2025, 6, 1, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("EventTime() = %v, %v", got, err)
	}
	// now is 10:00Z, so 11:00:00.0000001Z is beyond the hour.
	if _, err := (Record{CreatedDateTime: "2025-06-01T11:00:00.0000001Z"}).EventTime(now); err == nil {
		t.Error("a time more than 1h after a non-UTC now was accepted")
	}
}

func TestTimeErrorValueIsTruncated(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes; 64 would split a character
	_, err := Record{CreatedDateTime: long}.EventTime(time.Now())
	var te *TimeError
	if !errors.As(err, &te) {
		t.Fatalf("error = %v, want *TimeError", err)
	}
	if len(te.Value) > 64 || !utf8.ValidString(te.Value) || !strings.HasPrefix(long, te.Value) || len(te.Value) < 60 {
		t.Errorf("Value = %q (%d bytes), want a valid prefix of at most 64 bytes", te.Value, len(te.Value))
	}
	if !strings.Contains(err.Error(), "properties.createdDateTime") {
		t.Errorf("Error() = %q does not name the field", err.Error())
	}
}
