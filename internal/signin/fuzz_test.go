package signin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseBody(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed bodies: %v", err)
	}
	for _, name := range files {
		f.Add(readTestdata(f, filepath.Base(name)))
	}
	good := rec(`"userPrincipalName":"A@Example.com","homeTenantId":"H","resourceTenantId":"R","riskEventTypes_v2":"a,b","status":{"errorCode":"0"}`)
	for _, s := range []string{
		records(good, `1`, `null`, `{"properties":2}`, rec(`"homeTenantId":[]`), `{}`),
		"[" + good + ",[]]",
		good,
		`{"records":{}}`,
		`{"records":null,"category":"x"}`,
		`{"records":[` + good + `],"records":[{}]}`,
		"\xef\xbb\xbf[]",
		`"x"`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkBody(t, body)
		// Wrapping must not push a valid value past encoding/json's
		// nesting limit of 10000.
		if !json.Valid(body) || bytes.Count(body, []byte("["))+bytes.Count(body, []byte("{")) > 9000 {
			return
		}
		// Wherever an arbitrary JSON value lands in a record, the good
		// records beside it survive unchanged.
		want, _, _ := ParseBody([]byte(good))
		for _, tmpl := range []string{
			`%s`,
			`{"properties":%s}`,
			`{"category":%s,"tenantId":%[1]s,"resultType":%[1]s,"time":%[1]s}`,
			rec(`"userPrincipalName":%s`),
			rec(`"createdDateTime":%s,"homeTenantId":%[1]s`),
			rec(`"status":%s,"location":%[1]s,"isInteractive":%[1]s`),
			rec(`"riskEventTypes_v2":%s,"riskLevelAggregated":%[1]s`),
			rec(`"status":{"errorCode":%s},"location":{"city":%[1]s}`),
		} {
			wrapped := []byte(records(good, fmt.Sprintf(tmpl, body), good))
			recs, probs := checkBody(t, wrapped)
			if len(recs)+len(probs) != 3 || len(recs) < 2 {
				t.Fatalf("%s: %d records, problems %v", wrapped, len(recs), probs)
			}
			first, last := recs[0], recs[len(recs)-1]
			first.Position, last.Position = 0, 0
			if recs[0].Position != 0 || recs[len(recs)-1].Position != 2 ||
				!reflect.DeepEqual(first, want[0]) || !reflect.DeepEqual(last, want[0]) {
				t.Fatalf("%s: neighbours changed: %+v", wrapped, recs)
			}
		}
	})
}

// checkBody checks what ParseBody promises for any input and returns its
// results.
func checkBody(t *testing.T, body []byte) ([]Record, []Problem) {
	t.Helper()
	recs, probs, err := ParseBody(body)
	n, isRecordsArray := recordsArrayLen(body)
	if err != nil {
		var be *BodyError
		if !errors.As(err, &be) {
			t.Fatalf("error %v is not a *BodyError", err)
		}
		if recs != nil || probs != nil {
			t.Fatalf("results beside error %v", err)
		}
		if isRecordsArray {
			t.Fatalf("body with a records array of %d rejected: %v", n, err)
		}
		return nil, nil
	}

	seen := make(map[int]bool)
	last := -1
	for _, r := range recs {
		if seen[r.Position] || r.Position <= last {
			t.Fatalf("record position %d repeated or out of order", r.Position)
		}
		seen[r.Position], last = true, r.Position
		checkRecordInvariants(t, r)
	}
	last = -1
	for _, p := range probs {
		if seen[p.Position] || p.Position <= last {
			t.Fatalf("problem position %d repeated or out of order", p.Position)
		}
		seen[p.Position], last = true, p.Position
		if p.Reason == "" || len(p.Reason) > 100 {
			t.Fatalf("problem reason %q", p.Reason)
		}
	}
	if isRecordsArray {
		if got := len(recs) + len(probs); got != n {
			t.Fatalf("%d records and %d problems for an array of %d", len(recs), len(probs), n)
		}
		for pos := range seen {
			if pos < 0 || pos >= n {
				t.Fatalf("position %d outside an array of %d", pos, n)
			}
		}
	}

	// The one-pass decode and the record-by-record one must agree,
	// except where a repeated records key makes the choice unspecified.
	if !repeatsRecordsKey(body) {
		srecs, sprobs, serr := parseSlow(body)
		if serr != nil || !reflect.DeepEqual(recs, srecs) || !reflect.DeepEqual(probs, sprobs) {
			t.Fatalf("slow path differs:\nfast: %+v %+v\nslow: %+v %+v %v", recs, probs, srecs, sprobs, serr)
		}
	}
	return recs, probs
}

// recordsArrayLen reports whether body is a records array, bare or in
// {"records":[...]}, judged by encoding/json alone, and its length.
func recordsArrayLen(body []byte) (int, bool) {
	body = bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	var raws []json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if json.Unmarshal(body, &raws) != nil {
			return 0, false
		}
		return len(raws), true
	}
	var env struct {
		Records *[]json.RawMessage `json:"records"`
	}
	if json.Unmarshal(body, &env) != nil || env.Records == nil {
		return 0, false
	}
	return len(*env.Records), true
}

// repeatsRecordsKey reports whether body is an object in which more than
// one key matches "records" the way encoding/json matches field names.
func repeatsRecordsKey(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(trimBody(body)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	count := 0
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := key.(string); ok && strings.EqualFold(s, "records") {
			count++
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return count > 1
}

func checkRecordInvariants(t *testing.T, r Record) {
	t.Helper()
	if r.UserPrincipalName != strings.ToLower(strings.TrimSpace(r.UserPrincipalNameRaw)) {
		t.Fatalf("UserPrincipalName %q does not follow raw %q", r.UserPrincipalName, r.UserPrincipalNameRaw)
	}
	for _, id := range []string{r.TenantID, r.HomeTenantID, r.ResourceTenantID, r.UserPrincipalName} {
		if id != normalizeID(id) {
			t.Fatalf("id %q not normalised", id)
		}
	}
	if r.Category != strings.TrimSpace(r.Category) || r.ResultType != strings.TrimSpace(r.ResultType) {
		t.Fatalf("category %q or resultType %q not trimmed", r.Category, r.ResultType)
	}
	if r.RiskLevelAggregatedPresent != (strings.TrimSpace(r.RiskLevelAggregated) != "") {
		t.Fatalf("RiskLevelAggregatedPresent %v for %q", r.RiskLevelAggregatedPresent, r.RiskLevelAggregated)
	}
	if r.RiskEventTypes != nil && len(r.RiskEventTypes) == 0 {
		t.Fatal("empty non-nil RiskEventTypes")
	}
	for _, e := range r.RiskEventTypes {
		if e == "" || e != strings.TrimSpace(e) {
			t.Fatalf("risk event type %q", e)
		}
	}
	r.Succeeded()
	r.EventTime(time.Now())
}

func FuzzEventTime(f *testing.F) {
	for _, s := range []string{
		"2025-01-01T11:59:57.9876543Z",
		"2025-01-01T17:29:57.9876543+05:30",
		"2025-01-01T03:59:57-08:00",
		"2025-01-01 11:59:57.123",
		"2025-01-01t11:59:57z",
		"2024-02-29T23:59:59.999999999999+23:59",
		"2009-12-31T23:59:59.9999999Z",
		"2030-01-01T01:00:00Z",
		"2030-01-01T01:00:00.0000001Z",
		"11/14/2025 1:48:53 AM",
		"2025-01-01T00:00:00+24:00",
		"2025-01-01T00:00:00.Z",
		"",
	} {
		f.Add(s, "2025-01-01T11:59:58Z")
		f.Add("", s)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, created, tm string) {
		got, err := Record{CreatedDateTime: created, Time: tm}.EventTime(now)
		if err != nil {
			var te *TimeError
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a *TimeError", err)
			}
			if len(te.Value) > maxValueLen || (utf8.ValidString(created) && utf8.ValidString(tm) && !utf8.ValidString(te.Value)) {
				t.Fatalf("TimeError.Value %q", te.Value)
			}
			if !got.IsZero() {
				t.Fatalf("time %v beside error", got)
			}
		} else {
			if got.Location() != time.UTC || got.Nanosecond()%100 != 0 ||
				got.Before(time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)) || got.After(now.Add(time.Hour)) {
				t.Fatalf("EventTime() = %v", got)
			}
		}

		// Against the standard library's strict RFC 3339 parser: whatever
		// it accepts we accept, to 100 ns, except what RFC 3339's grammar
		// excludes and it lets through (one-digit hours, a comma before the
		// fraction, offsets of 24 hours or 60 minutes); with 'T' and an
		// explicit zone, whatever we accept it accepts.
		ours, reason := parseTimestamp(created)
		var std time.Time
		stdErr := std.UnmarshalText([]byte(created))
		rfcShaped := len(created) >= 20 && created[13] == ':' && created[16] == ':' &&
			!strings.Contains(created, ",") && offsetInRange(created)
		if stdErr == nil && rfcShaped {
			if reason != "" || !ours.Equal(std.Truncate(100*time.Nanosecond)) {
				t.Fatalf("parseTimestamp(%q) = %v, %q; time.Time says %v", created, ours, reason, std)
			}
		}
		if reason == "" && created[10] == 'T' && hasZone(created) && stdErr != nil {
			t.Fatalf("parseTimestamp(%q) = %v; time.Time says %v", created, ours, stdErr)
		}
	})
}

// offsetInRange reports whether s does not end in a numeric offset, or
// ends in one within -23:59 to +23:59.
func offsetInRange(s string) bool {
	if !hasZone(s) || strings.HasSuffix(s, "Z") {
		return true
	}
	off := s[len(s)-5:]
	return off[:2] <= "23" && off[3:] <= "59"
}

func hasZone(s string) bool {
	return strings.HasSuffix(s, "Z") || (len(s) >= 25 && (s[len(s)-6] == '+' || s[len(s)-6] == '-'))
}
