package alert_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
)

func digestEnvs(n int, mod func(*alert.Data)) []alert.Envelope {
	var out []alert.Envelope
	raised := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	for i := range n {
		d := outboundData()
		if i%2 == 1 {
			d = inboundData()
		}
		if mod != nil {
			mod(&d)
		}
		out = append(out, alert.NewEnvelope(d, raised))
	}
	return out
}

func TestTeamsDigestGolden(t *testing.T) {
	body, listed, err := alert.TeamsDigest(digestEnvs(3, nil), 30, alert.CardOptions{})
	if err != nil || listed != 3 {
		t.Fatalf("TeamsDigest = %d, %v", listed, err)
	}
	checkGolden(t, "teams_digest.golden", indent(t, body))
}

func TestTeamsDigestListsWhatFitsAndSaysSo(t *testing.T) {
	huge := func(d *alert.Data) {
		d.UserPrincipalName = strings.Repeat("u", 5000) + "@example.com"
		d.AppDisplayName = "[click me](https://evil.example) " + strings.Repeat("a", 5000)
	}
	tests := []struct {
		name      string
		envs      []alert.Envelope
		maxBytes  int
		maxListed int
	}{
		{"at most MaxDigestAlerts per card", digestEnvs(60, nil), 0, alert.MaxDigestAlerts},
		{"huge values are cut and the card fits", digestEnvs(40, huge), 0, alert.MaxDigestAlerts},
		{"a small limit lists fewer", digestEnvs(10, nil), 3000, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, listed, err := alert.TeamsDigest(tt.envs, 30, alert.CardOptions{MaxBytes: tt.maxBytes})
			if err != nil {
				t.Fatal(err)
			}
			limit := tt.maxBytes
			if limit == 0 {
				limit = alert.DefaultCardMaxBytes
			}
			if len(body) > limit || listed < 1 || listed > tt.maxListed || !json.Valid(body) {
				t.Fatalf("%d bytes, %d listed", len(body), listed)
			}
			if listed < len(tt.envs) && !strings.Contains(string(body), "more follow in the next digest") {
				t.Error("the card does not say more alerts follow")
			}
			if strings.Contains(string(body), `"TextBlock","text":"[click me]`) {
				t.Error("an app name reached a Markdown-parsed TextBlock")
			}
		})
	}
}
