package baseline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/tenantwatch/tenantwatch/internal/detect"
)

// Pair is the stored state of one (user, resource tenant) pair.
type Pair struct {
	User           string
	ResourceTenant string
	State          detect.PairState
	// HomeTenant is informational: it helps people reading the table.
	HomeTenant string
	// Exists says whether the row was found (GetPair) and so whether
	// SavePair inserts or updates.
	Exists bool
	// ETag is the version read; SavePair updates only that version.
	ETag azcore.ETag
}

// MaxCountTenants caps CountTenants' scan of a user's partition.
const MaxCountTenants = 1000

// GetPair reads a pair. A missing row is not an error: Exists is false.
func (s *Store) GetPair(ctx context.Context, user, resourceTenant string) (Pair, error) {
	p := Pair{User: user, ResourceTenant: resourceTenant}
	pk, rk, err := pairKeys(user, resourceTenant)
	if err != nil {
		return p, fmt.Errorf("baseline: get pair: %w", err)
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return p, err
	}
	defer cancel()
	resp, err := s.baseline.GetEntity(ctx, pk, rk, nil)
	if isNotFound(err) {
		return p, nil
	}
	if err != nil {
		return p, s.fail("get pair", err, false)
	}
	r, err := parseRow(resp.Value)
	if err == nil {
		err = p.decode(r)
	}
	if err != nil {
		return p, fmt.Errorf("baseline: get pair: %w", err)
	}
	p.Exists, p.ETag = true, resp.ETag
	return p, nil
}

func (p *Pair) decode(r row) error {
	var errs []error
	var err error
	p.State.EpisodeID, err = r.requiredTime("EpisodeID")
	errs = append(errs, err)
	p.State.EpisodeStart, err = r.requiredTime("EpisodeStart")
	errs = append(errs, err)
	p.State.LastSeen, err = r.requiredTime("LastSeen")
	errs = append(errs, err)
	p.HomeTenant, err = r.str("HomeTenant")
	errs = append(errs, err)
	return errors.Join(errs...)
}

func (p Pair) entity() ([]byte, error) {
	pk, rk, err := pairKeys(p.User, p.ResourceTenant)
	if err != nil {
		return nil, err
	}
	st := p.State
	if st.EpisodeID.IsZero() || st.EpisodeStart.IsZero() || st.LastSeen.IsZero() {
		return nil, fmt.Errorf("%w: pair state has a zero time", ErrInvalidValue)
	}
	e := newEntity(pk, rk)
	err = errors.Join(
		e.setTime("EpisodeID", st.EpisodeID),
		e.setTime("EpisodeStart", st.EpisodeStart),
		e.setTime("LastSeen", st.LastSeen),
		e.setString("HomeTenant", p.HomeTenant),
	)
	if err != nil {
		return nil, err
	}
	return e.marshal()
}

// SavePair writes p.State: an insert when !p.Exists, else a replace of
// exactly the version p.ETag. It returns the new ETag. ErrConflict means
// another writer got there first (the row was inserted, changed or deleted
// since p was read): re-read and decide again.
//
// azcore retries a POST after a 5xx or a timeout, so an insert whose first
// attempt committed can come back as 409 on the retry: SavePair then
// reports ErrConflict although the row is ours. For pairs that is harmless:
// the caller re-reads, finds its own state and decides again.
func (s *Store) SavePair(ctx context.Context, p Pair) (azcore.ETag, error) {
	body, err := p.entity()
	if err != nil {
		return "", fmt.Errorf("baseline: save pair: %w", err)
	}
	if p.Exists && p.ETag == "" {
		return "", errors.New("baseline: save pair: existing pair without an ETag")
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return "", err
	}
	defer cancel()
	if !p.Exists {
		resp, err := s.baseline.AddEntity(ctx, body, nil)
		if err != nil {
			return "", s.fail("insert pair", err, hasCode(err, aztables.EntityAlreadyExists))
		}
		return resp.ETag, nil
	}
	etag := p.ETag
	resp, err := s.baseline.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{
		UpdateMode: aztables.UpdateModeReplace,
		IfMatch:    &etag,
	})
	if err != nil {
		return "", s.fail("update pair", err, conflictOnUpdate(err))
	}
	return resp.ETag, nil
}

// CountTenants counts the pair rows in the user's partition, that is the
// other tenants the user is known in, up to MaxCountTenants (a result of
// MaxCountTenants means "at least").
func (s *Store) CountTenants(ctx context.Context, user string) (int, error) {
	pk, err := EncodeKey(user)
	if err != nil {
		return 0, fmt.Errorf("baseline: count tenants: user: %w", err)
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	filter := "PartitionKey eq " + quote(pk)
	sel := "RowKey"
	top := int32(MaxCountTenants)
	pager := s.baseline.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel, Top: &top})
	n := 0
	for pager.More() && n < MaxCountTenants {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return 0, s.fail("count tenants", err, false)
		}
		n += len(page.Entities)
	}
	return min(n, MaxCountTenants), nil
}

// quote renders s as an OData string literal.
func quote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			b = append(b, '\'')
		}
		b = append(b, s[i])
	}
	return string(append(b, '\''))
}

// LearningStart returns the earliest event time of any eligible sighting
// the store has seen; ok is false before the first one.
func (s *Store) LearningStart(ctx context.Context) (t time.Time, ok bool, err error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	defer cancel()
	t, _, ok, err = s.readLearningStart(ctx)
	return t, ok, err
}

func (s *Store) readLearningStart(ctx context.Context) (time.Time, azcore.ETag, bool, error) {
	resp, err := s.baseline.GetEntity(ctx, metaPartition, learningStartRow, nil)
	if isNotFound(err) {
		return time.Time{}, "", false, nil
	}
	if err != nil {
		return time.Time{}, "", false, s.fail("get learning start", err, false)
	}
	r, err := parseRow(resp.Value)
	var t time.Time
	if err == nil {
		t, err = r.requiredTime("LearningStart")
	}
	if err != nil {
		return time.Time{}, "", false, fmt.Errorf("baseline: get learning start: %w", err)
	}
	return t, resp.ETag, true, nil
}

// maxLearningAttempts bounds MoveLearningStartBack's read-modify-write
// loop; every lost race means another writer moved the value, so a handful
// of rounds settles even a busy start.
const maxLearningAttempts = 10

// MoveLearningStartBack makes the learning start t if t is earlier than the
// stored value (or nothing is stored), and returns the resulting value. The
// value only ever moves back.
func (s *Store) MoveLearningStartBack(ctx context.Context, t time.Time) (time.Time, error) {
	e := newEntity(metaPartition, learningStartRow)
	if t.IsZero() {
		return time.Time{}, fmt.Errorf("baseline: move learning start: %w: zero time", ErrInvalidValue)
	}
	if err := e.setTime("LearningStart", t); err != nil {
		return time.Time{}, fmt.Errorf("baseline: move learning start: %w", err)
	}
	body, err := e.marshal()
	if err != nil {
		return time.Time{}, fmt.Errorf("baseline: move learning start: %w", err)
	}
	// Compare at the precision stored.
	t = t.UTC().Truncate(100 * time.Nanosecond)

	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer cancel()
	var lastErr error
	for range maxLearningAttempts {
		cur, etag, ok, err := s.readLearningStart(ctx)
		if err != nil {
			return time.Time{}, err
		}
		if ok && !t.Before(cur) {
			return cur, nil
		}
		if !ok {
			_, err = s.baseline.AddEntity(ctx, body, nil)
			if err == nil {
				return t, nil
			}
			if !hasCode(err, aztables.EntityAlreadyExists) {
				return time.Time{}, s.fail("insert learning start", err, false)
			}
		} else {
			_, err = s.baseline.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{
				UpdateMode: aztables.UpdateModeReplace,
				IfMatch:    &etag,
			})
			if err == nil {
				return t, nil
			}
			if !conflictOnUpdate(err) {
				return time.Time{}, s.fail("update learning start", err, false)
			}
		}
		lastErr = err
	}
	return time.Time{}, s.fail(fmt.Sprintf("move learning start: still conflicting after %d attempts", maxLearningAttempts), lastErr, true)
}
