package detect

import (
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/signin"
)

// Verdict is what Classify makes of a record.
type Verdict int

// Verdicts.
const (
	// Eligible records are successful cross-tenant sign-ins with a user and a
	// valid event time: sightings.
	Eligible Verdict = iota
	// Skipped records are simply not cross-tenant sightings (other category,
	// failed, home-tenant sign-in, no user).
	Skipped
	// Malformed records would be sightings but carry no usable event time.
	Malformed
)

// Reasons a record is skipped or malformed, used as log and counter labels.
const (
	ReasonCategory      = "category"
	ReasonFailed        = "failed"
	ReasonMissingTenant = "missing-tenant"
	ReasonSameTenant    = "same-tenant"
	ReasonMissingUser   = "missing-user"
	ReasonTime          = "invalid-time"
)

// Sighting is an eligible sign-in, normalised.
type Sighting struct {
	Record signin.Record
	// User is the trimmed, lower-cased user principal name.
	User string
	// HomeTenant and ResourceTenant are trimmed and lower-cased.
	HomeTenant, ResourceTenant string
	// OtherTenant is the tenant that is not ours: the resource tenant for
	// outbound and other sightings, the home tenant for inbound ones.
	OtherTenant string
	Direction   Direction
	// Time is the event time, UTC, at 100 ns resolution.
	Time time.Time
}

// Classify decides whether a record is a sighting. For Skipped and Malformed
// records the reason is one of the Reason constants; for Malformed it also
// carries the time problem.
func Classify(p Policy, r signin.Record, now time.Time) (Sighting, Verdict, string) {
	if !p.Categories[strings.ToLower(strings.TrimSpace(r.Category))] {
		return Sighting{}, Skipped, ReasonCategory
	}
	if !r.Succeeded() {
		return Sighting{}, Skipped, ReasonFailed
	}
	home, resource := r.HomeTenantID, r.ResourceTenantID
	if home == "" || resource == "" {
		return Sighting{}, Skipped, ReasonMissingTenant
	}
	if home == resource {
		return Sighting{}, Skipped, ReasonSameTenant
	}
	if r.UserPrincipalName == "" {
		return Sighting{}, Skipped, ReasonMissingUser
	}
	t, err := r.EventTime(now)
	if err != nil {
		return Sighting{}, Malformed, ReasonTime + ": " + err.Error()
	}
	s := Sighting{
		Record:         r,
		User:           r.UserPrincipalName,
		HomeTenant:     home,
		ResourceTenant: resource,
		Time:           t.UTC().Truncate(100 * time.Nanosecond),
	}
	switch r.TenantID {
	case home:
		s.Direction, s.OtherTenant = Outbound, resource
	case resource:
		s.Direction, s.OtherTenant = Inbound, home
	default:
		s.Direction, s.OtherTenant = Other, resource
	}
	return s, Eligible, ""
}

// Change says what a sighting did to its pair.
type Change int

// Changes.
const (
	// Opened: the pair had no row; an episode opens at the sighting.
	Opened Change = iota
	// Reopened: the pair was last seen a baseline window or more before; a
	// new episode opens at the sighting.
	Reopened
	// Extended: the sighting is within the episode and after last seen.
	Extended
	// Unchanged: the sighting is within the episode, not after last seen.
	Unchanged
	// Joined: a late sighting less than a window before the episode start
	// joins the episode and moves its start back.
	Joined
	// History: the sighting is a window or more older than the episode; it
	// changes nothing and never alerts.
	History
)

var changeNames = [...]string{"opened", "reopened", "extended", "unchanged", "joined", "history"}

func (c Change) String() string {
	if int(c) < len(changeNames) {
		return changeNames[c]
	}
	return "unknown"
}

// Why a candidate sighting does not alert.
const (
	NoAlertHistory     = "history"
	NoAlertNovelty     = "outside-novelty-window"
	NoAlertRisk        = "risk-level"
	NoAlertLearning    = "learning"
	NoAlertAllowlisted = "allowlisted"
	NoAlertDirection   = "direction"
)

// Step is the outcome of applying one sighting to its pair.
type Step struct {
	// State is the pair's state after the sighting.
	State  PairState
	Change Change
	// Write is true when State differs from what was stored.
	Write bool
	// Alert is true when the sighting may raise its episode's alert. The
	// alert itself is claimed once per (pair, episode id) by the caller, so
	// many alerting sightings of one episode still make one alert.
	Alert bool
	// NoAlert says why Alert is false (one of the NoAlert constants).
	NoAlert string
}

// Apply moves a pair through its episodes (DESIGN §1). prev is the stored
// state, nil when the pair has no row. learningStart is the earliest event
// time of any eligible sighting the store has seen, this one included.
func Apply(p Policy, prev *PairState, s Sighting, learningStart time.Time) Step {
	t := s.Time
	var st Step
	switch {
	case prev == nil:
		st = Step{State: PairState{EpisodeID: t, EpisodeStart: t, LastSeen: t}, Change: Opened, Write: true}
	case t.Sub(prev.LastSeen) >= p.BaselineWindow:
		st = Step{State: PairState{EpisodeID: t, EpisodeStart: t, LastSeen: t}, Change: Reopened, Write: true}
	case !t.Before(prev.EpisodeStart):
		st = Step{State: *prev, Change: Unchanged}
		if t.After(prev.LastSeen) {
			st.State.LastSeen, st.Change, st.Write = t, Extended, true
		}
	case t.After(prev.EpisodeStart.Add(-p.BaselineWindow)):
		st = Step{State: *prev, Change: Joined, Write: true}
		st.State.EpisodeStart = t
	default:
		return Step{State: *prev, Change: History, NoAlert: NoAlertHistory}
	}
	st.Alert, st.NoAlert = mayAlert(p, st.State, s, learningStart)
	return st
}

// mayAlert applies the alert conditions that do not depend on whether the
// episode's alert was already claimed.
func mayAlert(p Policy, st PairState, s Sighting, learningStart time.Time) (bool, string) {
	age := s.Time.Sub(st.EpisodeStart)
	switch {
	case age < 0 || age > p.NoveltyWindow:
		return false, NoAlertNovelty
	case !p.Risk.Alerts(s.Record.RiskLevelAggregated):
		return false, NoAlertRisk
	case p.LearningPeriod > 0 && s.Time.Before(learningStart.Add(p.LearningPeriod)):
		return false, NoAlertLearning
	case p.Allowed[s.HomeTenant] || p.Allowed[s.ResourceTenant]:
		return false, NoAlertAllowlisted
	case !p.Direction.allows(s.Direction):
		return false, NoAlertDirection
	}
	return true, ""
}
