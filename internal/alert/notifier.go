package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// ErrInvalidAlert reports an envelope that cannot be sent whatever the
// receiver does: it has no type, or its alert id is not a valid webhook-id.
var ErrInvalidAlert = errors.New("invalid alert")

const (
	// maxErrorBody is how much of a failed response's body is read for the
	// error message; webhook error bodies are short, and a hostile or broken
	// peer must not make us buffer megabytes.
	maxErrorBody = 4 << 10
	// maxErrorSnippet is how much of that body the error message quotes.
	maxErrorSnippet = 512
	// maxDrain is how much of a response is read and discarded so that the
	// connection can be reused; a longer body closes the connection instead.
	maxDrain = 64 << 10
)

// Result is the outcome of one delivery attempt. When it is neither
// Delivered nor Retry, no later attempt can succeed: the alert has failed.
type Result struct {
	// Delivered is true when the webhook answered 2xx (a Teams Workflows
	// webhook answers 202 with no body).
	Delivered bool
	// Status is the HTTP status of the answer, 0 when there was none.
	Status int
	// Retry is true when another attempt later may succeed: transport
	// errors, timeouts and the statuses 408, 409, 425, 429 and 5xx. It is
	// false for other 4xx, for 3xx (redirects are not followed: a webhook
	// that redirects is misconfigured, and following would send the signed
	// alert elsewhere) and for alerts that cannot be encoded.
	Retry bool
	// RetryAfter is the delay a 429 or 503 answer asked for in Retry-After
	// (delay-seconds or an HTTP-date, relative to the attempt time), at most
	// MaxRetryAfter; 0 when absent or unparseable.
	RetryAfter time.Duration
	// Err is nil when Delivered. It never contains the webhook URL or a
	// secret. Non-2xx answers are wrapped *StatusError values; transport
	// failures wrap the client's error (errors.Is finds
	// context.DeadlineExceeded or context.Canceled).
	Err error
}

// StatusError reports a webhook that answered with a status other than 2xx.
type StatusError struct {
	StatusCode int
	// Body is the start of the response body, whitespace collapsed and
	// scrubbed of the URL and secrets; empty when there was none.
	Body string
}

// Error says what the webhook answered, quoting the start of its body.
func (e *StatusError) Error() string {
	msg := "webhook answered " + strconv.Itoa(e.StatusCode)
	if text := http.StatusText(e.StatusCode); text != "" {
		msg += " " + text
	}
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		msg += " (redirects are not followed)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Notifier makes single attempts to deliver alerts to one webhook. It is
// safe for concurrent use.
type Notifier struct {
	cfg          Config
	signers      []*standardwebhooks.Webhook
	client       *http.Client
	logger       *slog.Logger
	redact       redactor
	timeoutCause error
}

// NewNotifier returns a Notifier for cfg, which must be valid (see
// Config.Validate). A nil client means a default one with dial and TLS
// handshake timeouts; a client passed in is copied and, like the default,
// never follows redirects. A nil logger discards the debug lines the
// Notifier writes; outcomes are reported in Result, for the caller to log.
func NewNotifier(cfg Config, client *http.Client, logger *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("alert notifier config: %w", err)
	}
	cfg = cfg.withDefaults()
	signers, err := ParseSecrets(cfg.Secrets)
	if err != nil { // unreachable after Validate; kept so a change there cannot skip signing
		return nil, fmt.Errorf("alert notifier config: %w", err)
	}
	if client == nil {
		client = defaultClient()
	} else {
		c := *client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{
		cfg:          cfg,
		signers:      signers,
		client:       client,
		logger:       logger,
		redact:       newRedactor(cfg.URL, cfg.Secrets),
		timeoutCause: fmt.Errorf("webhook attempt timed out after %s: %w", cfg.Timeout, context.DeadlineExceeded),
	}, nil
}

// defaultClient bounds the parts of a request that the per-attempt context
// deadline would otherwise be the only limit on, so that a black-holed dial
// fails fast and leaves the rest of the attempt's budget unused.
func defaultClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          4,
			IdleConnTimeout:       90 * time.Second,
		},
	}
}

// Redact returns err with the Notifier's URL and secrets scrubbed from its
// message, as Config.Redact does.
func (n *Notifier) Redact(err error) error {
	return n.redact.redactError(err)
}

// Send makes one attempt to deliver env. env.Data.AlertID is sent as the
// webhook-id; now is the attempt time, used for webhook-timestamp, for the
// signatures (made afresh on every attempt) and as the base of an
// HTTP-date Retry-After. The attempt is bounded by the configured timeout
// and by ctx.
//
// FormatJSON posts the envelope as JSON with the Standard Webhooks headers
// webhook-id, webhook-timestamp and, when secrets are configured,
// webhook-signature (one "v1,<base64>" per secret, space-separated).
// FormatTeams posts the Adaptive Card message built by TeamsMessage.
func (n *Notifier) Send(ctx context.Context, env Envelope, now time.Time) Result {
	id := env.Data.AlertID
	start := time.Now()
	res := n.send(ctx, env, now)
	if res.Err != nil {
		// Everything above is written to keep secrets out; this is the
		// last line of defence for whatever a dependency added.
		res.Err = n.Redact(res.Err)
	}
	n.logger.LogAttrs(ctx, slog.LevelDebug, "webhook attempt",
		slog.String("alert_id", id),
		slog.String("webhook_host", n.cfg.URL.Host()),
		slog.Int("status", res.Status),
		slog.Bool("delivered", res.Delivered),
		slog.Bool("retry", res.Retry),
		slog.Duration("duration", time.Since(start)),
	)
	return res
}

func (n *Notifier) send(ctx context.Context, env Envelope, now time.Time) Result {
	id := env.Data.AlertID
	if err := checkEnvelope(env); err != nil {
		return Result{Err: err}
	}
	body, err := n.body(env)
	if err != nil {
		return Result{Err: fmt.Errorf("encode alert %s: %w", id, err)}
	}
	return n.post(ctx, id, body, now)
}

// post makes one POST of body; id names the message in errors and, for
// FormatJSON, is the webhook-id it is signed under.
func (n *Notifier) post(ctx context.Context, id string, body []byte, now time.Time) Result {
	ctx, cancel := context.WithTimeoutCause(ctx, n.cfg.Timeout, n.timeoutCause)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL.reveal(), bytes.NewReader(body))
	if err != nil { // the URL was parsed by ParseWebhookURL; no retry could fix this
		return Result{Err: fmt.Errorf("build request for alert %s: %w", id, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", n.cfg.UserAgent)
	if n.cfg.Format == FormatJSON {
		req.Header.Set(standardwebhooks.HeaderWebhookID, id)
		req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		sig, err := n.sign(id, now, body)
		if err != nil {
			return Result{Err: fmt.Errorf("sign alert %s: %w", id, err)}
		}
		if sig != "" {
			req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
		}
	}

	resp, err := n.client.Do(req)
	if err != nil {
		err = n.Redact(err) // first of all: the *url.Error holds the URL
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", err, cause)
		}
		return Result{Retry: true, Err: fmt.Errorf("deliver alert %s: %w", id, err)}
	}
	defer drainClose(resp.Body)

	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return Result{Delivered: true, Status: code}
	}
	res := Result{Status: code, Retry: retryable(code)}
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		res.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	res.Err = fmt.Errorf("deliver alert %s: %w", id, &StatusError{StatusCode: code, Body: n.errorBody(resp.Body)})
	return res
}

// errorBody returns the start of a failed response's body, scrubbed of
// secrets (a server may echo the request URL) and fit for one log line.
func (n *Notifier) errorBody(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, maxErrorBody+1))
	if len(b) > maxErrorBody {
		// The cut may have split a secret, which the scrubber would then
		// not recognise: drop the tail that could hold a piece of one.
		b = b[:max(0, maxErrorBody-n.redact.longest)]
	}
	// Scrub before shortening, for the same reason.
	return errorSnippet([]byte(n.redact.scrub(string(b))))
}

func checkEnvelope(env Envelope) error {
	id := env.Data.AlertID
	switch {
	case env.Type == "":
		return fmt.Errorf("%w: envelope has no type", ErrInvalidAlert)
	case id == "":
		return fmt.Errorf("%w: no alert id", ErrInvalidAlert)
	case strings.ContainsFunc(id, func(r rune) bool { return r == '.' || r <= ' ' || r >= 0x7f }):
		// Standard Webhooks signs "id.timestamp.body": a '.' in the id
		// would make signatures ambiguous. The rest keeps the header clean.
		return fmt.Errorf("%w: alert id %q is not a valid webhook-id", ErrInvalidAlert, truncateRunes(id, 64))
	}
	return nil
}

func (n *Notifier) body(env Envelope) ([]byte, error) {
	if n.cfg.Format == FormatTeams {
		return TeamsMessage(env, CardOptions{})
	}
	return marshalJSON(env)
}

func (n *Notifier) sign(id string, now time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(n.signers))
	for _, s := range n.signers {
		sig, err := s.Sign(id, now, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// retryable reports whether a non-2xx status may turn into a success later:
// timeouts (408), conflicts that resolve (409), "too early" (425),
// throttling (429) and server errors. Other 4xx mean the request itself is
// wrong and 3xx means the endpoint moved; retrying cannot fix either.
func retryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500 && code <= 599
}

// parseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3):
// delay-seconds or an HTTP-date, taken relative to now. Anything else,
// including negative numbers and dates in the past, gives 0; delays are
// capped at MaxRetryAfter so that a hostile or broken peer cannot park an
// alert for days.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) < 0 {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil || secs > uint64(MaxRetryAfter/time.Second) { // err can only be ErrRange
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter)
}

// errorSnippet makes the start of an error body fit for a one-line message.
func errorSnippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if len(s) > maxErrorSnippet {
		cut := maxErrorSnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// drainClose reads a little of what is left of a body so that the
// connection can be reused, then closes it.
func drainClose(body io.ReadCloser) {
	if body == nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(body, maxDrain))
	body.Close()
}

// LogNotifier stands in for a webhook when none is configured: it logs each
// alert as a structured warning and counts it as delivered.
type LogNotifier struct {
	logger *slog.Logger
}

// NewLogNotifier returns a LogNotifier writing to logger. A nil logger means
// JSON lines on standard output, because an alert must never vanish.
func NewLogNotifier(logger *slog.Logger) *LogNotifier {
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	}
	return &LogNotifier{logger: logger}
}

// Send logs env at warning level, with the attribute "alert" holding the
// envelope exactly as the json format would post it, and reports it
// delivered.
func (n *LogNotifier) Send(ctx context.Context, env Envelope, now time.Time) Result {
	n.logger.LogAttrs(ctx, slog.LevelWarn, "risky first-seen cross-tenant sign-in",
		slog.String("alert_id", env.Data.AlertID),
		slog.Any("alert", env),
	)
	return Result{Delivered: true}
}
