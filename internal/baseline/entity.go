package baseline

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// timeLayout formats Edm.DateTime values: UTC, exactly seven fractional
// digits (the service's 100 ns resolution), so values sort as text.
const timeLayout = "2006-01-02T15:04:05.0000000Z"

// minTime is the smallest Edm.DateTime the service accepts; it stands for
// the zero time.Time.
var minTime = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

const minTimeText = "1601-01-01T00:00:00.0000000Z"

var (
	// ErrInvalidValue reports a value the store cannot write (a time out
	// of range, a string that is not UTF-8, a payload too large). It is a
	// ContentError.
	ErrInvalidValue = errors.New("invalid value")
	// ErrCorrupt reports a stored row the store cannot read (edited by hand,
	// or written by an incompatible version). It is a ContentError: retrying
	// cannot fix it.
	ErrCorrupt = errors.New("unreadable row")
)

// formatTime renders t as an Edm.DateTime value. The zero time becomes
// minTimeText; other times must be after it and before year 10000.
func formatTime(t time.Time) (string, error) {
	if t.IsZero() {
		return minTimeText, nil
	}
	t = t.UTC()
	if !t.After(minTime) || t.Year() > 9999 {
		return "", fmt.Errorf("%w: time %s outside 1601..9999", ErrInvalidValue, t.Format(time.RFC3339))
	}
	return t.Format(timeLayout), nil
}

// entity is a row being written: property name to value, with type
// annotations added by the setters. Plain JSON numbers would be read by
// the service as Edm.Int32 or Edm.Double, so every non-string property
// carries an explicit @odata.type.
type entity map[string]any

func newEntity(pk, rk string) entity {
	return entity{"PartitionKey": pk, "RowKey": rk}
}

// setString stores a string property; invalid UTF-8 would be silently
// replaced by the JSON encoder, so it is refused.
func (e entity) setString(name, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidValue, name)
	}
	e[name] = v
	return nil
}

func (e entity) setTime(name string, t time.Time) error {
	s, err := formatTime(t)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	e[name] = s
	e[name+"@odata.type"] = "Edm.DateTime"
	return nil
}

func (e entity) setInt32(name string, v int) error {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return fmt.Errorf("%w: %s=%d out of Int32 range", ErrInvalidValue, name, v)
	}
	e[name] = int32(v)
	e[name+"@odata.type"] = "Edm.Int32"
	return nil
}

// setBinary stores b as Edm.Binary: base64 in the JSON body.
func (e entity) setBinary(name string, b []byte) {
	e[name] = base64.StdEncoding.EncodeToString(b)
	e[name+"@odata.type"] = "Edm.Binary"
}

func (e entity) marshal() ([]byte, error) {
	return json.Marshal(map[string]any(e))
}

// row is a row read back from the service.
type row map[string]any

func parseRow(b []byte) (row, error) {
	var r row
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return r, nil
}

func (r row) keys() (pk, rk string, err error) {
	pk, ok1 := r["PartitionKey"].(string)
	rk, ok2 := r["RowKey"].(string)
	if !ok1 || !ok2 {
		return "", "", fmt.Errorf("%w: keys missing", ErrCorrupt)
	}
	return pk, rk, nil
}

// str returns a string property; a missing one reads as "".
func (r row) str(name string) (string, error) {
	v, ok := r[name]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: %s is %T, want string", ErrCorrupt, name, v)
	}
	return s, nil
}

// time returns a time property; a missing one or minTime reads as zero.
func (r row) time(name string) (time.Time, error) {
	s, err := r.str(name)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	t = t.UTC()
	if !t.After(minTime) {
		return time.Time{}, nil
	}
	return t, nil
}

// binary returns a required Edm.Binary property.
func (r row) binary(name string) ([]byte, error) {
	s, ok := r[name].(string)
	if !ok {
		return nil, fmt.Errorf("%w: %s missing", ErrCorrupt, name)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	return b, nil
}

// requiredTime is time for a property that must be present and non-zero.
func (r row) requiredTime(name string) (time.Time, error) {
	t, err := r.time(name)
	if err == nil && t.IsZero() {
		err = fmt.Errorf("%w: %s missing", ErrCorrupt, name)
	}
	return t, err
}

// int returns an Int32 (a JSON number) or Int64 (a string) property; a
// missing one reads as 0.
func (r row) int(name string) (int, error) {
	switch v := r[name].(type) {
	case nil:
		return 0, nil
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > math.MaxInt32 {
			return 0, fmt.Errorf("%w: %s=%v is not an Int32", ErrCorrupt, name, v)
		}
		return int(v), nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
		}
		return int(n), nil
	default:
		return 0, fmt.Errorf("%w: %s is %T, want a number", ErrCorrupt, name, v)
	}
}
