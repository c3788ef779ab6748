package config

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/detect"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const devStorage = "UseDevelopmentStorage=true"

func TestLoadAppliesTheDocumentedDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{EnvBaselineStorage: devStorage}))
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	checks := []struct {
		name      string
		got, want any
	}{
		{"categories", c.Policy.Categories, map[string]bool{"signinlogs": true}},
		{"direction", c.Policy.Direction, detect.Both},
		{"baseline window", c.Policy.BaselineWindow, 14 * day},
		{"novelty window", c.Policy.NoveltyWindow, day},
		{"learning period follows the baseline window", c.Policy.LearningPeriod, 14 * day},
		{"risk", c.Policy.Risk.String(), "all but none"},
		{"tables", c.Storage.BaselineTable + "," + c.Storage.AlertsTable, "CrossTenantBaseline,CrossTenantAlerts"},
		{"create tables", c.Storage.CreateTables, true},
		{"webhook", c.HasWebhook, false},
		{"format", string(c.Webhook.Format), "json"},
		{"max per hour", c.MaxPerHour, 30},
		{"lease", c.Lease, 2 * time.Minute},
		{"retry schedule length", len(c.RetrySchedule), 9},
		{"log level", c.LogLevel, slog.LevelInfo},
	}
	for _, ch := range checks {
		if !equal(ch.got, ch.want) {
			t.Errorf("%s = %v; want %v", ch.name, ch.got, ch.want)
		}
	}
}

func equal(a, b any) bool {
	am, ok1 := a.(map[string]bool)
	bm, ok2 := b.(map[string]bool)
	if ok1 && ok2 {
		if len(am) != len(bm) {
			return false
		}
		for k := range am {
			if !bm[k] {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestLoadReadsEverySetting(t *testing.T) {
	c, err := Load(env(map[string]string{
		EnvBaselineStorage:  devStorage,
		EnvSignInCategories: "SignInLogs, NonInteractiveUserSignInLogs",
		EnvDirection:        "Outbound",
		EnvBaselineWindow:   "30d",
		EnvNoveltyWindow:    "36h",
		EnvLearningPeriod:   "0",
		EnvAlertRiskLevels:  "medium,high",
		EnvAllowedTenants:   " AAAA , bbbb",
		EnvBaselineTable:    "MyBase",
		EnvAlertsTable:      "MyAlerts",
		EnvCreateTables:     "false",
		EnvWebhookURL:       "https://prod-00.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=abc",
		EnvWebhookFormat:    "Teams",
		EnvRetrySchedule:    "1m,1h,1d",
		EnvMaxPerHour:       "0",
		EnvAlertLease:       "90s",
		EnvLogLevel:         "debug",
		EnvPort:             "7071",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Policy.Categories["noninteractiveusersigninlogs"] || c.Policy.Direction != detect.OnlyOutbound ||
		c.Policy.BaselineWindow != 30*24*time.Hour || c.Policy.NoveltyWindow != 36*time.Hour || c.Policy.LearningPeriod != 0 ||
		!c.Policy.Allowed["aaaa"] || !c.Policy.Allowed["bbbb"] || c.Policy.Risk.Alerts("hidden") || !c.Policy.Risk.Alerts("HIGH") {
		t.Errorf("policy = %+v", c.Policy)
	}
	if c.Storage.BaselineTable != "MyBase" || c.Storage.AlertsTable != "MyAlerts" || c.Storage.CreateTables {
		t.Errorf("storage = %+v", c.Storage)
	}
	if !c.HasWebhook || c.Webhook.Format != "teams" || c.MaxPerHour != 0 || c.Lease != 90*time.Second ||
		len(c.RetrySchedule) != 3 || c.RetrySchedule[2] != 24*time.Hour || c.LogLevel != slog.LevelDebug || c.Port != "7071" {
		t.Errorf("config = %+v", c)
	}
}

func TestLoadReportsEveryProblemAtOnceWithoutSecrets(t *testing.T) {
	_, err := Load(env(map[string]string{
		EnvBaselineStorage:  "AccountName=x;AccountKey=TOPSECRETKEY;Nonsense",
		EnvDirection:        "sideways",
		EnvBaselineWindow:   "two weeks",
		EnvNoveltyWindow:    "-1h",
		EnvAlertRiskLevels:  "critical",
		EnvBaselineTable:    "1bad",
		EnvCreateTables:     "perhaps",
		EnvWebhookURL:       "http://hooks.example.com/TOPSECRETPATH?sig=TOPSECRETSIG",
		EnvWebhookFormat:    "slack",
		EnvWebhookSecret:    "TOPSECRETNOTWHSEC",
		EnvRetrySchedule:    "5s,soon",
		EnvMaxPerHour:       "-3",
		EnvAlertLease:       "forever",
		EnvLogLevel:         "loud",
		EnvPort:             "http",
		EnvSignInCategories: " , ",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, name := range []string{EnvBaselineStorage, "sideways", EnvBaselineWindow, EnvNoveltyWindow, "critical", "1bad",
		EnvCreateTables, EnvWebhookURL, EnvWebhookFormat, EnvWebhookSecret, EnvRetrySchedule, EnvMaxPerHour, EnvAlertLease,
		EnvLogLevel, EnvPort, "category"} {
		if !strings.Contains(msg, name) {
			t.Errorf("error does not mention %s:\n%s", name, msg)
		}
	}
	if strings.Contains(msg, "TOPSECRET") {
		t.Errorf("error leaks a secret:\n%s", msg)
	}
}

func TestParseDurationAcceptsGoSyntaxAndDays(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"14d", 14 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"0", 0, true},
		{" 2d ", 48 * time.Hour, true},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"-1h", 0, false},
		{"fortnight", 0, false},
		{"", 0, false},
		{"1d-2h", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSettingsAreUniqueAndDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings() {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Description == "" || s.Group == "" || s.Scope == "" {
			t.Errorf("%s lacks a description, group or scope", s.Name)
		}
	}
}

func TestLoadNamesWebhookProblemsWhenTheURLIsGood(t *testing.T) {
	_, err := Load(env(map[string]string{
		EnvBaselineStorage: devStorage,
		EnvWebhookURL:      "https://hooks.example.com/x",
		EnvWebhookSecret:   "whsec_%%%notbase64SECRETVALUE",
		EnvWebhookFormat:   "xml",
	}))
	if err == nil || !strings.Contains(err.Error(), EnvWebhookSecret) || !strings.Contains(err.Error(), "xml") || strings.Contains(err.Error(), "SECRETVALUE") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadRecognisesAnUnresolvedKeyVaultReference(t *testing.T) {
	ref := "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/alert-webhook-url/)"
	_, err := Load(env(map[string]string{EnvBaselineStorage: devStorage, EnvWebhookURL: ref}))
	if err == nil || !strings.Contains(err.Error(), "unresolved Key Vault reference") || strings.Contains(err.Error(), "vault.azure.net") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadWebhookNeedsNoStorage(t *testing.T) {
	c, ok, err := LoadWebhook(env(map[string]string{EnvWebhookURL: "https://hooks.example.com/x", EnvWebhookFormat: "teams"}))
	if err != nil || !ok || c.Format != "teams" {
		t.Fatalf("LoadWebhook = %+v %v %v", c, ok, err)
	}
}

func TestTheLocalSampleLoadsCleanly(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "local.settings.sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Values map[string]string }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(env(file.Values)); err != nil {
		t.Errorf("a copy of the sample would not start: %v", err)
	}
}

func TestAnAttemptEndsWellInsideItsLease(t *testing.T) {
	for _, tt := range []struct {
		lease string
		want  time.Duration
	}{{"2m", 10 * time.Second}, {"9s", 3 * time.Second}} {
		c, err := Load(env(map[string]string{EnvBaselineStorage: devStorage, EnvAlertLease: tt.lease}))
		if err != nil || c.Webhook.Timeout != tt.want {
			t.Errorf("lease %s: timeout %v, %v; want %v", tt.lease, c.Webhook.Timeout, err, tt.want)
		}
	}
}
