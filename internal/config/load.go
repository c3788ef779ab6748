package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/baseline"
	"github.com/tenantwatch/tenantwatch/internal/detect"
)

// Config is everything the handler reads from its environment, parsed.
type Config struct {
	// Port is FUNCTIONS_CUSTOMHANDLER_PORT; empty outside the host.
	Port    string
	Policy  detect.Policy
	Storage baseline.Config
	// Webhook is the delivery target; Webhook.URL is zero when no
	// ALERT_WEBHOOK_URL is set, and alerts are then logged.
	Webhook       alert.Config
	HasWebhook    bool
	RetrySchedule []time.Duration
	MaxPerHour    int
	Lease         time.Duration
	LogLevel      slog.Level
}

// Load reads and validates every setting, reporting every problem at once.
// Errors name the setting, never its value when the setting is a secret.
func Load(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	bad := func(name string, err error) {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	c := Config{Port: get(EnvPort, ""), Policy: detect.DefaultPolicy()}

	if c.Port != "" {
		if n, err := strconv.Atoi(c.Port); err != nil || n < 1 || n > 65535 {
			bad(EnvPort, fmt.Errorf("%q is not a TCP port", c.Port))
		}
	}
	c.Policy.Categories = detect.ParseList(get(EnvSignInCategories, DefaultCategories))
	c.Policy.Direction = detect.DirectionFilter(strings.ToLower(get(EnvDirection, DefaultDirection)))
	durations := []struct {
		name, def string
		dst       *time.Duration
	}{
		{EnvBaselineWindow, DefaultBaseline, &c.Policy.BaselineWindow},
		{EnvNoveltyWindow, DefaultNovelty, &c.Policy.NoveltyWindow},
		{EnvLearningPeriod, get(EnvBaselineWindow, DefaultBaseline), &c.Policy.LearningPeriod},
		{EnvAlertLease, DefaultAlertLease, &c.Lease},
	}
	for _, d := range durations {
		v, err := ParseDuration(get(d.name, d.def))
		if err != nil {
			bad(d.name, err)
			continue
		}
		*d.dst = v
	}
	var err error
	if c.Policy.Risk, err = detect.ParseRiskLevels(getenv(EnvAlertRiskLevels)); err != nil {
		bad(EnvAlertRiskLevels, err)
	}
	c.Policy.Allowed = detect.ParseList(getenv(EnvAllowedTenants))
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("detection settings: %w", err))
	}
	if c.Lease < time.Second {
		bad(EnvAlertLease, errors.New("must be at least 1s"))
	}

	// Storage.
	conn, connErr := baseline.ResolveConnection(getenv)
	if connErr != nil {
		errs = append(errs, connErr)
	}
	create, err := parseBool(get(EnvCreateTables, "true"))
	if err != nil {
		bad(EnvCreateTables, err)
	}
	c.Storage = baseline.Config{
		Connection:    conn,
		BaselineTable: get(EnvBaselineTable, DefaultBaselineTable),
		AlertsTable:   get(EnvAlertsTable, DefaultAlertsTable),
		CreateTables:  create,
	}
	check := c.Storage
	if connErr != nil {
		// The connection's problem is reported above; check the rest alone.
		check.Connection = baseline.Connection{TableServiceURL: "https://account.table.core.windows.net"}
	}
	if err := check.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s, %s: %w", EnvBaselineTable, EnvAlertsTable, err))
	}

	// Alerts.
	var werrs []error
	c.Webhook, c.HasWebhook, werrs = loadWebhook(getenv)
	errs = append(errs, werrs...)
	if c.Lease > 0 {
		// An attempt must end well inside the lease that guards it, or a
		// second instance could take the alert while the POST is open.
		c.Webhook.Timeout = min(alert.DefaultTimeout, c.Lease/3)
	}
	if c.RetrySchedule, err = alert.ParseRetrySchedule(get(EnvRetrySchedule, DefaultRetrySchedule)); err != nil {
		bad(EnvRetrySchedule, err)
	}
	if c.MaxPerHour, err = strconv.Atoi(get(EnvMaxPerHour, DefaultMaxPerHour)); err != nil || c.MaxPerHour < 0 {
		bad(EnvMaxPerHour, errors.New("want a whole number ≥ 0"))
	}

	// Runtime.
	if err := c.LogLevel.UnmarshalText([]byte(get(EnvLogLevel, "info"))); err != nil {
		bad(EnvLogLevel, errors.New("want debug, info, warn or error"))
	}
	return c, errors.Join(errs...)
}

// LoadWebhook reads only the webhook settings, for commands that deliver
// a message without touching storage (test-alert).
func LoadWebhook(getenv func(string) string) (alert.Config, bool, error) {
	c, ok, errs := loadWebhook(getenv)
	return c, ok, errors.Join(errs...)
}

func loadWebhook(getenv func(string) string) (alert.Config, bool, []error) {
	var errs []error
	bad := func(name string, err error) {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	for _, s := range Settings() {
		if s.Secret && unresolvedKeyVaultRef(getenv(s.Name)) {
			bad(s.Name, errors.New("holds an unresolved Key Vault reference: grant the app's identity (keyVaultReferenceIdentity) Key Vault Secrets User on the vault and check the secret exists"))
		}
	}
	format := strings.ToLower(strings.TrimSpace(getenv(EnvWebhookFormat)))
	if format == "" {
		format = DefaultFormat
	}
	c := alert.Config{Format: alert.Format(format), Secrets: getenv(EnvWebhookSecret)}
	hasURL := false
	if raw := strings.TrimSpace(getenv(EnvWebhookURL)); raw != "" && !unresolvedKeyVaultRef(raw) {
		u, err := alert.ParseWebhookURL(raw)
		if err != nil {
			bad(EnvWebhookURL, err)
		}
		c.URL, hasURL = u, err == nil
	}
	if c.Format != alert.FormatJSON && c.Format != alert.FormatTeams {
		bad(EnvWebhookFormat, fmt.Errorf("%q: want json or teams", truncate(format, 20)))
	}
	if strings.TrimSpace(c.Secrets) != "" && !unresolvedKeyVaultRef(c.Secrets) {
		if _, err := alert.ParseSecrets(c.Secrets); err != nil {
			bad(EnvWebhookSecret, err)
		}
	}
	if hasURL && len(errs) == 0 {
		// What remains are combinations, such as a signing secret for Teams.
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("webhook settings: %w", err))
		}
	}
	return c, hasURL && len(errs) == 0, errs
}

// unresolvedKeyVaultRef recognises an app setting the platform could not
// resolve: it then reaches the process as the reference's own text.
func unresolvedKeyVaultRef(v string) bool {
	return strings.HasPrefix(strings.TrimSpace(v), "@Microsoft.KeyVault(")
}

// ParseDuration accepts Go duration syntax ("36h", "90m") and whole days,
// alone or leading ("14d", "1d12h"); "0" is zero.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q: want a Go duration such as 36h or whole days such as 14d", truncate(s, 20))
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a Go duration such as 36h or whole days such as 14d", truncate(s, 20))
	}
	return days + d, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("%q: want true or false", truncate(s, 20))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
