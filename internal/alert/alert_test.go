package alert_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
)

func TestIDIsStable(t *testing.T) {
	// These ids are persisted and sent as webhook-id: if this test fails,
	// the encoding changed and every stored alert would be renamed. The
	// values were cross-checked with an independent implementation of the
	// documented encoding.
	tests := []struct {
		user, tenant string
		episode      time.Time
		want         string
	}{
		{"alice@contoso.com", "9188040d-6c67-4c5b-b112-36a304b66dad", time.Date(2026, 3, 14, 9, 26, 53, 589793200, time.UTC), "ctsi_bd71246c738b4720271b9403ba888b63"},
		{"alice_contoso.com#ext#@fabrikam.onmicrosoft.com", "contoso.onmicrosoft.com", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "ctsi_fa43620ec8d56bf8515619c40ba4004a"},
		{"", "", time.Time{}, "ctsi_74cbf0c0cd6ba21e768e51e50197b41f"},
	}
	for _, tt := range tests {
		if got := alert.ID(tt.user, tt.tenant, tt.episode); got != tt.want {
			t.Errorf("ID(%q, %q, %v) = %q; want %q", tt.user, tt.tenant, tt.episode, got, tt.want)
		}
	}
}

func TestIDEncodingIsDocumented(t *testing.T) {
	// Recompute the id from the documented encoding, so that another
	// implementation (a receiver, a query) can derive it too.
	ep := time.Date(2026, 3, 14, 10, 26, 53, 589793250, time.FixedZone("CET", 3600))
	input := "17:alice@contoso.com,36:9188040d-6c67-4c5b-b112-36a304b66dad,28:2026-03-14T09:26:53.5897932Z,"
	sum := sha256.Sum256([]byte(input))
	want := "ctsi_" + hex.EncodeToString(sum[:])[:32]
	if got := alert.ID("alice@contoso.com", "9188040d-6c67-4c5b-b112-36a304b66dad", ep); got != want {
		t.Errorf("ID = %q; want %q (sha256 of %q)", got, want, input)
	}
}

func TestIDDiffersWhenAnyPartDiffers(t *testing.T) {
	base := alert.ID("alice@contoso.com", "tenant-a", episode)
	tests := []struct {
		name         string
		user, tenant string
		episode      time.Time
	}{
		{"user", "bob@contoso.com", "tenant-a", episode},
		{"tenant", "alice@contoso.com", "tenant-b", episode},
		{"episode by 100ns", "alice@contoso.com", "tenant-a", episode.Add(100 * time.Nanosecond)},
		{"parts swapped", "tenant-a", "alice@contoso.com", episode},
		{"boundary moved", "alice@contoso.comt", "enant-a", episode},
		{"separator inside a part", "alice@contoso.com,8:tenant-a", "", episode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alert.ID(tt.user, tt.tenant, tt.episode); got == base {
				t.Errorf("ID(%q, %q, %v) = %q, the same as the base alert", tt.user, tt.tenant, tt.episode, got)
			}
		})
	}
	if a, b := alert.ID("ab", "c", episode), alert.ID("a", "bc", episode); a == b {
		t.Errorf(`ID("ab","c") = ID("a","bc") = %q; want different ids`, a)
	}
}

func TestIDIgnoresZoneAndSubTickPrecision(t *testing.T) {
	// The episode id is an instant at Entra's 100 ns resolution: the same
	// instant in another zone, or with nanoseconds below 100, is the same
	// episode.
	want := alert.ID("u", "t", episode)
	for _, ep := range []time.Time{episode.In(time.FixedZone("X", -7*3600)), episode.Add(99 * time.Nanosecond)} {
		if got := alert.ID("u", "t", ep); got != want {
			t.Errorf("ID(u, t, %v) = %q; want %q", ep, got, want)
		}
	}
}

func TestIDIsAValidWebhookID(t *testing.T) {
	for _, user := range []string{"a.b@c.d", "x", "ünïcödé@例え.jp", strings.Repeat(".", 300)} {
		id := alert.ID(user, "t.e.n.a.n.t", episode)
		if strings.ContainsAny(id, ". \t\n") || !strings.HasPrefix(id, "ctsi_") || len(id) != len("ctsi_")+32 {
			t.Errorf("ID(%q, ...) = %q; want ctsi_ and 32 hex digits, no '.'", user, id)
		}
	}
}

func TestEnvelopeJSON(t *testing.T) {
	d := outboundData()
	d.RiskEventTypes = nil
	env := alert.NewEnvelope(d, raised.In(time.FixedZone("CET", 3600)))
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != alert.EventType {
		t.Errorf("type = %q; want %q", got.Type, alert.EventType)
	}
	if want := "2026-03-14T09:27:01Z"; got.Timestamp != want {
		t.Errorf("timestamp = %q; want %q (UTC)", got.Timestamp, want)
	}
	if r := string(got.Data["riskEventTypes"]); r != "[]" {
		t.Errorf("riskEventTypes = %s; want [] when there are none", r)
	}
	if e, want := string(got.Data["episodeId"]), `"2026-03-14T09:26:53.5897932Z"`; e != want {
		t.Errorf("episodeId = %s; want %s", e, want)
	}
}
