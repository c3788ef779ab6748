package alert

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultTimeout bounds one delivery attempt.
	DefaultTimeout = 10 * time.Second
	// MaxTimeout is the longest attempt allowed. The caller holds a lease on
	// the alert while it makes an attempt; an attempt that outlived the lease
	// could run beside another instance's attempt of the same alert.
	MaxTimeout = time.Minute
	// DefaultUserAgent is sent when Config.UserAgent is empty.
	DefaultUserAgent = "tenantwatch"
)

// Config configures a Notifier. Its zero Format, Timeout and UserAgent mean
// the defaults (FormatJSON, DefaultTimeout, DefaultUserAgent).
//
// A Config holds secrets and never prints them: String, GoString, LogValue
// and MarshalJSON redact the URL and the signing secrets.
type Config struct {
	// URL is where alerts are posted. Required.
	URL SecretURL
	// Format is the body's shape: FormatJSON (default) or FormatTeams.
	Format Format
	// Secrets holds Standard Webhooks signing secrets separated by spaces,
	// as ParseSecrets accepts; empty means requests are not signed. Only
	// FormatJSON requests are signed.
	Secrets string
	// Timeout bounds one attempt (DefaultTimeout when zero).
	Timeout time.Duration
	// UserAgent is the User-Agent header (DefaultUserAgent when empty).
	UserAgent string
}

func (c Config) withDefaults() Config {
	if c.Format == "" {
		c.Format = FormatJSON
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	return c
}

// Validate reports every problem with c at once (joined with errors.Join).
// The errors never contain the URL or a secret.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.URL.IsZero() {
		errs = append(errs, errors.New("no webhook URL (without one, alerts are logged instead: use NewLogNotifier)"))
	}
	switch c.Format {
	case FormatJSON, FormatTeams:
	default:
		errs = append(errs, fmt.Errorf("unknown format %q (want %q or %q)", truncateRunes(string(c.Format), 32), FormatJSON, FormatTeams))
	}
	hooks, err := ParseSecrets(c.Secrets)
	if err != nil {
		errs = append(errs, err)
	}
	if c.Format == FormatTeams {
		if len(hooks) > 0 {
			errs = append(errs, errors.New("webhook secrets sign json-format requests only; a Teams Workflows webhook cannot verify them"))
		}
		if isOfficeConnector(c.URL.hostname()) {
			errs = append(errs, errors.New(`Office 365 connector webhooks are retired; create a Workflows webhook ("When a Teams webhook request is received") instead`))
		}
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout %s is out of range (0, %s]", c.Timeout, MaxTimeout))
	}
	if strings.ContainsFunc(c.UserAgent, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		errs = append(errs, errors.New("user agent contains control characters"))
	}
	return errors.Join(errs...)
}

// isOfficeConnector reports the retired Office 365 connector hosts
// (*.webhook.office.com, outlook.office.com).
func isOfficeConnector(hostname string) bool {
	h := strings.ToLower(strings.TrimSuffix(hostname, "."))
	return strings.HasSuffix(h, ".webhook.office.com") || h == "outlook.office.com"
}

// Redact returns err with c's URL (in any of the spellings an error may
// carry) and secrets replaced by "<redacted>" in its message. Use it on
// errors that may have met the URL outside this package before logging
// them. The result still unwraps to err's chain, so errors.Is works; values
// extracted from that chain other than a top-level *url.Error are not
// scrubbed.
func (c Config) Redact(err error) error {
	return newRedactor(c.URL, c.Secrets).redactError(err)
}

func (c Config) secretsSummary() string {
	switch n := len(strings.Fields(c.Secrets)); n {
	case 0:
		return ""
	case 1:
		return "1 secret " + redacted
	default:
		return strconv.Itoa(n) + " secrets " + redacted
	}
}

// String prints c with its secrets redacted; fmt uses it for %v, %+v, %s,
// %q, %x and %X. (Config cannot implement fmt.Formatter: its Format field
// takes the name.)
func (c Config) String() string {
	return fmt.Sprintf("{URL:%s Format:%s Secrets:%s Timeout:%s UserAgent:%q}",
		c.URL.String(), string(c.Format), c.secretsSummary(), c.Timeout, c.UserAgent)
}

// GoString is used by %#v; it is redacted like String.
func (c Config) GoString() string { return "alert.Config" + c.String() }

// LogValue makes slog print c as a group with its secrets redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", c.URL.String()),
		slog.String("format", string(c.Format)),
		slog.String("secrets", c.secretsSummary()),
		slog.Duration("timeout", c.Timeout),
		slog.String("user_agent", c.UserAgent),
	)
}

// MarshalJSON writes c with its secrets redacted.
func (c Config) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		URL       string `json:"url"`
		Format    string `json:"format"`
		Secrets   string `json:"secrets"`
		Timeout   string `json:"timeout"`
		UserAgent string `json:"userAgent"`
	}{c.URL.String(), string(c.Format), c.secretsSummary(), c.Timeout.String(), c.UserAgent})
}
