package alert_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tenantwatch/tenantwatch/internal/alert"
)

func TestTeamsMessageGolden(t *testing.T) {
	tests := []struct {
		golden string
		data   alert.Data
	}{
		{"teams_outbound.golden", outboundData()},
		{"teams_inbound.golden", inboundData()},
		{"teams_test_alert.golden", testAlertData()},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			b, err := alert.TeamsMessage(alert.NewEnvelope(tt.data, raised), alert.CardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, indent(t, b))
		})
	}
}

// card is the part of a Teams message the tests look into.
type card struct {
	Type        string `json:"type"`
	Summary     string `json:"summary"`
	Attachments []struct {
		ContentType string          `json:"contentType"`
		ContentURL  json.RawMessage `json:"contentUrl"`
		Content     struct {
			Type         string `json:"type"`
			Version      string `json:"version"`
			FallbackText string `json:"fallbackText"`
			MSTeams      struct {
				Width string `json:"width"`
			} `json:"msteams"`
			Body    []any `json:"body"`
			Actions []struct {
				Type  string `json:"type"`
				Title string `json:"title"`
				URL   string `json:"url"`
			} `json:"actions"`
		} `json:"content"`
	}
}

func decodeCard(t *testing.T, b []byte) card {
	t.Helper()
	var c card
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("TeamsMessage gave invalid JSON: %v\n%s", err, b)
	}
	if len(c.Attachments) != 1 {
		t.Fatalf("message has %d attachments; want 1", len(c.Attachments))
	}
	return c
}

// elements returns every object with a "type" in the card body, by type.
func elements(c card) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if typ, ok := v["type"].(string); ok {
				out[typ] = append(out[typ], v)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(c.Attachments[0].Content.Body)
	return out
}

// runs returns the texts of all TextRuns, which hold the alert's values.
func runs(c card) []string {
	var out []string
	for _, r := range elements(c)["TextRun"] {
		out = append(out, r["text"].(string))
	}
	return out
}

func TestTeamsMessageShape(t *testing.T) {
	for _, d := range []alert.Data{outboundData(), inboundData(), testAlertData()} {
		b, err := alert.TeamsMessage(alert.NewEnvelope(d, raised), alert.CardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := decodeCard(t, b)
		a := c.Attachments[0]
		if c.Type != "message" || a.ContentType != "application/vnd.microsoft.card.adaptive" || string(a.ContentURL) != "null" {
			t.Errorf("message type %q, contentType %q, contentUrl %s; want message, the Adaptive Card type, null", c.Type, a.ContentType, a.ContentURL)
		}
		if a.Content.Type != "AdaptiveCard" || a.Content.MSTeams.Width != "Full" {
			t.Errorf("content type %q, msteams.width %q; want AdaptiveCard, Full", a.Content.Type, a.Content.MSTeams.Width)
		}
		if v, err := strconv.ParseFloat(a.Content.Version, 64); err != nil || v > 1.5 {
			t.Errorf("card version %q; want at most 1.5 (Teams)", a.Content.Version)
		}
		if !strings.Contains(c.Summary, d.UserPrincipalName) || c.Summary != a.Content.FallbackText {
			t.Errorf("summary %q, fallbackText %q; want both naming the user", c.Summary, a.Content.FallbackText)
		}
		if !slices.Contains(runs(c), d.UserPrincipalName) || !slices.ContainsFunc(runs(c), func(s string) bool { return strings.Contains(s, d.OtherTenantID) }) {
			t.Errorf("card values %q; want the user and the other tenant", runs(c))
		}
	}
}

func TestTeamsMessageTitle(t *testing.T) {
	for _, tt := range []struct {
		data alert.Data
		want string
	}{
		{outboundData(), "Risky first-seen cross-tenant sign-in"},
		{testAlertData(), "TEST ALERT — Risky first-seen cross-tenant sign-in"},
	} {
		b, _ := alert.TeamsMessage(alert.NewEnvelope(tt.data, raised), alert.CardOptions{})
		c := decodeCard(t, b)
		if title := elements(c)["TextBlock"][0]["text"]; title != tt.want {
			t.Errorf("title = %q; want %q", title, tt.want)
		}
		if !strings.HasPrefix(c.Summary, tt.want) {
			t.Errorf("summary = %q; want it to start with %q", c.Summary, tt.want)
		}
	}
}

func TestTeamsMessageExplainsDirection(t *testing.T) {
	for _, tt := range []struct {
		data alert.Data
		want string
	}{
		{outboundData(), "your user signed in to another tenant"},
		{inboundData(), "a guest from another tenant signed in to yours"},
	} {
		b, _ := alert.TeamsMessage(alert.NewEnvelope(tt.data, raised), alert.CardOptions{})
		if !strings.Contains(string(b), tt.want) {
			t.Errorf("%s card does not say %q", tt.data.Direction, tt.want)
		}
	}
}

func TestTeamsMessageSignInLogsLink(t *testing.T) {
	tests := []struct {
		userID string
		want   string // "" for no action
	}{
		{"4F0C2E8A-1B3D-4E5F-8A9B-0C1D2E3F4A5B", "https://entra.microsoft.com/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/SignIns/userId/4f0c2e8a-1b3d-4e5f-8a9b-0c1d2e3f4a5b"},
		{"not-a-guid", ""},
		{"", ""},
		{"4f0c2e8a-1b3d-4e5f-8a9b-0c1d2e3f4a5b/../../evil", ""},
		{"{4f0c2e8a-1b3d-4e5f-8a9b-0c1d2e3f4a5b}", ""},
		{"4f0c2e8a_1b3d_4e5f_8a9b_0c1d2e3f4a5b", ""},
	}
	for _, tt := range tests {
		d := outboundData()
		d.UserID = tt.userID
		b, _ := alert.TeamsMessage(alert.NewEnvelope(d, raised), alert.CardOptions{})
		actions := decodeCard(t, b).Attachments[0].Content.Actions
		switch {
		case tt.want == "" && len(actions) != 0:
			t.Errorf("user id %q: actions %+v; want none", tt.userID, actions)
		case tt.want != "" && (len(actions) != 1 || actions[0].Type != "Action.OpenUrl" || actions[0].URL != tt.want):
			t.Errorf("user id %q: actions %+v; want one Action.OpenUrl to %s", tt.userID, actions, tt.want)
		}
	}
}

// hugeData is an alert as large as a hostile tenant or a broken record can
// make it.
func hugeData() alert.Data {
	d := outboundData()
	d.RiskEventTypes = make([]string, 1000)
	for i := range d.RiskEventTypes {
		d.RiskEventTypes[i] = "riskEventType" + strconv.Itoa(i)
	}
	d.AppDisplayName = strings.Repeat("App名", 2500) // 10,000 runes
	d.ResourceDisplayName = strings.Repeat("\"\\", 3000)
	d.UserDisplayName = strings.Repeat("ü", 5000)
	d.Location.City = strings.Repeat("c", 5000)
	return d
}

func TestTeamsMessageFitsMaxBytes(t *testing.T) {
	d := hugeData()
	for _, limit := range []int{0, 20000, 8000, 4000, 2500} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			b, err := alert.TeamsMessage(alert.NewEnvelope(d, raised), alert.CardOptions{MaxBytes: limit})
			if err != nil {
				t.Fatal(err)
			}
			want := cmp.Or(limit, alert.DefaultCardMaxBytes)
			if len(b) > want {
				t.Errorf("message is %d bytes; want at most %d", len(b), want)
			}
			c := decodeCard(t, b)
			vals := runs(c)
			// Who and which tenant survive any cut.
			for _, v := range []string{d.UserPrincipalName, d.OtherTenantName} {
				if !slices.Contains(vals, v) {
					t.Errorf("card values %q; want %q intact", vals, v)
				}
			}
			if !slices.ContainsFunc(vals, func(s string) bool { return strings.Contains(s, d.OtherTenantID) }) {
				t.Errorf("card values %q; want the other tenant's id intact", vals)
			}
			for _, v := range vals {
				if n := utf8.RuneCountInString(v); n > 1100 {
					t.Errorf("a value of %d runes survived; want long values truncated", n)
				}
			}
		})
	}
}

func TestTeamsMessageDropsRiskEventTailFirst(t *testing.T) {
	b, err := alert.TeamsMessage(alert.NewEnvelope(hugeData(), raised), alert.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vals := strings.Join(runs(decodeCard(t, b)), "\n")
	if !strings.Contains(vals, "riskEventType0, riskEventType1") || !strings.Contains(vals, "more") {
		t.Errorf("card values %q; want the first risk events listed and the rest counted", vals)
	}
	if strings.Contains(vals, "riskEventType999") {
		t.Error("card lists the 1000th risk event; want the tail dropped")
	}
	if !strings.Contains(vals, "…") {
		t.Error("no value was truncated with …; want the 10,000-rune app name cut")
	}
}

func TestTeamsMessageTooSmallLimit(t *testing.T) {
	_, err := alert.TeamsMessage(alert.NewEnvelope(outboundData(), raised), alert.CardOptions{MaxBytes: 300})
	if !errors.Is(err, alert.ErrCardTooLarge) {
		t.Errorf("TeamsMessage with MaxBytes 300: error = %v; want ErrCardTooLarge", err)
	}
}

func TestTeamsMessageNeutralisesMarkdown(t *testing.T) {
	payloads := []string{
		"[Verify your account](https://evil.example/login)",
		"**URGENT** _click_ here",
		"- fake\n- list\r\n1. item",
		"line one\n\nRisk (aggregated): none",
		"\u202egnp.exe",
		"<b>html</b> &amp;",
		"`code` # heading > quote",
	}
	d := outboundData()
	for i, p := range payloads {
		d.UserDisplayName = p
		d.AppDisplayName = p
		d.OtherTenantName = p
		d.RiskEventTypes = []string{p}
		d.UserPrincipalName = "user" + strconv.Itoa(i) + p
		b, err := alert.TeamsMessage(alert.NewEnvelope(d, raised), alert.CardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := decodeCard(t, b)
		els := elements(c)
		// TextBlocks and facts render Markdown in Teams: no value may
		// reach one.
		for _, tb := range els["TextBlock"] {
			if text := tb["text"].(string); strings.ContainsAny(text, "[]*_`#<>\n") || strings.Contains(text, "evil") {
				t.Errorf("payload %q: TextBlock %q carries user text", p, text)
			}
		}
		if n := len(els["FactSet"]); n != 0 {
			t.Errorf("payload %q: card has %d FactSets; want none (they render Markdown)", p, n)
		}
		// Values sit in TextRuns, as given but for control and bidi
		// characters, which would fake lines or reverse text.
		found := false
		for _, r := range runs(c) {
			if strings.ContainsAny(r, "\n\r\u202e") {
				t.Errorf("payload %q: TextRun %q keeps a control or bidi character", p, r)
			}
			found = found || strings.Contains(r, strings.TrimSpace(strings.NewReplacer("\n", " ", "\r", " ", "\u202e", "\ufffd").Replace(p)))
		}
		if !found {
			t.Errorf("payload %q: no TextRun shows it; want it shown literally", p)
		}
	}
}

func FuzzTeamsMessage(f *testing.F) {
	f.Add("alice@contoso.com", "Alice", "Fabrikam", "Azure CLI", "203.0.113.7", "unfamiliarFeatures", "high", 3)
	f.Add("[x](https://e)", "**b**", "\u202e", "\x00\xff", "\"\\", "- a\n- b", "", 0)
	f.Add(strings.Repeat("é", 3000), strings.Repeat("\u2028", 3000), strings.Repeat("<", 9000), "", "", "", "", 1000)
	f.Fuzz(func(t *testing.T, upn, name, tenant, app, ip, event, risk string, events int) {
		d := alert.Data{
			AlertID: "ctsi_0", UserPrincipalName: upn, UserDisplayName: name, UserType: name,
			UserID: upn, HomeTenantID: tenant, ResourceTenantID: tenant, OtherTenantID: tenant,
			OtherTenantName: tenant, Direction: risk, SignInID: ip, CorrelationID: ip,
			CreatedDateTime: ip, Category: app, AppID: app, AppDisplayName: app,
			ResourceDisplayName: app, IPAddress: ip,
			Location:            alert.Location{City: name, State: app, CountryOrRegion: ip},
			RiskLevelAggregated: risk, RiskLevelDuringSignIn: risk, RiskState: risk, RiskDetail: event,
			CrossTenantAccessType: event, Test: events%2 == 0,
		}
		for i := range min(max(events, 0), 2000) {
			d.RiskEventTypes = append(d.RiskEventTypes, event+strconv.Itoa(i))
		}
		b, err := alert.TeamsMessage(alert.NewEnvelope(d, raised), alert.CardOptions{})
		if err != nil {
			t.Fatalf("TeamsMessage: %v", err)
		}
		if len(b) > alert.DefaultCardMaxBytes {
			t.Errorf("message is %d bytes; want at most %d", len(b), alert.DefaultCardMaxBytes)
		}
		if !json.Valid(b) {
			t.Errorf("invalid JSON: %s", b)
		}
	})
}

func BenchmarkTeamsMessage(b *testing.B) {
	for _, bb := range []struct {
		name string
		data alert.Data
	}{
		{"typical", outboundData()},
		{"huge", hugeData()},
	} {
		b.Run(bb.name, func(b *testing.B) {
			env := alert.NewEnvelope(bb.data, raised)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := alert.TeamsMessage(env, alert.CardOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
