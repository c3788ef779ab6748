// Package outbox delivers alerts from their durable rows: it leases a
// pending alert so no two instances send it at once, makes one attempt,
// and records the outcome (sent, retry at a later time, or failed). The
// ingest path calls Deliver at once for the alerts it claims; the
// AlertOutbox timer calls RunDue for everything whose next attempt is due.
//
// Delivery is at-least-once with a stable id: an alert is POSTed again only
// when a process died between a POST and recording it, or an attempt timed
// out after the receiver accepted it.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"sync"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/baseline"
)

// Store is the alert storage the outbox needs.
type Store interface {
	DueAlerts(ctx context.Context, now time.Time, limit int) ([]baseline.Alert, error)
	AcquireLease(ctx context.Context, a baseline.Alert, now time.Time, d time.Duration, token string) (baseline.Alert, bool, error)
	UpdateAlert(ctx context.Context, a baseline.Alert) (baseline.Alert, error)
	TakeHourSlot(ctx context.Context, now time.Time, limit int) (bool, error)
	ReleaseHourSlot(ctx context.Context, now time.Time) error
}

// Notifier makes one delivery attempt.
type Notifier interface {
	Send(ctx context.Context, env alert.Envelope, now time.Time) alert.Result
}

// DigestNotifier posts one card listing several alerts and says how many
// it listed.
type DigestNotifier interface {
	SendDigest(ctx context.Context, envs []alert.Envelope, limit int, now time.Time) (alert.Result, int)
}

// FailAfterPost is hit between a delivery attempt and recording it.
const FailAfterPost = "after-post"

// heldForDigest marks an alert the flood guard held back; the next RunDue
// lists it in a digest.
const heldForDigest = "held"

// Outbox delivers alerts. Its fields are set once, before use.
type Outbox struct {
	Store    Store
	Notifier Notifier
	// Schedule holds the delays between attempts after the first.
	Schedule []time.Duration
	// Lease is how long one delivery may hold an alert (default 2 min).
	Lease  time.Duration
	Logger *slog.Logger
	// Now and Rand default to the wall clock and math/rand.
	Now  func() time.Time
	Rand func() float64
	// BatchSize bounds how many due alerts one RunDue handles (default 100).
	BatchSize int
	// RunBudget bounds how long one RunDue keeps starting attempts (default
	// 40 s, inside the timer's one-minute period).
	RunBudget time.Duration
	// Failpoint, when set, is called at each named step.
	Failpoint func(name string)
	// MaxPerHour, when above 0, turns on the flood guard: past this many
	// cards in a wall-clock hour (counted in storage, across instances),
	// alerts are held and listed in one digest per RunDue. Digest must be
	// set with it. Meant for Teams; machines get every alert on its own.
	MaxPerHour int
	Digest     DigestNotifier
	// MinInterval spaces this process's POSTs (Teams throttles above about
	// four requests a second).
	MinInterval time.Duration
	// AttemptTimeout is the notifier's per-attempt timeout: an attempt is
	// only started with at least this much of its lease left.
	AttemptTimeout time.Duration

	paceMu   sync.Mutex
	nextPost time.Time
}

// ErrBusy means another delivery holds the alert, or it is no longer pending.
var ErrBusy = errors.New("alert is leased or no longer pending")

// ErrHeld means the flood guard held the alert for the next digest.
var ErrHeld = errors.New("alert held for the hour's digest")

// ErrDeferred means the attempt was not made now and is left to the timer.
var ErrDeferred = errors.New("attempt deferred to the outbox timer")

// Deliver makes one attempt for a, if it is pending and not leased, and
// records the outcome. It returns nil when the attempt was made and
// recorded, whatever the webhook said; ErrBusy when someone else holds the
// alert; ErrHeld when the flood guard held it for a digest.
func (o *Outbox) Deliver(ctx context.Context, a baseline.Alert) error {
	_, err := o.deliver(ctx, a, time.Time{})
	return err
}

// DeliverBy is Deliver for a caller that must not wait past startBy (a
// batch's inline budget): an attempt that cannot start by then is left to
// the timer, and ErrDeferred returned.
func (o *Outbox) DeliverBy(ctx context.Context, a baseline.Alert, startBy time.Time) error {
	_, err := o.deliver(ctx, a, startBy)
	return err
}

func (o *Outbox) deliver(ctx context.Context, a baseline.Alert, startBy time.Time) (baseline.Alert, error) {
	// Queue for this process's turn to post before taking the lease, so the
	// lease covers the attempt and not the queue.
	if err := o.pace(ctx, startBy); err != nil {
		return a, err
	}
	now := o.now()
	leased, ok, err := o.Store.AcquireLease(ctx, a, now, o.lease(), rand.Text())
	if err != nil {
		return a, fmt.Errorf("lease alert: %w", err)
	}
	if !ok {
		return a, ErrBusy
	}
	log := o.Logger.With("alertId", leased.ID)

	var env alert.Envelope
	if err := json.Unmarshal(leased.Payload, &env); err != nil {
		leased.State, leased.LastError = baseline.AlertFailed, "stored payload unreadable: "+err.Error()
		log.Error("alert failed: stored payload unreadable", "err", err)
		return o.record(ctx, leased)
	}
	slot := o.MaxPerHour > 0 && o.Digest != nil
	if slot {
		free, err := o.Store.TakeHourSlot(ctx, now, o.MaxPerHour)
		if err != nil {
			_, _ = o.record(ctx, leased) // release the lease
			return a, fmt.Errorf("flood guard: %w", err)
		}
		if !free {
			leased.Digest, leased.NextAttemptAt = heldForDigest, now
			log.Info("flood guard: alert held for this hour's digest", "maxPerHour", o.MaxPerHour)
			stored, err := o.record(ctx, leased)
			if err != nil {
				return a, err
			}
			return stored, ErrHeld
		}
	}

	// The lease must outlast the attempt, or another instance could take the
	// alert while the POST is open. Slow storage can eat into it: then give
	// the alert back untried.
	attemptAt := o.now()
	if o.AttemptTimeout > 0 && leased.LeaseUntil.Sub(attemptAt) < o.AttemptTimeout {
		log.Warn("too little of the lease left for an attempt; left to the next run", "leaseUntil", leased.LeaseUntil)
		if slot {
			o.releaseSlot(ctx, log, now)
		}
		stored, err := o.record(ctx, leased)
		if err != nil {
			return a, err
		}
		return stored, ErrDeferred
	}
	res := o.Notifier.Send(ctx, env, attemptAt)
	o.hit(FailAfterPost)
	o.outcome(log, &leased, res, attemptAt)
	stored, err := o.record(ctx, leased)
	// The hour's budget counts cards people saw. Only a refusal proves the
	// card was not posted; a timeout may have been accepted.
	if slot && !res.Delivered && res.Status != 0 {
		o.releaseSlot(ctx, log, now)
	}
	return stored, err
}

func (o *Outbox) releaseSlot(ctx context.Context, log *slog.Logger, takenAt time.Time) {
	if err := o.Store.ReleaseHourSlot(context.WithoutCancel(ctx), takenAt); err != nil {
		log.Warn("flood guard: slot of a failed attempt not given back", "err", err)
	}
}

// outcome applies one attempt's result to the alert row.
func (o *Outbox) outcome(log *slog.Logger, a *baseline.Alert, res alert.Result, attemptAt time.Time) {
	a.Attempts++
	a.LastStatus = res.Status
	switch {
	case res.Delivered:
		a.State, a.SentAt, a.LastError = baseline.AlertSent, o.now(), ""
		log.Info("alert delivered", "attempts", a.Attempts, "status", res.Status)
	case res.Retry:
		a.LastError = errText(res.Err)
		next, more := alert.NextAttempt(a.Attempts, o.Schedule, attemptAt, res.RetryAfter, o.rand())
		if more {
			a.NextAttemptAt = next
			log.Warn("alert delivery failed; will retry", "attempts", a.Attempts, "status", res.Status, "nextAttemptAt", next, "err", res.Err)
		} else {
			a.State = baseline.AlertFailed
			log.Error("alert delivery failed for good: retry schedule exhausted", "attempts", a.Attempts, "status", res.Status, "err", res.Err)
		}
	default:
		a.State, a.LastError = baseline.AlertFailed, errText(res.Err)
		log.Error("alert delivery failed for good: the webhook refused it", "attempts", a.Attempts, "status", res.Status, "err", res.Err)
	}
}

// pace waits for this process's next turn to POST. With a startBy, it
// takes no turn that would start later, and returns ErrDeferred.
func (o *Outbox) pace(ctx context.Context, startBy time.Time) error {
	if o.MinInterval <= 0 {
		if !startBy.IsZero() && time.Now().After(startBy) {
			return ErrDeferred
		}
		return nil
	}
	o.paceMu.Lock()
	now := time.Now()
	at := now
	if o.nextPost.After(now) {
		at = o.nextPost
	}
	if !startBy.IsZero() && at.After(startBy) {
		o.paceMu.Unlock()
		return ErrDeferred
	}
	o.nextPost = at.Add(o.MinInterval)
	o.paceMu.Unlock()
	t := time.NewTimer(at.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// record stores the outcome and releases the lease. It runs even when the
// caller's context ended: an attempt made must be recorded, or it is
// repeated.
func (o *Outbox) record(ctx context.Context, a baseline.Alert) (baseline.Alert, error) {
	a.LeaseUntil, a.LeaseToken = time.Time{}, ""
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	stored, err := o.Store.UpdateAlert(ctx, a)
	if err != nil {
		return a, fmt.Errorf("record delivery attempt: %w", err)
	}
	return stored, nil
}

// RunStats counts one RunDue.
type RunStats struct {
	Due, Attempted, Busy, Errors, Held, Digested int
}

// RunDue delivers alerts whose next attempt is due, and lists the alerts
// the flood guard held in one digest. It returns an error only when storage
// could not be read.
func (o *Outbox) RunDue(ctx context.Context) (RunStats, error) {
	due, err := o.Store.DueAlerts(ctx, o.now(), o.batchSize())
	if err != nil {
		return RunStats{}, fmt.Errorf("list due alerts: %w", err)
	}
	// A run ends well before the next timer tick and the function timeout,
	// however slow the webhook: what it does not reach waits for the next.
	deadline := time.Now().Add(o.runBudget())
	var (
		st   = RunStats{Due: len(due)}
		held []baseline.Alert
		mu   sync.Mutex
		wg   sync.WaitGroup
		sem  = make(chan struct{}, o.concurrency())
	)
	for _, a := range due {
		if ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		if a.Digest == heldForDigest && o.Digest != nil {
			mu.Lock() // workers append to held too
			held = append(held, a)
			mu.Unlock()
			continue
		}
		sem <- struct{}{}
		if time.Now().After(deadline) {
			<-sem
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			stored, err := o.deliver(ctx, a, time.Time{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				st.Attempted++
			case errors.Is(err, ErrHeld):
				held = append(held, stored)
			case errors.Is(err, ErrBusy), errors.Is(err, ErrDeferred):
				st.Busy++
			default:
				st.Errors++
				o.Logger.Warn("outbox delivery not recorded", "alertId", a.ID, "err", err)
			}
		})
	}
	wg.Wait()
	st.Held = len(held)
	if len(held) > 0 {
		st.Digested = o.digest(ctx, held)
	}
	return st, nil
}

// runBudget is how long RunDue keeps starting attempts.
func (o *Outbox) runBudget() time.Duration {
	if o.RunBudget > 0 {
		return o.RunBudget
	}
	return 40 * time.Second
}

// concurrency is how many attempts RunDue makes at once: one when posts
// are paced (Teams), a few otherwise.
func (o *Outbox) concurrency() int {
	if o.MinInterval > 0 {
		return 1
	}
	return 4
}

// digest leases the held alerts, posts one card listing them and records
// the outcome on each listed alert.
func (o *Outbox) digest(ctx context.Context, held []baseline.Alert) int {
	if o.pace(ctx, time.Time{}) != nil { // before the leases, as for a card
		return 0
	}
	now := o.now()
	token := rand.Text()
	var (
		leased []baseline.Alert
		envs   []alert.Envelope
	)
	for _, a := range held[:min(len(held), alert.MaxDigestAlerts)] {
		l, ok, err := o.Store.AcquireLease(ctx, a, now, o.lease(), token)
		if err != nil || !ok {
			continue
		}
		var env alert.Envelope
		if err := json.Unmarshal(l.Payload, &env); err != nil {
			l.State, l.LastError = baseline.AlertFailed, "stored payload unreadable: "+err.Error()
			_, _ = o.record(ctx, l)
			continue
		}
		leased, envs = append(leased, l), append(envs, env)
	}
	if len(leased) == 0 {
		return 0
	}
	attemptAt := o.now()
	res, listed := o.Digest.SendDigest(ctx, envs, o.MaxPerHour, attemptAt)
	o.hit(FailAfterPost)
	digestID := "digest_" + rand.Text()
	log := o.Logger.With("digestId", digestID)
	if !res.Delivered && !res.Retry {
		// A refused digest says nothing about the alerts it listed (a card
		// Teams would not take, say): retry them on their schedule rather
		// than fail 25 alerts at once.
		res.Retry = true
	}
	for i, l := range leased {
		if i < listed {
			o.outcome(log.With("alertId", l.ID), &l, res, attemptAt)
			if res.Delivered {
				l.Digest = digestID
			}
		}
		if _, err := o.record(ctx, l); err != nil {
			log.Warn("digest outcome not recorded", "alertId", l.ID, "err", err)
		}
	}
	if res.Delivered {
		log.Info("flood guard: digest delivered", "alerts", listed)
		return listed
	}
	return 0
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Outbox) rand() float64 {
	if o.Rand != nil {
		return o.Rand()
	}
	return mathrand.Float64()
}

func (o *Outbox) lease() time.Duration {
	if o.Lease > 0 {
		return o.Lease
	}
	return 2 * time.Minute
}

func (o *Outbox) batchSize() int {
	if o.BatchSize > 0 {
		return o.BatchSize
	}
	return 100
}

func (o *Outbox) hit(name string) {
	if o.Failpoint != nil {
		o.Failpoint(name)
	}
}
