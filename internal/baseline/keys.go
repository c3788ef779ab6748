package baseline

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Key encoding.
//
// Table keys appear in request URLs (Table(PartitionKey='..',RowKey='..')),
// and the service forbids / \ # ? and control characters in them. Worse,
// the public service has been documented to decode the key path segment
// twice, so a key holding '%' breaks point operations (404/400) even when
// the client escapes it correctly. The encoding therefore keeps only
// characters that mean nothing in a URL, an OData literal or to a second
// decode, and writes every other byte as '~' followed by two upper-case hex
// digits:
//
//	kept:     A-Z a-z 0-9 - . _ @
//	escaped:  every other byte, '~' itself, and each byte of a non-ASCII or
//	          invalid UTF-8 sequence (so any byte string round-trips)
//
// An encoded key is ASCII and never holds '!', which the package uses to
// build keys of its own: the reserved "!meta" partition and the separator of
// alert RowKeys. DecodeKey accepts only canonical encodings, so the mapping
// is one-to-one.
//
// Size: the service allows keys "up to 1 KiB" and stores them as UTF-16;
// Azurite refuses keys longer than 512 UTF-16 code units. Encoded keys are
// ASCII (one UTF-16 unit per byte), so the limit used here is 512 bytes of
// encoded key, which is 1 KiB as UTF-16 and fits both readings.

// MaxKeyLen is the longest key stored, in bytes of encoded key (equal to its
// UTF-16 length, since encoded keys are ASCII).
const MaxKeyLen = 512

const escapeChar = '~'

// Reserved keys. Encoded keys never contain '!'.
const (
	metaPartition    = "!meta"
	learningStartRow = "learningStart"
	alertKeySep      = "!"
)

var (
	// ErrKeyTooLong reports a user or tenant whose encoded key, or an alert
	// RowKey built from it, is longer than MaxKeyLen. It is a ContentError.
	ErrKeyTooLong = errors.New("key too long")
	// ErrEmptyKey reports an empty user or tenant. It is a ContentError.
	ErrEmptyKey = errors.New("empty key")
	// ErrMalformedKey reports a string DecodeKey cannot decode.
	ErrMalformedKey = errors.New("malformed encoded key")
)

const upperHex = "0123456789ABCDEF"

func keepByte(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	case c == '-', c == '.', c == '_', c == '@':
		return true
	}
	return false
}

// EncodeKey encodes s for use as a PartitionKey or RowKey. It fails with
// ErrEmptyKey for "" and ErrKeyTooLong when the encoding exceeds MaxKeyLen.
func EncodeKey(s string) (string, error) {
	if s == "" {
		return "", ErrEmptyKey
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if keepByte(s[i]) {
			n++
		} else {
			n += 3
		}
	}
	if n > MaxKeyLen {
		return "", fmt.Errorf("%w: encodes to %d bytes, limit %d", ErrKeyTooLong, n, MaxKeyLen)
	}
	if n == len(s) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keepByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(escapeChar)
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0xF])
	}
	return b.String(), nil
}

// DecodeKey is the inverse of EncodeKey. It accepts only what EncodeKey
// produces: kept characters and upper-case escapes of bytes that are not
// kept.
func DecodeKey(k string) (string, error) {
	if k == "" {
		return "", ErrEmptyKey
	}
	if !strings.ContainsRune(k, escapeChar) {
		for i := 0; i < len(k); i++ {
			if !keepByte(k[i]) {
				return "", fmt.Errorf("%w: unexpected byte %#02x at %d", ErrMalformedKey, k[i], i)
			}
		}
		return k, nil
	}
	b := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case keepByte(c):
			b = append(b, c)
		case c == escapeChar:
			if i+2 >= len(k) {
				return "", fmt.Errorf("%w: truncated escape at %d", ErrMalformedKey, i)
			}
			hi, lo := unhex(k[i+1]), unhex(k[i+2])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("%w: bad escape at %d", ErrMalformedKey, i)
			}
			v := byte(hi<<4 | lo)
			if keepByte(v) {
				return "", fmt.Errorf("%w: needless escape at %d", ErrMalformedKey, i)
			}
			b = append(b, v)
			i += 2
		default:
			return "", fmt.Errorf("%w: unexpected byte %#02x at %d", ErrMalformedKey, c, i)
		}
	}
	return string(b), nil
}

// unhex decodes an upper-case hex digit, or returns -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// pairKeys returns the PartitionKey and RowKey of a pair.
func pairKeys(user, resourceTenant string) (pk, rk string, err error) {
	pk, err = EncodeKey(user)
	if err != nil {
		return "", "", fmt.Errorf("user: %w", err)
	}
	rk, err = EncodeKey(resourceTenant)
	if err != nil {
		return "", "", fmt.Errorf("resource tenant: %w", err)
	}
	return pk, rk, nil
}

// alertKeys returns the PartitionKey and RowKey of an alert row.
func alertKeys(user, resourceTenant string, episodeID time.Time) (pk, rk string, err error) {
	pk, rk, err = pairKeys(user, resourceTenant)
	if err != nil {
		return "", "", err
	}
	ep, err := formatTime(episodeID)
	if err != nil {
		return "", "", fmt.Errorf("episode id: %w", err)
	}
	if episodeID.IsZero() {
		return "", "", fmt.Errorf("episode id: %w: zero time", ErrInvalidValue)
	}
	rk = rk + alertKeySep + ep
	if len(rk) > MaxKeyLen {
		return "", "", fmt.Errorf("alert row key: %w: %d bytes, limit %d", ErrKeyTooLong, len(rk), MaxKeyLen)
	}
	return pk, rk, nil
}

// parseAlertKeys is the inverse of alertKeys.
func parseAlertKeys(pk, rk string) (user, resourceTenant string, episodeID time.Time, err error) {
	user, err = DecodeKey(pk)
	if err != nil {
		return "", "", time.Time{}, err
	}
	i := strings.LastIndex(rk, alertKeySep)
	if i < 0 {
		return "", "", time.Time{}, fmt.Errorf("%w: alert row key without %q", ErrMalformedKey, alertKeySep)
	}
	resourceTenant, err = DecodeKey(rk[:i])
	if err != nil {
		return "", "", time.Time{}, err
	}
	episodeID, err = time.Parse(timeLayout, rk[i+1:])
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("%w: alert row key episode: %v", ErrMalformedKey, err)
	}
	return user, resourceTenant, episodeID, nil
}
