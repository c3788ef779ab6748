package signin

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// minEventUnix (2010-01-01T00:00:00Z) predates any sign-in log Entra
	// can stream; an earlier time is a zero value or a broken field.
	minEventUnix = 1262304000
	// maxAhead is how far past the wall clock an event time may be. More
	// than that is a broken clock or record, and trusting it would date a
	// pair's state into the future.
	maxAhead = time.Hour
	// maxValueLen bounds how much of a bad field a TimeError quotes.
	maxValueLen = 64
)

// TimeError explains why a record has no valid event time.
type TimeError struct {
	Field  string // "properties.createdDateTime" or "time": the field last judged
	Value  string // the field's value, cut to at most 64 bytes
	Reason string // why it is not valid, and why the other field was not used
}

func (e *TimeError) Error() string {
	return "signin: " + e.Field + " " + strconv.Quote(e.Value) + ": " + e.Reason
}

func newTimeError(field, value, reason string) *TimeError {
	return &TimeError{Field: field, Value: truncateUTF8(value, maxValueLen), Reason: reason}
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// EventTime returns when the sign-in happened, in UTC, to 100 ns.
//
// It reads properties.createdDateTime, which Entra sets when the sign-in
// happens and keeps when it re-publishes the record. Only when that field
// is absent or cannot be parsed does it fall back to the top-level time,
// whose format varies in the wild; a createdDateTime that parses but is out
// of range is an error, not a reason to trust time instead.
//
// A valid time is RFC 3339: "2025-01-01T11:59:57.9876543+00:00", with 'Z'
// or any offset from -23:59 to +23:59, or with no zone at all, which means
// UTC. 'T' may also be 't' or a space (RFC 3339 §5.6 allows both). Any
// number of fractional digits is accepted; digits beyond the seventh are
// dropped, never rounded, matching Entra's 100 ns resolution. Surrounding
// whitespace is ignored. Other formats, such as "11/14/2025 1:48:53 AM",
// are not guessed at: their day and month order depends on a locale.
//
// The time must not be before 2010-01-01T00:00:00Z, and must not be more
// than 1 hour after now: now+1h itself is valid, now+1h+1ns is not.
// Otherwise EventTime returns a *TimeError.
func (r Record) EventTime(now time.Time) (time.Time, error) {
	const created = "properties.createdDateTime"
	createdReason := "absent"
	if s := strings.TrimSpace(r.CreatedDateTime); s != "" {
		t, reason := parseTimestamp(s)
		if reason == "" {
			if reason = checkRange(t, now); reason == "" {
				return t, nil
			}
			return time.Time{}, newTimeError(created, r.CreatedDateTime, reason)
		}
		createdReason = reason
	}

	s := strings.TrimSpace(r.Time)
	if s == "" {
		return time.Time{}, newTimeError(created, r.CreatedDateTime, createdReason+" (time: absent)")
	}
	t, reason := parseTimestamp(s)
	if reason == "" {
		if reason = checkRange(t, now); reason == "" {
			return t, nil
		}
	}
	return time.Time{}, newTimeError("time", r.Time, reason+" ("+created+": "+createdReason+")")
}

func checkRange(t, now time.Time) string {
	if t.Unix() < minEventUnix {
		return "before 2010-01-01T00:00:00Z"
	}
	if t.After(now.Add(maxAhead)) {
		return "more than 1h after now"
	}
	return ""
}

// parseTimestamp parses the RFC 3339 profile EventTime documents. It is
// written out rather than built on time.Parse because no single layout
// covers an optional zone, a space separator and truncation to 100 ns, and
// because a failure should say what is wrong. On failure it returns the
// reason.
func parseTimestamp(s string) (time.Time, string) {
	const notRFC3339 = "not an RFC 3339 date-time"
	if len(s) < len("2006-01-02T15:04:05") ||
		s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
		(s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return time.Time{}, notRFC3339
	}
	year, ok1 := atoi(s[0:4])
	month, ok2 := atoi(s[5:7])
	day, ok3 := atoi(s[8:10])
	hour, ok4 := atoi(s[11:13])
	minute, ok5 := atoi(s[14:16])
	sec, ok6 := atoi(s[17:19])
	switch {
	case !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6):
		return time.Time{}, notRFC3339
	case month < 1 || month > 12:
		return time.Time{}, "month out of range"
	case day < 1 || day > daysIn(month, year):
		return time.Time{}, "day out of range"
	case hour > 23:
		return time.Time{}, "hour out of range"
	case minute > 59:
		return time.Time{}, "minute out of range"
	case sec > 59:
		// RFC 3339 allows a leap second; Entra never writes one and
		// time.Time cannot hold one.
		return time.Time{}, "second out of range"
	}

	rest := s[19:]
	nsec := 0
	if rest != "" && rest[0] == '.' {
		n := 1
		for ; n < len(rest) && isDigit(rest[n]); n++ {
			if n <= 7 {
				nsec = nsec*10 + int(rest[n]-'0')
			}
		}
		if n == 1 {
			return time.Time{}, notRFC3339
		}
		for kept := min(n-1, 7); kept < 9; kept++ {
			nsec *= 10
		}
		rest = rest[n:]
	}

	offset := 0
	switch {
	case rest == "", rest == "Z", rest == "z":
	case len(rest) == len("+07:00") && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := atoi(rest[1:3])
		om, okm := atoi(rest[4:6])
		if !okh || !okm {
			return time.Time{}, notRFC3339
		}
		if oh > 23 || om > 59 {
			return time.Time{}, "zone offset out of range"
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, notRFC3339
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), ""
}

// atoi parses a short run of ASCII digits; strconv.Atoi would also take a
// sign.
func atoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
