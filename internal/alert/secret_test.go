package alert_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/internal/alert"
)

func TestParseWebhookURL(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // the printed form; "" when parsing must fail
	}{
		{"Workflows URL", "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SECRET", "https://prod-01.westeurope.logic.azure.com:443/<redacted>"},
		{"host only has nothing to hide", "https://hooks.example", "https://hooks.example"},
		{"query only", "https://hooks.example/?token=SECRET", "https://hooks.example/<redacted>"},
		{"user info", "https://user:SECRETPASS@hooks.example/x", "https://hooks.example/<redacted>"},
		{"surrounding space", "  https://hooks.example/SECRET\n", "https://hooks.example/<redacted>"},
		{"http on 127.0.0.1", "http://127.0.0.1:8080/SECRET", "http://127.0.0.1:8080/<redacted>"},
		{"http anywhere in 127/8", "http://127.1.2.3/SECRET", "http://127.1.2.3/<redacted>"},
		{"http on ::1", "http://[::1]:9000/SECRET", "http://[::1]:9000/<redacted>"},
		{"http on localhost", "http://LocalHost:7071/api/SECRET", "http://LocalHost:7071/<redacted>"},
		{"http elsewhere", "http://hooks.example/SECRET", ""},
		{"http on a private address", "http://10.0.0.1/SECRET", ""},
		{"http on a name that starts with localhost", "http://localhost.evil.example/SECRET", ""},
		{"other scheme", "ftp://hooks.example/SECRET", ""},
		{"relative", "/SECRET/path", ""},
		{"empty", "", ""},
		{"no host", "https:///SECRET", ""},
		{"port only", "https://:443/SECRET", ""},
		{"bad escape", "https://hooks.example/%zzSECRET", ""},
		{"control character", "https://hooks.example/SECRET\x7f", ""},
		{"space in host", "https://hooks .example/SECRET", ""},
		{"opaque", "https:SECRET", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := alert.ParseWebhookURL(tt.raw)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseWebhookURL(%q) = %v; want an error", tt.raw, u)
				}
				if !errors.Is(err, alert.ErrInvalidURL) || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "hooks") {
					t.Errorf("ParseWebhookURL(%q) error = %q; want ErrInvalidURL without any part of the URL", tt.raw, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWebhookURL(%q) error = %v", tt.raw, err)
			}
			if got := u.String(); got != tt.want {
				t.Errorf("ParseWebhookURL(%q).String() = %q; want %q", tt.raw, got, tt.want)
			}
			if u.IsZero() {
				t.Errorf("ParseWebhookURL(%q).IsZero() = true", tt.raw)
			}
		})
	}
}

func TestParseSecrets(t *testing.T) {
	short := "whsec_" + base64.StdEncoding.EncodeToString([]byte("only-16-bytes-SS"))
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr []string // substrings of the error
	}{
		{"none", "", 0, nil},
		{"blank", "  \t ", 0, nil},
		{"one", secret1, 1, nil},
		{"two, any spacing", "  " + secret1 + " \t " + secret2 + " ", 2, nil},
		{"prefix is optional", strings.TrimPrefix(secret1, "whsec_"), 1, nil},
		{"not base64", "whsec_SECRET%%%", 0, []string{"secret 1 of 1"}},
		{"too short", short, 0, []string{"secret 1 of 1 has 16 bytes"}},
		{"every bad one is reported", secret1 + " whsec_SECRET%%% " + short, 0, []string{"secret 2 of 3", "secret 3 of 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := alert.ParseSecrets(tt.in)
			if tt.wantErr == nil {
				if err != nil || len(got) != tt.want {
					t.Fatalf("ParseSecrets(%q) = %d secrets, %v; want %d, nil", tt.in, len(got), err, tt.want)
				}
				return
			}
			if err == nil || !errors.Is(err, alert.ErrInvalidSecret) {
				t.Fatalf("ParseSecrets(%q) error = %v; want ErrInvalidSecret", tt.in, err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseSecrets(%q) error = %q; want it to contain %q", tt.in, err, w)
				}
			}
			for _, s := range strings.Fields(tt.in) {
				if strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) || strings.Contains(err.Error(), "SECRET") {
					t.Errorf("ParseSecrets error %q contains a secret", err)
				}
			}
		})
	}
}

func mustURL(t *testing.T, raw string) alert.SecretURL {
	t.Helper()
	u, err := alert.ParseWebhookURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestConfigValidate(t *testing.T) {
	workflow := "https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=SECRET"
	tests := []struct {
		name    string
		cfg     alert.Config
		wantErr []string // nil: valid
	}{
		{"json with defaults", alert.Config{URL: mustURL(t, workflow)}, nil},
		{"json signed", alert.Config{URL: mustURL(t, workflow), Format: alert.FormatJSON, Secrets: secret1 + " " + secret2}, nil},
		{"teams", alert.Config{URL: mustURL(t, workflow), Format: alert.FormatTeams}, nil},
		{"longest timeout", alert.Config{URL: mustURL(t, workflow), Timeout: alert.MaxTimeout}, nil},
		{
			"every problem at once",
			alert.Config{Format: "xml", Secrets: "whsec_SECRET%%%", Timeout: -1, UserAgent: "a\r\nX-Evil: 1"},
			[]string{"no webhook URL", `unknown format "xml"`, "secret 1 of 1", "timeout -1ns", "user agent"},
		},
		{"timeout too long", alert.Config{URL: mustURL(t, workflow), Timeout: 2 * alert.MaxTimeout}, []string{"timeout 2m0s"}},
		{"teams cannot verify signatures", alert.Config{URL: mustURL(t, workflow), Format: alert.FormatTeams, Secrets: secret1}, []string{"json-format requests only"}},
		{"retired Office 365 connector", alert.Config{URL: mustURL(t, "https://contoso.webhook.office.com/webhookb2/SECRET"), Format: alert.FormatTeams}, []string{"retired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil; want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q; want it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("Validate() = %q; it contains a secret", err)
			}
		})
	}
}

func TestConfigAndURLNeverPrintSecrets(t *testing.T) {
	raw := "https://user:PASSWORD@prod-01.westeurope.logic.azure.com:443" + secretPath + "?" + secretQuery
	u := mustURL(t, raw)
	cfg := alert.Config{URL: u, Format: alert.FormatJSON, Secrets: secret1 + " " + secret2}

	var outputs []string
	for _, v := range []any{cfg, &cfg, u, &u, struct{ C alert.Config }{cfg}} {
		outputs = append(outputs, fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%X", v, v, v, v, v, v, v))
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
	}
	outputs = append(outputs, fmt.Sprintf("%d %o %t", u, u, u), fmt.Sprint(cfg), fmt.Sprintln(cfg))
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("config", "cfg", cfg, "url", u, slog.Any("ptr", &cfg))
		outputs = append(outputs, buf.String())
	}

	forms := append(secretForms(raw), "PASSWORD", url.QueryEscape("PASSWORD"))
	for _, out := range outputs {
		for _, form := range forms {
			if strings.Contains(out, form) {
				t.Errorf("output %q contains the secret %q", out, form)
			}
		}
	}
	if s := fmt.Sprint(cfg); !strings.Contains(s, "prod-01.westeurope.logic.azure.com") || !strings.Contains(s, "2 secrets") {
		t.Errorf("fmt.Sprint(cfg) = %q; want the host and the number of secrets, which are not secret", s)
	}
}

func TestConfigRedact(t *testing.T) {
	raw := "https://hooks.example" + secretPath + "?" + secretQuery
	cfg := alert.Config{URL: mustURL(t, raw), Secrets: secret1}
	orig := &url.Error{Op: "Post", URL: raw, Err: context.Canceled}
	wrapped := fmt.Errorf("queue %s with %s: %w", url.QueryEscape(raw), secret1, orig)

	for _, err := range []error{orig, wrapped} {
		got := cfg.Redact(err)
		assertNoSecret(t, errors.New(got.Error()), raw)
		if !errors.Is(got, context.Canceled) {
			t.Errorf("Redact(%T) = %v; want errors.Is(context.Canceled) to keep working", err, got)
		}
		if !strings.Contains(got.Error(), "https://hooks.example/<redacted>") {
			t.Errorf("Redact(%T) = %q; want the host kept", err, got)
		}
	}
	if ue, ok := errors.AsType[*url.Error](cfg.Redact(orig)); !ok || ue.URL != "https://hooks.example/<redacted>" {
		t.Errorf("Redact(*url.Error) chain holds URL %q; want it redacted", ue.URL)
	}
	other := &url.Error{Op: "Get", URL: "https://account.table.core.windows.net/alerts", Err: context.DeadlineExceeded}
	if ue, ok := errors.AsType[*url.Error](cfg.Redact(other)); !ok || ue.URL != other.URL {
		t.Errorf("Redact changed an unrelated *url.Error's URL to %q; want %q", ue.URL, other.URL)
	}
	if cfg.Redact(nil) != nil {
		t.Error("Redact(nil) != nil")
	}
	plain := errors.New("nothing secret here")
	if got := cfg.Redact(plain); got != plain {
		t.Errorf("Redact(%v) = %v; want the same error back", plain, got)
	}
}
