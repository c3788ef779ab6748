package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/signin"
)

const (
	ours   = "11111111-1111-1111-1111-111111111111"
	theirs = "22222222-2222-2222-2222-222222222222"
	third  = "33333333-3333-3333-3333-333333333333"
)

var (
	now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	day = 24 * time.Hour
)

func record(mod func(*signin.Record)) signin.Record {
	r := signin.Record{
		Category:            "SignInLogs",
		TenantID:            ours,
		ResultType:          "0",
		UserPrincipalName:   "alice@contoso.example",
		HomeTenantID:        ours,
		ResourceTenantID:    theirs,
		CreatedDateTime:     "2025-03-01T10:00:00.1234567+00:00",
		RiskLevelAggregated: "medium",
	}
	if mod != nil {
		mod(&r)
	}
	return r
}

func TestClassify(t *testing.T) {
	zero := int64(0)
	fail := int64(50140)
	tests := []struct {
		name       string
		mod        func(*signin.Record)
		categories string
		want       Verdict
		reason     string
		direction  Direction
		other      string
	}{
		{name: "outbound member sign-in is eligible", want: Eligible, direction: Outbound, other: theirs},
		{name: "inbound guest's other tenant is the home tenant", want: Eligible, direction: Inbound, other: theirs,
			mod: func(r *signin.Record) { r.HomeTenantID, r.ResourceTenantID = theirs, ours }},
		{name: "neither tenant ours is direction other with the resource tenant as other", want: Eligible, direction: Other, other: third,
			mod: func(r *signin.Record) { r.HomeTenantID, r.ResourceTenantID = theirs, third }},
		{name: "category compares case-insensitively", want: Eligible, direction: Outbound, other: theirs,
			mod: func(r *signin.Record) { r.Category = "signinlogs" }},
		{name: "other category is skipped", want: Skipped, reason: ReasonCategory,
			mod: func(r *signin.Record) { r.Category = "NonInteractiveUserSignInLogs" }},
		{name: "configured extra category is read", want: Eligible, categories: "signinlogs,noninteractiveusersigninlogs", direction: Outbound, other: theirs,
			mod: func(r *signin.Record) { r.Category = "NonInteractiveUserSignInLogs" }},
		{name: "failed sign-in is skipped", want: Skipped, reason: ReasonFailed,
			mod: func(r *signin.Record) { r.ResultType = "50140" }},
		{name: "errorCode decides when resultType is absent", want: Eligible, direction: Outbound, other: theirs,
			mod: func(r *signin.Record) { r.ResultType, r.ErrorCode = "", &zero }},
		{name: "resultType decides over errorCode", want: Skipped, reason: ReasonFailed,
			mod: func(r *signin.Record) { r.ResultType, r.ErrorCode = "50140", &zero }},
		{name: "resultType success wins over failed errorCode", want: Eligible, direction: Outbound, other: theirs,
			mod: func(r *signin.Record) { r.ErrorCode = &fail }},
		{name: "home-tenant sign-in is skipped", want: Skipped, reason: ReasonSameTenant,
			mod: func(r *signin.Record) { r.ResourceTenantID = ours }},
		{name: "empty home tenant is skipped", want: Skipped, reason: ReasonMissingTenant,
			mod: func(r *signin.Record) { r.HomeTenantID = "" }},
		{name: "empty resource tenant is skipped", want: Skipped, reason: ReasonMissingTenant,
			mod: func(r *signin.Record) { r.ResourceTenantID = "" }},
		{name: "empty user is skipped", want: Skipped, reason: ReasonMissingUser,
			mod: func(r *signin.Record) { r.UserPrincipalName = "" }},
		{name: "eligible record without a valid time is malformed", want: Malformed, reason: ReasonTime,
			mod: func(r *signin.Record) { r.CreatedDateTime, r.Time = "yesterday", "" }},
		{name: "eligible record more than an hour ahead is malformed", want: Malformed, reason: ReasonTime,
			mod: func(r *signin.Record) { r.CreatedDateTime, r.Time = "2025-03-01T13:00:01Z", "" }},
		{name: "failed record without a time is skipped, not malformed", want: Skipped, reason: ReasonFailed,
			mod: func(r *signin.Record) { r.ResultType, r.CreatedDateTime = "1", "" }},
		{name: "falls back to the top-level time", want: Eligible, direction: Outbound, other: theirs,
			mod: func(r *signin.Record) { r.CreatedDateTime, r.Time = "", "2025-03-01T10:00:00Z" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tt.categories != "" {
				p.Categories = ParseList(tt.categories)
			}
			s, v, reason := Classify(p, record(tt.mod), now)
			if v != tt.want || !strings.HasPrefix(reason, tt.reason) {
				t.Fatalf("Classify = %v %q; want %v %q", v, reason, tt.want, tt.reason)
			}
			if v != Eligible {
				return
			}
			if s.Direction != tt.direction || s.OtherTenant != tt.other {
				t.Errorf("direction, other = %s %s; want %s %s", s.Direction, s.OtherTenant, tt.direction, tt.other)
			}
			if s.Time.IsZero() || s.Time.Location() != time.UTC {
				t.Errorf("time = %v; want a UTC time", s.Time)
			}
		})
	}
}

func TestClassifyKeepsSevenDigitTime(t *testing.T) {
	s, v, _ := Classify(DefaultPolicy(), record(nil), now)
	want := time.Date(2025, 3, 1, 10, 0, 0, 123456700, time.UTC)
	if v != Eligible || !s.Time.Equal(want) {
		t.Fatalf("time = %v (%v); want %v", s.Time, v, want)
	}
}

// at makes a sighting at base+offset with the given risk.
func at(offset time.Duration, risk string) Sighting {
	r := record(func(r *signin.Record) { r.RiskLevelAggregated = risk })
	return Sighting{Record: r, User: r.UserPrincipalName, HomeTenant: ours, ResourceTenant: theirs,
		OtherTenant: theirs, Direction: Outbound, Time: base.Add(offset)}
}

var base = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)

func state(id, start, last time.Duration) *PairState {
	return &PairState{EpisodeID: base.Add(id), EpisodeStart: base.Add(start), LastSeen: base.Add(last)}
}

func TestApplyEpisodes(t *testing.T) {
	w := 14 * day
	tests := []struct {
		name   string
		prev   *PairState
		at     time.Duration
		want   PairState
		change Change
		write  bool
	}{
		{name: "no row opens an episode at the sighting", prev: nil, at: 0,
			want: *state(0, 0, 0), change: Opened, write: true},
		{name: "a gap of exactly the window opens a new episode", prev: state(0, 0, 0), at: w,
			want: *state(w, w, w), change: Reopened, write: true},
		{name: "a gap just under the window stays in the episode", prev: state(0, 0, 0), at: w - time.Nanosecond*100,
			want: *state(0, 0, w-100), change: Extended, write: true},
		{name: "the window counts from last seen, not the start", prev: state(0, 0, 10*day), at: 20 * day,
			want: *state(0, 0, 20*day), change: Extended, write: true},
		{name: "a sighting within the episode before last seen changes nothing", prev: state(0, 0, 5*day), at: 2 * day,
			want: *state(0, 0, 5*day), change: Unchanged, write: false},
		{name: "an exact duplicate changes nothing", prev: state(0, 0, 0), at: 0,
			want: *state(0, 0, 0), change: Unchanged, write: false},
		{name: "a late sighting joins and moves the start back, keeping the episode id", prev: state(0, 0, day), at: -3 * day,
			want: *state(0, -3*day, day), change: Joined, write: true},
		{name: "a late sighting just inside the window joins", prev: state(0, 0, 0), at: -w + 100,
			want: *state(0, -w+100, 0), change: Joined, write: true},
		{name: "a sighting a window before the start is history", prev: state(0, 0, 0), at: -w,
			want: *state(0, 0, 0), change: History, write: false},
		{name: "a moved-back start keeps the episode id for the next late sighting", prev: state(0, -3*day, day), at: -5 * day,
			want: *state(0, -5*day, day), change: Joined, write: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.LearningPeriod = 0
			got := Apply(p, tt.prev, at(tt.at, "medium"), base.Add(-365*day))
			if got.State != tt.want || got.Change != tt.change || got.Write != tt.write {
				t.Errorf("Apply = %+v %v write=%v; want %+v %v write=%v", got.State, got.Change, got.Write, tt.want, tt.change, tt.write)
			}
		})
	}
}

func TestApplyAlerts(t *testing.T) {
	long := base.Add(-365 * day)
	tests := []struct {
		name     string
		policy   func(*Policy)
		prev     *PairState
		at       time.Duration
		risk     string
		learning time.Time
		mod      func(*Sighting)
		alert    bool
		why      string
	}{
		{name: "the opening sighting alerts", at: 0, risk: "medium", alert: true},
		{name: "a sighting inside the novelty window alerts", prev: state(0, 0, 0), at: 24 * time.Hour, risk: "high", alert: true},
		{name: "the novelty window is inclusive", prev: state(0, 0, time.Hour), at: 24 * time.Hour, risk: "low", alert: true},
		{name: "after the novelty window nothing alerts", prev: state(0, 0, 0), at: 24*time.Hour + 100, risk: "high", why: NoAlertNovelty},
		{name: "risk none never alerts", at: 0, risk: "none", why: NoAlertRisk},
		{name: "risk None compares case-insensitively", at: 0, risk: "None", why: NoAlertRisk},
		{name: "hidden alerts by default", at: 0, risk: "hidden", alert: true},
		{name: "missing risk alerts by default", at: 0, risk: "", alert: true},
		{name: "a future risk value alerts by default", at: 0, risk: "severe", alert: true},
		{name: "a narrowed list drops hidden", at: 0, risk: "hidden", why: NoAlertRisk,
			policy: func(p *Policy) { p.Risk, _ = ParseRiskLevels("medium,high") }},
		{name: "a narrowed list keeps its levels case-insensitively", at: 0, risk: "HIGH", alert: true,
			policy: func(p *Policy) { p.Risk, _ = ParseRiskLevels("Medium, high") }},
		{name: "missing alerts only when listed", at: 0, risk: "", why: NoAlertRisk,
			policy: func(p *Policy) { p.Risk, _ = ParseRiskLevels("high") }},
		{name: "missing listed alerts on an empty risk", at: 0, risk: " ", alert: true,
			policy: func(p *Policy) { p.Risk, _ = ParseRiskLevels("high,missing") }},
		{name: "a re-published record whose risk arrived later alerts", prev: state(0, 0, 0), at: 0, risk: "high", alert: true},
		{name: "a late sighting that became the start alerts", prev: state(0, 0, 0), at: -2 * day, risk: "high", alert: true},
		{name: "history never alerts", prev: state(0, 0, 0), at: -15 * day, risk: "high", why: NoAlertHistory},
		{name: "learning suppresses sightings before the period ends", at: 0, risk: "high", learning: base.Add(-13 * day), why: NoAlertLearning},
		{name: "learning ends exactly at start plus period", at: 0, risk: "high", learning: base.Add(-14 * day), alert: true},
		{name: "a learning period of 0 disables learning", at: 0, risk: "high", learning: base,
			policy: func(p *Policy) { p.LearningPeriod = 0 }, alert: true},
		{name: "an allowlisted resource tenant never alerts", at: 0, risk: "high", why: NoAlertAllowlisted,
			policy: func(p *Policy) { p.Allowed = ParseList(strings.ToUpper(theirs)) }},
		{name: "an allowlisted home tenant never alerts", at: 0, risk: "high", why: NoAlertAllowlisted,
			policy: func(p *Policy) { p.Allowed = ParseList(ours) }},
		{name: "outbound-only suppresses inbound", at: 0, risk: "high", why: NoAlertDirection,
			policy: func(p *Policy) { p.Direction = OnlyOutbound }, mod: func(s *Sighting) { s.Direction = Inbound }},
		{name: "inbound-only suppresses outbound", at: 0, risk: "high", why: NoAlertDirection,
			policy: func(p *Policy) { p.Direction = OnlyInbound }},
		{name: "inbound-only alerts inbound", at: 0, risk: "high", alert: true,
			policy: func(p *Policy) { p.Direction = OnlyInbound }, mod: func(s *Sighting) { s.Direction = Inbound }},
		{name: "both alerts the other direction", at: 0, risk: "high", alert: true, mod: func(s *Sighting) { s.Direction = Other }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			s := at(tt.at, tt.risk)
			if tt.mod != nil {
				tt.mod(&s)
			}
			learning := tt.learning
			if learning.IsZero() {
				learning = long
			}
			got := Apply(p, tt.prev, s, learning)
			if got.Alert != tt.alert || got.NoAlert != tt.why {
				t.Errorf("Apply alert = %v %q; want %v %q", got.Alert, got.NoAlert, tt.alert, tt.why)
			}
		})
	}
}

// TestApplyStateNeverDependsOnWhoWrote pins the re-processing guarantee:
// applying a sighting to the state it produced gives the same alert decision,
// so a batch re-sent after a crash between the pair write and the alert claim
// still claims the alert (and the claim, keyed by episode, is not doubled).
func TestApplyStateNeverDependsOnWhoWrote(t *testing.T) {
	p := DefaultPolicy()
	p.LearningPeriod = 0
	for _, off := range []time.Duration{0, time.Hour, -3 * day} {
		prev := state(0, 0, 0)
		first := Apply(p, prev, at(off, "high"), base)
		again := Apply(p, &first.State, at(off, "high"), base)
		if again.Alert != first.Alert || again.State != first.State || again.Write {
			t.Errorf("offset %v: re-applying gave %+v, first %+v", off, again, first)
		}
	}
}

func TestParseRiskLevelsRejectsEveryUnknownLevel(t *testing.T) {
	_, err := ParseRiskLevels("high,critical,sev3")
	if err == nil || !strings.Contains(err.Error(), "critical") || !strings.Contains(err.Error(), "sev3") {
		t.Fatalf("err = %v; want both unknown levels named", err)
	}
	if _, err := ParseRiskLevels(" , "); err == nil {
		t.Fatal("an empty list was accepted")
	}
}

func TestPolicyValidateReportsEveryProblem(t *testing.T) {
	p := Policy{Direction: "sideways", BaselineWindow: 0, NoveltyWindow: -1}
	err := p.Validate()
	for _, want := range []string{"category", "sideways", "baseline", "novelty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to mention %q", err, want)
		}
	}
	if err := DefaultPolicy().Validate(); err != nil {
		t.Errorf("default policy invalid: %v", err)
	}
}
