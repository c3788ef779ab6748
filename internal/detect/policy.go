// Package detect holds Tenantwatch's detection rules as pure functions: which
// sign-in records count as cross-tenant sightings, how a sighting moves a
// (user, resource tenant) pair through its episodes, and whether it may
// alert. Nothing here does I/O or reads the clock; callers pass "now" and the
// stored state in, and get the new state and the decision back.
package detect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Direction says which side of a cross-tenant sign-in the monitored tenant
// is on.
type Direction string

// Directions of a sighting.
const (
	Outbound Direction = "outbound" // our user signed in to another tenant
	Inbound  Direction = "inbound"  // a guest from another tenant signed in to ours
	Other    Direction = "other"    // neither tenant is the one whose logs these are
)

// DirectionFilter limits which sightings may alert.
type DirectionFilter string

// Direction filters.
const (
	Both         DirectionFilter = "both"
	OnlyOutbound DirectionFilter = "outbound"
	OnlyInbound  DirectionFilter = "inbound"
)

// allows reports whether a sighting in direction d may alert.
func (f DirectionFilter) allows(d Direction) bool {
	switch f {
	case OnlyOutbound:
		return d == Outbound
	case OnlyInbound:
		return d == Inbound
	default:
		return true
	}
}

// Risk levels ALERT_RISK_LEVELS accepts. RiskMissing stands for an absent or
// empty riskLevelAggregated.
const (
	RiskMissing = "missing"
	riskNone    = "none"
)

var knownRiskLevels = []string{"low", "medium", "high", "hidden", "unknownfuturevalue", RiskMissing}

// RiskFilter decides which riskLevelAggregated values alert. The zero value
// is the Sentinel query's behaviour: every value except "none" alerts,
// including a missing value and values Entra may add later.
type RiskFilter struct {
	levels map[string]bool // nil: everything but "none"
}

// ParseRiskLevels reads ALERT_RISK_LEVELS: empty means the default, otherwise
// a comma list of low, medium, high, hidden, unknownFutureValue and missing
// (case-insensitive).
func ParseRiskLevels(s string) (RiskFilter, error) {
	if strings.TrimSpace(s) == "" {
		return RiskFilter{}, nil
	}
	f := RiskFilter{levels: map[string]bool{}}
	var errs []error
	for item := range strings.SplitSeq(s, ",") {
		level := strings.ToLower(strings.TrimSpace(item))
		switch {
		case level == "":
			continue
		case slices.Contains(knownRiskLevels, level):
			f.levels[level] = true
		default:
			errs = append(errs, fmt.Errorf("unknown risk level %q (want low, medium, high, hidden, unknownFutureValue or missing)", truncate(item, 40)))
		}
	}
	if len(errs) == 0 && len(f.levels) == 0 {
		errs = append(errs, errors.New("no risk level given"))
	}
	return f, errors.Join(errs...)
}

// Alerts reports whether a sighting with this riskLevelAggregated may alert.
func (f RiskFilter) Alerts(level string) bool {
	level = strings.ToLower(strings.TrimSpace(level))
	if f.levels == nil {
		return level != riskNone
	}
	if level == "" {
		return f.levels[RiskMissing]
	}
	return f.levels[level]
}

// String lists the alerting levels, for logs.
func (f RiskFilter) String() string {
	if f.levels == nil {
		return "all but none"
	}
	var out []string
	for _, l := range knownRiskLevels {
		if f.levels[l] {
			out = append(out, l)
		}
	}
	return strings.Join(out, ",")
}

// Policy is the detection configuration.
type Policy struct {
	// Categories holds the lower-cased log categories read.
	Categories map[string]bool
	Direction  DirectionFilter
	// BaselineWindow is how long a pair stays known after it was last seen.
	BaselineWindow time.Duration
	// NoveltyWindow is how long after an episode starts a sighting may alert.
	NoveltyWindow time.Duration
	// LearningPeriod: no sighting alerts before learning start + this.
	LearningPeriod time.Duration
	Risk           RiskFilter
	// Allowed holds lower-cased tenant ids that never alert.
	Allowed map[string]bool
	// MaxFutureSkew bounds how far ahead of the wall clock an event time may be.
	MaxFutureSkew time.Duration
}

// DefaultPolicy returns the documented defaults.
func DefaultPolicy() Policy {
	return Policy{
		Categories:     map[string]bool{"signinlogs": true},
		Direction:      Both,
		BaselineWindow: 14 * 24 * time.Hour,
		NoveltyWindow:  24 * time.Hour,
		LearningPeriod: 14 * 24 * time.Hour,
		MaxFutureSkew:  time.Hour,
	}
}

// ParseList splits a comma list into a set of trimmed, lower-cased items.
func ParseList(s string) map[string]bool {
	set := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.ToLower(strings.TrimSpace(item)); item != "" {
			set[item] = true
		}
	}
	return set
}

// Validate reports every problem with the policy.
func (p Policy) Validate() error {
	var errs []error
	if len(p.Categories) == 0 {
		errs = append(errs, errors.New("no sign-in category to read"))
	}
	switch p.Direction {
	case Both, OnlyOutbound, OnlyInbound:
	default:
		errs = append(errs, fmt.Errorf("direction %q: want both, outbound or inbound", truncate(string(p.Direction), 40)))
	}
	if p.BaselineWindow <= 0 {
		errs = append(errs, errors.New("baseline window must be positive"))
	}
	if p.NoveltyWindow < 0 {
		errs = append(errs, errors.New("novelty window must not be negative"))
	}
	if p.LearningPeriod < 0 {
		errs = append(errs, errors.New("learning period must not be negative"))
	}
	if p.MaxFutureSkew < 0 {
		errs = append(errs, errors.New("future skew must not be negative"))
	}
	return errors.Join(errs...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
