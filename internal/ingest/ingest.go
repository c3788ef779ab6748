// Package ingest turns one Event Hub batch of Entra sign-in logs into
// baseline updates and alert claims: parse, classify, apply each sighting to
// its pair under optimistic concurrency, claim the episode's alert when the
// sighting may raise it, then hand the claimed alerts to the outbox for
// their first delivery attempt.
//
// Every decision is re-derived from stored state, so a batch re-sent after a
// failure part-way (or delivered to two instances at once) converges on the
// same rows and never claims an episode's alert twice.
package ingest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"golang.org/x/sync/errgroup"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/baseline"
	"github.com/tenantwatch/tenantwatch/internal/detect"
	"github.com/tenantwatch/tenantwatch/internal/signin"
)

// Store is the baseline storage the processor needs.
type Store interface {
	GetPair(ctx context.Context, user, resourceTenant string) (baseline.Pair, error)
	SavePair(ctx context.Context, p baseline.Pair) (azcore.ETag, error)
	LearningStart(ctx context.Context) (time.Time, bool, error)
	MoveLearningStartBack(ctx context.Context, t time.Time) (time.Time, error)
	GetAlert(ctx context.Context, user, resourceTenant string, episodeID time.Time) (baseline.Alert, bool, error)
	ClaimAlert(ctx context.Context, a baseline.Alert) (bool, baseline.Alert, error)
	CountTenants(ctx context.Context, user string) (int, error)
}

// Deliverer makes an alert's first delivery attempt, if it can start by
// the given time.
type Deliverer interface {
	DeliverBy(ctx context.Context, a baseline.Alert, startBy time.Time) error
}

// Failpoint names, hit between the steps whose interruption matters.
const (
	FailAfterPairWrite = "after-pair-write"
	FailAfterClaim     = "after-claim"
)

// Processor processes batches. Its fields are set once, before use.
type Processor struct {
	Policy detect.Policy
	Store  Store
	// Outbox gets each alert this processor claimed; nil leaves them to
	// the outbox timer.
	Outbox Deliverer
	Logger *slog.Logger
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
	// Concurrency bounds how many pairs are worked on at once (default 16).
	Concurrency int
	// Failpoint, when set, is called at each named step (tests use it to
	// stop a process exactly there).
	Failpoint func(name string)
	// InlineBudget bounds how long a batch's reply waits for first delivery
	// attempts (default 5 s): no attempt starts after it, and alerts not
	// attempted by then are left to the AlertOutbox timer. The Event Hub
	// batch is never held hostage to a slow webhook.
	InlineBudget time.Duration
}

// maxConflicts bounds the re-read loop of one sighting; more conflicts than
// this in a row mean something else is wrong, and the batch is retried.
const maxConflicts = 20

// Stats counts what one batch did.
type Stats struct {
	Events         int            `json:"events"`
	BadEvents      int            `json:"badEvents"`
	Records        int            `json:"records"`
	BadRecords     int            `json:"badRecords"`
	Skipped        map[string]int `json:"skipped,omitempty"`
	Malformed      int            `json:"malformed"`
	Sightings      int            `json:"sightings"`
	PairWrites     int            `json:"pairWrites"`
	Conflicts      int            `json:"conflicts"`
	History        int            `json:"history"`
	Rejected       int            `json:"rejected"`
	Claimed        int            `json:"alertsClaimed"`
	AlreadyClaimed int            `json:"alertsAlreadyClaimed"`
}

type pairKey struct{ user, tenant string }

// Process handles one batch of Event Hub bodies. It returns an error only
// when the batch could not be decided for want of storage; the caller then
// fails the invocation so the host re-sends it. Bad input is counted,
// logged and skipped.
func (p *Processor) Process(ctx context.Context, bodies [][]byte) (Stats, error) {
	now := p.now()
	st := Stats{Events: len(bodies), Skipped: map[string]int{}}
	var sightings []detect.Sighting
	for i, body := range bodies {
		recs, problems, err := signin.ParseBody(body)
		if err != nil {
			st.BadEvents++
			p.Logger.Error("event body skipped: not a sign-in log body", "event", i, "bytes", len(body), "err", err)
			continue
		}
		st.Records += len(recs) + len(problems)
		for _, pr := range problems {
			st.BadRecords++
			p.Logger.Error("undecodable record skipped", "event", i, "record", pr.Position, "reason", pr.Reason)
		}
		for _, r := range recs {
			s, verdict, reason := detect.Classify(p.Policy, r, now)
			switch verdict {
			case detect.Eligible:
				sightings = append(sightings, s)
			case detect.Malformed:
				st.Malformed++
				p.Logger.Error("malformed sign-in record skipped", "event", i, "record", r.Position, "signInId", r.ID, "reason", reason)
			default:
				st.Skipped[reason]++
			}
		}
	}
	st.Sightings = len(sightings)
	if len(sightings) == 0 {
		return st, nil
	}

	// A sighting is judged against the learning start as it stood when it
	// arrived: the store's, moved back by the sightings before it (and by
	// itself). So where the Event Hub cut the batches never changes a
	// decision, and a replay in the same order decides the same way. (A
	// batch re-sent after failing part-way finds its own earliest sighting
	// already recorded: decisions use the state that has arrived.)
	stored, known, err := p.Store.LearningStart(ctx)
	if err != nil {
		return st, fmt.Errorf("read learning start: %w", err)
	}
	learning := make([]time.Time, len(sightings))
	running, ok := stored, known
	for i, s := range sightings {
		if !ok || s.Time.Before(running) {
			running, ok = s.Time, true
		}
		learning[i] = running
	}
	if !known || running.Before(stored) {
		if _, err := p.Store.MoveLearningStartBack(ctx, running); err != nil {
			return st, fmt.Errorf("record learning start: %w", err)
		}
	}

	// One worker per pair keeps each pair's sightings in arrival order, so a
	// replay of the same input in the same order decides the same way.
	var order []pairKey
	groups := map[pairKey][]int{} // indexes into sightings, in arrival order
	for i, s := range sightings {
		k := pairKey{s.User, s.ResourceTenant}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}

	var (
		mu      sync.Mutex
		claimed []baseline.Alert
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.concurrency())
	for _, k := range order {
		g.Go(func() error {
			var ps pairStats
			alerts, err := p.processPair(gctx, sightings, learning, groups[k], &ps)
			mu.Lock()
			defer mu.Unlock()
			st.add(ps)
			claimed = append(claimed, alerts...)
			return err
		})
	}
	err = g.Wait()

	// Alerts claimed before a failure are delivered too: their rows exist,
	// and a re-sent batch will find them claimed.
	p.deliver(ctx, claimed)
	if err != nil {
		return st, err
	}
	return st, nil
}

type pairStats struct {
	writes, conflicts, history, rejected, claimed, already int
}

func (st *Stats) add(ps pairStats) {
	st.PairWrites += ps.writes
	st.Conflicts += ps.conflicts
	st.History += ps.history
	st.Rejected += ps.rejected
	st.Claimed += ps.claimed
	st.AlreadyClaimed += ps.already
}

// processPair applies one pair's sightings (the indexes, in order) and
// claims alerts.
func (p *Processor) processPair(ctx context.Context, sightings []detect.Sighting, learning []time.Time, idx []int, ps *pairStats) ([]baseline.Alert, error) {
	var (
		cur     *baseline.Pair // nil: must be read
		claimed []baseline.Alert
		tried   = map[time.Time]bool{} // episode ids whose claim was settled in this batch
	)
	for _, i := range idx {
		s := sightings[i]
		step, err := p.applyOne(ctx, s, learning[i], &cur, ps)
		if err != nil {
			if baseline.ContentError(err) {
				ps.rejected++
				p.Logger.Error("sighting rejected by storage and skipped", "signInId", s.Record.ID, "err", err)
				cur = nil
				continue
			}
			return claimed, err
		}
		if step.Change == detect.History {
			ps.history++
		}
		if !step.Alert || tried[step.State.EpisodeID] {
			continue
		}
		a, mine, err := p.claim(ctx, s, step.State)
		if err != nil {
			if baseline.ContentError(err) {
				ps.rejected++
				p.Logger.Error("alert rejected by storage and skipped", "signInId", s.Record.ID, "err", err)
				continue
			}
			return claimed, err
		}
		tried[step.State.EpisodeID] = true
		if mine {
			ps.claimed++
			claimed = append(claimed, a)
			p.Logger.Info("alert raised", "alertId", a.ID, "direction", s.Direction, "riskLevelAggregated", s.Record.RiskLevelAggregated)
		} else {
			ps.already++
		}
		p.hit(FailAfterClaim)
	}
	return claimed, nil
}

// applyOne applies a sighting to the pair, re-reading on write conflicts.
func (p *Processor) applyOne(ctx context.Context, s detect.Sighting, learning time.Time, cur **baseline.Pair, ps *pairStats) (detect.Step, error) {
	for conflicts := 0; ; conflicts++ {
		if *cur == nil {
			got, err := p.Store.GetPair(ctx, s.User, s.ResourceTenant)
			if err != nil {
				return detect.Step{}, fmt.Errorf("read pair: %w", err)
			}
			*cur = &got
		}
		var prev *detect.PairState
		if (*cur).Exists {
			prev = &(*cur).State
		}
		step := detect.Apply(p.Policy, prev, s, learning)
		if !step.Write {
			return step, nil
		}
		next := **cur
		next.User, next.ResourceTenant, next.HomeTenant, next.State = s.User, s.ResourceTenant, s.HomeTenant, step.State
		etag, err := p.Store.SavePair(ctx, next)
		if errors.Is(err, baseline.ErrConflict) {
			ps.conflicts++
			*cur = nil
			if conflicts >= maxConflicts {
				return detect.Step{}, fmt.Errorf("pair kept changing under %d writes: %w", conflicts, err)
			}
			continue
		}
		if err != nil {
			return detect.Step{}, fmt.Errorf("write pair: %w", err)
		}
		ps.writes++
		next.Exists, next.ETag = true, etag
		*cur = &next
		p.hit(FailAfterPairWrite)
		return step, nil
	}
}

// claim writes the episode's alert row (pending) if no one has. An
// episode's risky sightings keep arriving for a day; a point read settles
// most of them without building a payload or counting tenants.
func (p *Processor) claim(ctx context.Context, s detect.Sighting, state detect.PairState) (baseline.Alert, bool, error) {
	if existing, found, err := p.Store.GetAlert(ctx, s.User, s.ResourceTenant, state.EpisodeID); err != nil {
		return baseline.Alert{}, false, fmt.Errorf("read alert: %w", err)
	} else if found {
		return existing, false, nil
	}
	now := p.now()
	count, err := p.Store.CountTenants(ctx, s.User)
	if err != nil {
		// The count only decorates the card; the claim decides.
		p.Logger.Warn("could not count the user's baseline tenants", "err", err)
		count = 0
	}
	id := alert.ID(s.User, s.ResourceTenant, state.EpisodeID)
	env := alert.Envelope{Type: alert.EventType, Timestamp: now, Data: Data(id, s, state, count)}
	payload, err := json.Marshal(env)
	if err != nil {
		return baseline.Alert{}, false, fmt.Errorf("encode alert: %w", err)
	}
	a := baseline.Alert{
		ID:             id,
		User:           s.User,
		ResourceTenant: s.ResourceTenant,
		EpisodeID:      state.EpisodeID,
		State:          baseline.AlertPending,
		NextAttemptAt:  now,
		ClaimToken:     rand.Text(),
		CreatedAt:      now,
		Payload:        payload,
	}
	mine, stored, err := p.Store.ClaimAlert(ctx, a)
	if err != nil {
		return baseline.Alert{}, false, fmt.Errorf("claim alert: %w", err)
	}
	return stored, mine, nil
}

// Data builds an alert's content from the sighting that raised it.
func Data(id string, s detect.Sighting, state detect.PairState, tenantCount int) alert.Data {
	r := s.Record
	events := r.RiskEventTypes
	if events == nil {
		events = []string{}
	}
	return alert.Data{
		AlertID:               id,
		UserPrincipalName:     s.User,
		UserID:                r.UserID,
		UserDisplayName:       r.UserDisplayName,
		UserType:              r.UserType,
		HomeTenantID:          s.HomeTenant,
		ResourceTenantID:      s.ResourceTenant,
		OtherTenantID:         s.OtherTenant,
		Direction:             string(s.Direction),
		SignInID:              r.ID,
		CorrelationID:         r.CorrelationID,
		CreatedDateTime:       r.CreatedDateTime,
		Category:              r.Category,
		AppID:                 r.AppID,
		AppDisplayName:        r.AppDisplayName,
		ResourceDisplayName:   r.ResourceDisplayName,
		IPAddress:             r.IPAddress,
		Location:              alert.Location{City: r.Location.City, State: r.Location.State, CountryOrRegion: r.Location.CountryOrRegion},
		RiskLevelAggregated:   r.RiskLevelAggregated,
		RiskLevelDuringSignIn: r.RiskLevelDuringSignIn,
		RiskState:             r.RiskState,
		RiskDetail:            r.RiskDetail,
		RiskEventTypes:        events,
		CrossTenantAccessType: r.CrossTenantAccessType,
		EpisodeID:             state.EpisodeID,
		EpisodeStart:          state.EpisodeStart,
		BaselineTenantCount:   tenantCount,
	}
}

// deliver makes the first attempt for each claimed alert, a few at a time,
// within the inline budget. Failures and alerts not attempted stay in the
// outbox for the timer; they never fail the batch.
func (p *Processor) deliver(ctx context.Context, alerts []baseline.Alert) {
	if p.Outbox == nil || len(alerts) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx) // a claimed alert deserves its attempt even if the host hung up
	budget := p.InlineBudget
	if budget <= 0 {
		budget = 5 * time.Second
	}
	deadline := time.Now().Add(budget)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, a := range alerts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if time.Now().After(deadline) {
				p.Logger.Info("inline delivery budget spent; left to the outbox", "alertId", a.ID)
				return
			}
			if err := p.Outbox.DeliverBy(ctx, a, deadline); err != nil {
				// Busy, held by the flood guard, or storage trouble: the
				// row is pending and the AlertOutbox timer will see to it.
				p.Logger.Info("inline delivery left to the outbox", "alertId", a.ID, "reason", err)
			}
		})
	}
	wg.Wait()
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Processor) concurrency() int {
	if p.Concurrency > 0 {
		return p.Concurrency
	}
	return 16
}

func (p *Processor) hit(name string) {
	if p.Failpoint != nil {
		p.Failpoint(name)
	}
}
