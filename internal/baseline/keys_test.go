package baseline

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEncodeKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice@contoso.com", "alice@contoso.com"},
		{"alice_contoso.com#EXT#@fabrikam.onmicrosoft.com", "alice_contoso.com~23EXT~23@fabrikam.onmicrosoft.com"},
		{"0b5e8c38-2f4e-4d43-9a52-6c1a0e9d7f11", "0b5e8c38-2f4e-4d43-9a52-6c1a0e9d7f11"},
		{"a/b\\c?d#e", "a~2Fb~5Cc~3Fd~23e"},
		{"%", "~25"},
		{"%25", "~2525"},
		{"~", "~7E"},
		{"!", "~21"},
		{"'", "~27"},
		{"+ ", "~2B~20"},
		{"é", "~C3~A9"},
		{"\x00\x1f\x7f", "~00~1F~7F"},
		{"\u0085", "~C2~85"},
		{"\xff", "~FF"},
	} {
		got, err := EncodeKey(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("EncodeKey(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		back, err := DecodeKey(got)
		if err != nil || back != tc.in {
			t.Errorf("DecodeKey(%q) = %q, %v; want %q", got, back, err, tc.in)
		}
	}
}

func TestEncodeKeyLimits(t *testing.T) {
	if _, err := EncodeKey(""); !errors.Is(err, ErrEmptyKey) || !ContentError(err) {
		t.Errorf("EncodeKey(\"\") = %v; want ErrEmptyKey, a ContentError", err)
	}
	at := strings.Repeat("a", MaxKeyLen)
	if k, err := EncodeKey(at); err != nil || len(k) != MaxKeyLen {
		t.Errorf("EncodeKey(%d ASCII bytes) = %d bytes, %v", MaxKeyLen, len(k), err)
	}
	for _, over := range []string{
		at + "a",
		strings.Repeat("#", MaxKeyLen/3+1), // 171 escapes = 513 bytes
		strings.Repeat("é", MaxKeyLen/6+1), // 86 × 6 = 516 bytes
	} {
		_, err := EncodeKey(over)
		if !errors.Is(err, ErrKeyTooLong) || !ContentError(err) || Transient(err) {
			t.Errorf("EncodeKey(%d bytes) = %v; want ErrKeyTooLong, a ContentError", len(over), err)
		}
	}
	if k, err := EncodeKey(strings.Repeat("#", MaxKeyLen/3)); err != nil || len(k) != MaxKeyLen-2 {
		t.Errorf("170 escapes: %d bytes, %v", len(k), err)
	}
}

func TestDecodeKeyRejects(t *testing.T) {
	for _, k := range []string{
		"", "~", "~2", "~zz", "~2f", "~41" /* 'A' needs no escape */, "a b", "a#b", "a%23b", "!meta",
		"a\x00", "é", "~7e",
	} {
		if got, err := DecodeKey(k); err == nil {
			t.Errorf("DecodeKey(%q) = %q; want an error", k, got)
		}
	}
}

// Reserved keys and separators can never be produced by EncodeKey.
func TestReservedKeysNeverCollide(t *testing.T) {
	for _, k := range []string{metaPartition, learningStartRow + alertKeySep} {
		if _, err := DecodeKey(k); err == nil {
			t.Errorf("DecodeKey(%q) succeeded: reserved key is a possible encoding", k)
		}
	}
	for c := 0; c < 256; c++ {
		k, err := EncodeKey(string([]byte{byte(c)}))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(k, alertKeySep) {
			t.Errorf("EncodeKey(%#02x) = %q contains the separator %q", c, k, alertKeySep)
		}
	}
}

func TestAlertKeys(t *testing.T) {
	ep := time.Date(2025, 1, 1, 11, 59, 57, 987654300, time.UTC)
	pk, rk, err := alertKeys("bob#x@y.com", "tenant/1", ep)
	if err != nil {
		t.Fatal(err)
	}
	if pk != "bob~23x@y.com" || rk != "tenant~2F1!2025-01-01T11:59:57.9876543Z" {
		t.Errorf("alertKeys = %q, %q", pk, rk)
	}
	u, rt, gotEp, err := parseAlertKeys(pk, rk)
	if err != nil || u != "bob#x@y.com" || rt != "tenant/1" || !gotEp.Equal(ep) {
		t.Errorf("parseAlertKeys = %q %q %v %v", u, rt, gotEp, err)
	}

	// The alert RowKey adds 29 bytes to the tenant's encoding.
	room := MaxKeyLen - len(alertKeySep) - len(timeLayout)
	if _, _, err := alertKeys("u", strings.Repeat("t", room), ep); err != nil {
		t.Errorf("tenant of %d bytes: %v", room, err)
	}
	if _, _, err := alertKeys("u", strings.Repeat("t", room+1), ep); !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("tenant of %d bytes: %v; want ErrKeyTooLong", room+1, err)
	}
	if _, _, err := alertKeys("u", "t", time.Time{}); !ContentError(err) {
		t.Errorf("zero episode: %v; want a ContentError", err)
	}
}

func FuzzKeyRoundTrip(f *testing.F) {
	for _, s := range []string{"alice_contoso.com#EXT#@fabrikam.onmicrosoft.com", "%25", "~7E", "'", "😀", "\xff\xfe", "a b+c", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := EncodeKey(s)
		if s == "" {
			if !errors.Is(err, ErrEmptyKey) {
				t.Fatalf("EncodeKey(\"\") = %q, %v", k, err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ErrKeyTooLong) || len(s) <= MaxKeyLen/3 {
				t.Fatalf("EncodeKey(%q): %v", s, err)
			}
			return
		}
		if len(k) > MaxKeyLen || !utf8.ValidString(k) {
			t.Fatalf("EncodeKey(%q) = %q: too long or not UTF-8", s, k)
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if c < 0x21 || c > 0x7e || strings.IndexByte("/\\#?%'!+ ", c) >= 0 {
				t.Fatalf("EncodeKey(%q) = %q holds forbidden byte %#02x", s, k, c)
			}
		}
		back, err := DecodeKey(k)
		if err != nil || back != s {
			t.Fatalf("DecodeKey(EncodeKey(%q)) = %q, %v", s, back, err)
		}
	})
}

func FuzzDecodeKey(f *testing.F) {
	for _, s := range []string{"a~23b", "~", "~2", "~ZZ", "~41", "!meta", "abc", "~FF~00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, k string) {
		s, err := DecodeKey(k)
		if err != nil {
			return
		}
		// Decoding accepts only canonical encodings: one key per string.
		back, err := EncodeKey(s)
		if err != nil && !errors.Is(err, ErrKeyTooLong) {
			t.Fatalf("EncodeKey(DecodeKey(%q)): %v", k, err)
		}
		if err == nil && back != k {
			t.Fatalf("EncodeKey(DecodeKey(%q)) = %q", k, back)
		}
	})
}
