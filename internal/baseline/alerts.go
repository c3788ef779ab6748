package baseline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// AlertState is where an alert is in its delivery.
type AlertState string

// Alert states.
const (
	AlertPending AlertState = "pending" // waiting for a (first or further) attempt
	AlertSent    AlertState = "sent"    // delivered
	AlertFailed  AlertState = "failed"  // retry schedule exhausted
)

func (s AlertState) valid() bool {
	return s == AlertPending || s == AlertSent || s == AlertFailed
}

// Alert is a row of the outbox: at most one per (pair, episode).
type Alert struct {
	// ID is the alert id (the webhook-id), computed by the caller from the
	// pair and episode so every instance and retry names it alike.
	ID             string
	User           string
	ResourceTenant string
	EpisodeID      time.Time

	State         AlertState
	Attempts      int
	NextAttemptAt time.Time
	// LastError describes the last failed attempt. It must never hold a
	// secret; it is cut to MaxLastError bytes.
	LastError  string
	LastStatus int
	// LeaseUntil and LeaseToken: who may attempt delivery, until when.
	LeaseUntil time.Time
	LeaseToken string
	// ClaimToken identifies the writer that claimed the alert; ClaimAlert
	// fills in a random one when empty.
	ClaimToken string
	CreatedAt  time.Time
	SentAt     time.Time
	// Payload is the envelope to deliver, at most MaxPayload bytes; stored
	// byte for byte.
	Payload []byte
	// Digest is the id of a digest that covered this alert, if any.
	Digest string

	ETag azcore.ETag
}

// Limits on alert contents.
const (
	// MaxLastError is the longest LastError stored, in bytes.
	MaxLastError = 1024
	// payloadChunk is the size of one Payload<i> property in bytes. The
	// payload is stored as Edm.Binary (base64 on the wire), not as a
	// string: Azurite 3.37 measurably corrupts a multi-byte UTF-8
	// character that straddles the 64 KiB mark of a request body, and
	// binary is exact for any bytes. Binary properties may hold 64 KiB;
	// stay a little under.
	payloadChunk = 60 << 10
	// maxPayloadChunks keeps an alert well under the 1 MiB entity limit.
	maxPayloadChunks = 12
	// MaxPayload is the largest payload, in bytes (720 KiB).
	MaxPayload = payloadChunk * maxPayloadChunks
)

// NewToken returns a random token for ClaimToken or LeaseToken.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

func (a Alert) entity() ([]byte, error) {
	pk, rk, err := alertKeys(a.User, a.ResourceTenant, a.EpisodeID)
	if err != nil {
		return nil, err
	}
	if !a.State.valid() {
		return nil, fmt.Errorf("%w: alert state %q", ErrInvalidValue, a.State)
	}
	if len(a.Payload) > MaxPayload {
		return nil, fmt.Errorf("%w: payload of %d bytes, limit %d", ErrInvalidValue, len(a.Payload), MaxPayload)
	}
	e := newEntity(pk, rk)
	errs := []error{
		e.setString("ID", a.ID),
		e.setString("State", string(a.State)),
		e.setInt32("Attempts", a.Attempts),
		e.setTime("NextAttemptAt", a.NextAttemptAt),
		e.setString("LastError", a.LastError),
		e.setInt32("LastStatus", a.LastStatus),
		e.setTime("LeaseUntil", a.LeaseUntil),
		e.setString("LeaseToken", a.LeaseToken),
		e.setString("ClaimToken", a.ClaimToken),
		e.setTime("CreatedAt", a.CreatedAt),
		e.setTime("SentAt", a.SentAt),
		e.setString("Digest", a.Digest),
	}
	chunks := 0
	for p := a.Payload; len(p) > 0; chunks++ {
		n := min(len(p), payloadChunk)
		e.setBinary("Payload"+strconv.Itoa(chunks), p[:n])
		p = p[n:]
	}
	errs = append(errs, e.setInt32("PayloadChunks", chunks))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e.marshal()
}

// normalize returns a as it reads back once stored: times in UTC at the
// service's 100 ns resolution, LastError valid UTF-8 and cut to size.
func (a Alert) normalize() Alert {
	for _, t := range []*time.Time{&a.EpisodeID, &a.NextAttemptAt, &a.LeaseUntil, &a.CreatedAt, &a.SentAt} {
		if !t.IsZero() {
			*t = t.UTC().Truncate(100 * time.Nanosecond)
		}
	}
	a.LastError = truncateUTF8(strings.ToValidUTF8(a.LastError, "\uFFFD"), MaxLastError)
	return a
}

func decodeAlert(b []byte, etag azcore.ETag) (Alert, error) {
	r, err := parseRow(b)
	if err != nil {
		return Alert{}, err
	}
	return decodeAlertRow(r, etag)
}

func decodeAlertRow(r row, etag azcore.ETag) (Alert, error) {
	pk, rk, err := r.keys()
	if err != nil {
		return Alert{}, err
	}
	var a Alert
	a.User, a.ResourceTenant, a.EpisodeID, err = parseAlertKeys(pk, rk)
	if err != nil {
		return Alert{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	var state string
	var chunks int
	errs := []error{}
	get := func(dst *string, name string) {
		v, err := r.str(name)
		*dst = v
		errs = append(errs, err)
	}
	getTime := func(dst *time.Time, name string) {
		v, err := r.time(name)
		*dst = v
		errs = append(errs, err)
	}
	getInt := func(dst *int, name string) {
		v, err := r.int(name)
		*dst = v
		errs = append(errs, err)
	}
	get(&a.ID, "ID")
	get(&state, "State")
	getInt(&a.Attempts, "Attempts")
	getTime(&a.NextAttemptAt, "NextAttemptAt")
	get(&a.LastError, "LastError")
	getInt(&a.LastStatus, "LastStatus")
	getTime(&a.LeaseUntil, "LeaseUntil")
	get(&a.LeaseToken, "LeaseToken")
	get(&a.ClaimToken, "ClaimToken")
	getTime(&a.CreatedAt, "CreatedAt")
	getTime(&a.SentAt, "SentAt")
	get(&a.Digest, "Digest")
	getInt(&chunks, "PayloadChunks")
	if err := errors.Join(errs...); err != nil {
		return Alert{}, err
	}
	a.State = AlertState(state)
	if !a.State.valid() {
		return Alert{}, fmt.Errorf("%w: alert state %q", ErrCorrupt, state)
	}
	if chunks < 0 || chunks > maxPayloadChunks {
		return Alert{}, fmt.Errorf("%w: PayloadChunks=%d", ErrCorrupt, chunks)
	}
	for i := range chunks {
		c, err := r.binary("Payload" + strconv.Itoa(i))
		if err != nil {
			return Alert{}, err
		}
		a.Payload = append(a.Payload, c...)
	}
	a.ETag = etag
	return a, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ClaimAlert inserts a as a new outbox row unless the (pair, episode) row
// already exists. claimed is true when the row is this writer's: the
// insert succeeded, or it answered 409 and the stored ClaimToken is
// a.ClaimToken (azcore retried an insert whose first attempt had
// committed). Otherwise claimed is false and stored is the existing row.
// An empty a.ClaimToken is replaced by a random one; an empty State means
// pending.
func (s *Store) ClaimAlert(ctx context.Context, a Alert) (claimed bool, stored Alert, err error) {
	if a.ClaimToken == "" {
		a.ClaimToken = NewToken()
	}
	if a.State == "" {
		a.State = AlertPending
	}
	a = a.normalize()
	body, err := a.entity()
	if err != nil {
		return false, Alert{}, fmt.Errorf("baseline: claim alert: %w", err)
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return false, Alert{}, err
	}
	defer cancel()
	// Two rounds: in the rare case the row is deleted between our 409 and
	// the re-read, the insert is tried once more.
	for range 2 {
		resp, err := s.alerts.AddEntity(ctx, body, nil)
		if err == nil {
			a.ETag = resp.ETag
			return true, a, nil
		}
		if !hasCode(err, aztables.EntityAlreadyExists) {
			return false, Alert{}, s.fail("claim alert", err, false)
		}
		existing, found, err := s.getAlert(ctx, a.User, a.ResourceTenant, a.EpisodeID)
		if err != nil {
			return false, Alert{}, err
		}
		if found {
			mine := existing.ClaimToken == a.ClaimToken
			if mine {
				s.log.DebugContext(ctx, "alert claim confirmed after a retried insert", slog.String("alert", a.ID))
			}
			return mine, existing, nil
		}
	}
	return false, Alert{}, fmt.Errorf("baseline: claim alert: %w: row exists and vanishes in turn", ErrConflict)
}

// GetAlert reads the alert of a (pair, episode); found is false when there
// is none.
func (s *Store) GetAlert(ctx context.Context, user, resourceTenant string, episodeID time.Time) (Alert, bool, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return Alert{}, false, err
	}
	defer cancel()
	return s.getAlert(ctx, user, resourceTenant, episodeID)
}

func (s *Store) getAlert(ctx context.Context, user, resourceTenant string, episodeID time.Time) (Alert, bool, error) {
	pk, rk, err := alertKeys(user, resourceTenant, episodeID)
	if err != nil {
		return Alert{}, false, fmt.Errorf("baseline: get alert: %w", err)
	}
	resp, err := s.alerts.GetEntity(ctx, pk, rk, nil)
	if isNotFound(err) {
		return Alert{}, false, nil
	}
	if err != nil {
		return Alert{}, false, s.fail("get alert", err, false)
	}
	a, err := decodeAlert(resp.Value, resp.ETag)
	if err != nil {
		return Alert{}, false, fmt.Errorf("baseline: get alert: %w", err)
	}
	return a, true, nil
}

// AcquireLease takes the delivery lease of a, as read (a.ETag): it sets
// LeaseUntil to now+d and LeaseToken to token, provided a is pending, its
// lease has expired (LeaseUntil <= now) and the row has not changed since.
// ok is false, with no error, when any of that fails; re-read to know why.
func (s *Store) AcquireLease(ctx context.Context, a Alert, now time.Time, d time.Duration, token string) (Alert, bool, error) {
	if a.State != AlertPending || a.LeaseUntil.After(now) {
		return a, false, nil
	}
	if a.ETag == "" {
		return a, false, errors.New("baseline: acquire lease: alert without an ETag")
	}
	if token == "" || d <= 0 {
		return a, false, errors.New("baseline: acquire lease: empty token or non-positive duration")
	}
	pk, rk, err := alertKeys(a.User, a.ResourceTenant, a.EpisodeID)
	if err != nil {
		return a, false, fmt.Errorf("baseline: acquire lease: %w", err)
	}
	leased := a
	leased.LeaseUntil, leased.LeaseToken = now.Add(d).UTC().Truncate(100*time.Nanosecond), token
	// A merge of the two lease columns, conditional on the version read:
	// the rest of the row is then exactly a's.
	e := newEntity(pk, rk)
	if err := errors.Join(e.setTime("LeaseUntil", leased.LeaseUntil), e.setString("LeaseToken", token)); err != nil {
		return a, false, fmt.Errorf("baseline: acquire lease: %w", err)
	}
	body, err := e.marshal()
	if err != nil {
		return a, false, fmt.Errorf("baseline: acquire lease: %w", err)
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return a, false, err
	}
	defer cancel()
	etag := a.ETag
	resp, err := s.alerts.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{
		UpdateMode: aztables.UpdateModeMerge,
		IfMatch:    &etag,
	})
	if conflictOnUpdate(err) {
		// azcore retries a merge whose answer was lost (5xx, timeout); the
		// retry then fails its condition against our own write. The token
		// tells: a row leased with it is ours.
		cur, found, rerr := s.getAlert(ctx, a.User, a.ResourceTenant, a.EpisodeID)
		if rerr == nil && found && cur.LeaseToken == token && cur.State == AlertPending {
			return cur, true, nil
		}
		return a, false, nil
	}
	if err != nil {
		return a, false, s.fail("acquire lease", err, false)
	}
	leased.ETag = resp.ETag
	return leased, true, nil
}

// UpdateAlert replaces the alert row with a, provided it is still the
// version a.ETag; ErrConflict otherwise (changed or deleted meanwhile). It
// records attempts, the final state and lease releases.
func (s *Store) UpdateAlert(ctx context.Context, a Alert) (Alert, error) {
	if a.ETag == "" {
		return a, errors.New("baseline: update alert: alert without an ETag")
	}
	a = a.normalize()
	body, err := a.entity()
	if err != nil {
		return a, fmt.Errorf("baseline: update alert: %w", err)
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return a, err
	}
	defer cancel()
	etag := a.ETag
	resp, err := s.alerts.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{
		UpdateMode: aztables.UpdateModeReplace,
		IfMatch:    &etag,
	})
	if err != nil {
		return a, s.fail("update alert", err, conflictOnUpdate(err))
	}
	a.ETag = resp.ETag
	return a, nil
}

// DueAlerts returns up to limit (default 100) pending alerts whose
// NextAttemptAt is at or before now and whose lease has expired, from all
// partitions. It scans the alerts table with a filter on State and
// NextAttemptAt (Azure has no secondary index: housekeeping keeps the table
// small); the lease and the exact time are checked here because Azurite
// compares Edm.DateTime at millisecond precision. Rows that cannot be read
// are logged and skipped.
func (s *Store) DueAlerts(ctx context.Context, now time.Time, limit int) ([]Alert, error) {
	if limit <= 0 {
		limit = 100
	}
	nowText, err := formatTime(now)
	if err != nil {
		return nil, fmt.Errorf("baseline: due alerts: %w", err)
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	filter := "State eq " + quote(string(AlertPending)) + " and NextAttemptAt le datetime" + quote(nowText)
	top := int32(min(limit, 1000))
	pager := s.alerts.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: &top})
	var due []Alert
	for pager.More() && len(due) < limit {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, s.fail("due alerts", err, false)
		}
		for _, raw := range page.Entities {
			var a Alert
			r, err := parseRow(raw)
			if err == nil {
				etag, _ := r["odata.etag"].(string)
				a, err = decodeAlertRow(r, azcore.ETag(etag))
			}
			if err != nil {
				s.log.ErrorContext(ctx, "skipping unreadable alert row", slog.Any("error", err))
				continue
			}
			if a.State != AlertPending || a.NextAttemptAt.After(now) || a.LeaseUntil.After(now) {
				continue
			}
			due = append(due, a)
			if len(due) == limit {
				break
			}
		}
	}
	return due, nil
}
