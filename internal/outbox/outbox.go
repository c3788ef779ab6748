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
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/baseline"
)

// Store is the alert storage the outbox needs.
type Store interface {
	DueAlerts(ctx context.Context, now time.Time, limit int) ([]baseline.Alert, error)
	AcquireLease(ctx context.Context, a baseline.Alert, now time.Time, d time.Duration, token string) (baseline.Alert, bool, error)
	UpdateAlert(ctx context.Context, a baseline.Alert) (baseline.Alert, error)
}

// Notifier makes one delivery attempt.
type Notifier interface {
	Send(ctx context.Context, env alert.Envelope, now time.Time) alert.Result
}

// FailAfterPost is hit between a delivery attempt and recording it.
const FailAfterPost = "after-post"

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
	// Failpoint, when set, is called at each named step.
	Failpoint func(name string)
}

// ErrBusy means another delivery holds the alert, or it is no longer pending.
var ErrBusy = errors.New("alert is leased or no longer pending")

// Deliver makes one attempt for a, if it is pending and not leased, and
// records the outcome. It returns nil when the attempt was made and
// recorded, whatever the webhook said.
func (o *Outbox) Deliver(ctx context.Context, a baseline.Alert) error {
	now := o.now()
	leased, ok, err := o.Store.AcquireLease(ctx, a, now, o.lease(), rand.Text())
	if err != nil {
		return fmt.Errorf("lease alert: %w", err)
	}
	if !ok {
		return ErrBusy
	}
	log := o.Logger.With("alertId", leased.ID)

	var env alert.Envelope
	if err := json.Unmarshal(leased.Payload, &env); err != nil {
		leased.State, leased.LastError = baseline.AlertFailed, "stored payload unreadable: "+err.Error()
		log.Error("alert failed: stored payload unreadable", "err", err)
		return o.record(ctx, leased)
	}
	// Delays count from the attempt itself, not from when it was leased.
	attemptAt := o.now()
	res := o.Notifier.Send(ctx, env, attemptAt)
	o.hit(FailAfterPost)

	leased.Attempts++
	leased.LastStatus = res.Status
	switch {
	case res.Delivered:
		leased.State, leased.SentAt, leased.LastError = baseline.AlertSent, o.now(), ""
		log.Info("alert delivered", "attempts", leased.Attempts, "status", res.Status)
	case res.Retry:
		leased.LastError = errText(res.Err)
		next, more := alert.NextAttempt(leased.Attempts, o.Schedule, attemptAt, res.RetryAfter, o.rand())
		if more {
			leased.NextAttemptAt = next
			log.Warn("alert delivery failed; will retry", "attempts", leased.Attempts, "status", res.Status, "nextAttemptAt", next, "err", res.Err)
		} else {
			leased.State = baseline.AlertFailed
			log.Error("alert delivery failed for good: retry schedule exhausted", "attempts", leased.Attempts, "status", res.Status, "err", res.Err)
		}
	default:
		leased.State, leased.LastError = baseline.AlertFailed, errText(res.Err)
		log.Error("alert delivery failed for good: the webhook refused it", "attempts", leased.Attempts, "status", res.Status, "err", res.Err)
	}
	return o.record(ctx, leased)
}

// record stores the outcome and releases the lease. It runs even when the
// caller's context ended: an attempt made must be recorded, or it is
// repeated.
func (o *Outbox) record(ctx context.Context, a baseline.Alert) error {
	a.LeaseUntil, a.LeaseToken = time.Time{}, ""
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := o.Store.UpdateAlert(ctx, a); err != nil {
		return fmt.Errorf("record delivery attempt: %w", err)
	}
	return nil
}

// RunStats counts one RunDue.
type RunStats struct {
	Due, Attempted, Busy, Errors int
}

// RunDue delivers alerts whose next attempt is due. It returns an error only
// when storage could not be read.
func (o *Outbox) RunDue(ctx context.Context) (RunStats, error) {
	due, err := o.Store.DueAlerts(ctx, o.now(), o.batchSize())
	if err != nil {
		return RunStats{}, fmt.Errorf("list due alerts: %w", err)
	}
	st := RunStats{Due: len(due)}
	for _, a := range due {
		if ctx.Err() != nil {
			break
		}
		switch err := o.Deliver(ctx, a); {
		case err == nil:
			st.Attempted++
		case errors.Is(err, ErrBusy):
			st.Busy++
		default:
			st.Errors++
			o.Logger.Warn("outbox delivery not recorded", "alertId", a.ID, "err", err)
		}
	}
	return st, nil
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
