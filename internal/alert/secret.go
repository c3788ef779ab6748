package alert

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// redacted replaces secret text in strings we print.
const redacted = "<redacted>"

// ErrInvalidURL reports a webhook URL that cannot be used. Errors wrapping it
// never contain the URL.
var ErrInvalidURL = errors.New("invalid webhook URL")

// ErrInvalidSecret reports a signing secret that cannot be used. Errors
// wrapping it never contain the secret.
var ErrInvalidSecret = errors.New("invalid webhook secret")

// SecretURL is a webhook URL. Such URLs are credentials (a Teams Workflows
// URL carries its signature in the query, and webhook paths often embed a
// token), so a SecretURL never prints them: String, GoString, Format,
// LogValue and MarshalJSON show only the scheme and host, for example
// "https://prod-01.westeurope.logic.azure.com/<redacted>". The host is kept
// because it tells an operator which endpoint failed, and DNS and TLS errors
// name it anyway.
//
// The zero SecretURL means "no URL configured". Make others with
// ParseWebhookURL.
type SecretURL struct {
	// p is a pointer so that fmt, reflection-based printers and == never
	// reach the raw text through a value copy.
	p *parsedURL
}

type parsedURL struct {
	raw  string
	u    *url.URL
	safe string // the printable form
}

// ParseWebhookURL parses raw as a webhook URL. It must be an absolute https
// URL, except that http is allowed for loopback hosts (127.0.0.0/8, ::1,
// localhost) for local development. Errors wrap ErrInvalidURL and never
// contain raw or any part of it.
func ParseWebhookURL(raw string) (SecretURL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return SecretURL{}, fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The parser's message quotes the URL or pieces of it, so it is
		// dropped rather than wrapped.
		return SecretURL{}, fmt.Errorf("%w: not a valid absolute URL", ErrInvalidURL)
	}
	if u.Host == "" || u.Hostname() == "" {
		return SecretURL{}, fmt.Errorf("%w: no host", ErrInvalidURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return SecretURL{}, fmt.Errorf("%w: scheme must be https (http is allowed only for loopback hosts)", ErrInvalidURL)
		}
	default:
		return SecretURL{}, fmt.Errorf("%w: scheme must be https", ErrInvalidURL)
	}
	if u.Opaque != "" {
		return SecretURL{}, fmt.Errorf("%w: not a valid absolute URL", ErrInvalidURL)
	}
	p := &parsedURL{raw: raw, u: u}
	p.safe = u.Scheme + "://" + u.Host
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		p.safe += "/" + redacted
	}
	return SecretURL{p: p}, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// IsZero reports whether no URL is set.
func (s SecretURL) IsZero() bool { return s.p == nil }

// Host returns the URL's host (with port, if any), which is not secret.
func (s SecretURL) Host() string {
	if s.p == nil {
		return ""
	}
	return s.p.u.Host
}

func (s SecretURL) hostname() string {
	if s.p == nil {
		return ""
	}
	return s.p.u.Hostname()
}

// String returns the URL with everything after the host redacted.
func (s SecretURL) String() string {
	if s.p == nil {
		return ""
	}
	return s.p.safe
}

// GoString is used by %#v; it is redacted like String.
func (s SecretURL) GoString() string { return "alert.SecretURL(" + strconv.Quote(s.String()) + ")" }

// Format makes every fmt verb print the redacted form, so that %d or %x
// cannot reach the URL either.
func (s SecretURL) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, s.String())
}

// LogValue makes slog print the redacted form.
func (s SecretURL) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the redacted form.
func (s SecretURL) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// reveal returns the URL for the one place that needs it: the request.
func (s SecretURL) reveal() string {
	if s.p == nil {
		return ""
	}
	return s.p.raw
}

// minSecretBytes is the Standard Webhooks lower bound for a signing key.
const minSecretBytes = 24

// ParseSecrets parses a space-separated list of Standard Webhooks signing
// secrets ("whsec_" followed by the base64 of at least 24 random bytes; the prefix
// may be omitted). Several secrets allow rotation: a message is signed with
// each and a receiver accepts any signature it can verify. An empty s gives
// no secrets. Errors wrap ErrInvalidSecret, name secrets by position and
// never contain their text.
func ParseSecrets(s string) ([]*standardwebhooks.Webhook, error) {
	fields := strings.Fields(s)
	var (
		hooks []*standardwebhooks.Webhook
		errs  []error
	)
	for i, f := range fields {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f, "whsec_"))
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: secret %d of %d is not whsec_ followed by base64", ErrInvalidSecret, i+1, len(fields)))
			continue
		}
		if len(key) < minSecretBytes {
			errs = append(errs, fmt.Errorf("%w: secret %d of %d has %d bytes; want at least %d", ErrInvalidSecret, i+1, len(fields), len(key), minSecretBytes))
			continue
		}
		wh, err := standardwebhooks.NewWebhookRaw(key)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: secret %d of %d: %w", ErrInvalidSecret, i+1, len(fields), err))
			continue
		}
		hooks = append(hooks, wh)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return hooks, nil
}

// minRedactLen is the shortest fragment redacted on its own. Shorter pieces
// of a URL ("/", "1.0") are not secrets, and replacing them everywhere would
// garble messages; whole URLs are always redacted.
const minRedactLen = 4

// minSegmentLen is the shortest path segment redacted on its own.
const minSegmentLen = 16

// redactor scrubs one configured URL and its secrets from text.
type redactor struct {
	r *strings.Replacer // nil when there is nothing to scrub
	// longest is the length of the longest text replaced: a cut within
	// that distance of the end of a text may have split a secret.
	longest int
}

// newRedactor prepares the replacements for u and the raw secrets. Every
// spelling an error might carry is covered: the URL as configured, as
// re-serialised by net/url, with its password starred (what net/http puts
// in a *url.Error), each query- and path-escaped, and the secret parts on
// their own (path, query, each query value, password, fragment).
func newRedactor(u SecretURL, secrets string) redactor {
	type pair struct{ old, new string }
	var pairs []pair
	add := func(old, new string, min int) {
		if len(old) >= min && old != new {
			pairs = append(pairs, pair{old, new})
		}
	}
	addEscaped := func(s, new string, min int) {
		add(s, new, min)
		add(url.QueryEscape(s), new, min)
		add(url.PathEscape(s), new, min)
	}
	if p := u.p; p != nil {
		safe := p.safe
		whole := []string{p.raw, p.u.String(), p.u.Redacted()}
		if pw, ok := p.u.User.Password(); ok {
			whole = append(whole, strings.Replace(p.u.String(), p.u.User.String()+"@", p.u.User.Username()+":***@", 1))
			addEscaped(pw, redacted, 1)
		}
		for _, w := range whole {
			addEscaped(w, safe, 1)
		}
		addEscaped(p.u.Path, redacted, minRedactLen)
		for seg := range strings.SplitSeq(p.u.Path, "/") {
			// Long segments are ids and tokens (a workflow id), which an
			// error body may quote on their own; short ones are words.
			addEscaped(seg, redacted, minSegmentLen)
		}
		addEscaped(p.u.EscapedPath(), redacted, minRedactLen)
		addEscaped(p.u.RawQuery, redacted, minRedactLen)
		addEscaped(p.u.Fragment, redacted, minRedactLen)
		if q, err := url.ParseQuery(p.u.RawQuery); err == nil {
			for _, vs := range q {
				for _, v := range vs {
					addEscaped(v, redacted, minRedactLen)
				}
			}
		}
		for kv := range strings.SplitSeq(p.u.RawQuery, "&") {
			if _, v, ok := strings.Cut(kv, "="); ok {
				addEscaped(v, redacted, minRedactLen)
			}
		}
	}
	for _, f := range strings.Fields(secrets) {
		add(f, redacted, 1)
		add(strings.TrimPrefix(f, "whsec_"), redacted, minRedactLen)
	}
	if len(pairs) == 0 {
		return redactor{}
	}
	// A Replacer tries its patterns in argument order at each position, so
	// the longest go first: a whole URL must win over its path.
	slices.SortStableFunc(pairs, func(a, b pair) int { return len(b.old) - len(a.old) })
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p.old, p.new)
	}
	return redactor{r: strings.NewReplacer(args...), longest: len(pairs[0].old)}
}

func (r redactor) scrub(s string) string {
	if r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// redactError returns err with a scrubbed message. A top-level *url.Error,
// which is what net/http returns, is replaced by a copy whose URL is
// scrubbed too, so errors.As finds no secret there; deeper errors in the
// chain are kept as they are (errors.Is keeps working) and only the message
// is guaranteed clean.
func (r redactor) redactError(err error) error {
	if err == nil {
		return nil
	}
	if ue, ok := err.(*url.Error); ok {
		err = &url.Error{Op: ue.Op, URL: r.scrub(ue.URL), Err: ue.Err}
	}
	msg := err.Error()
	clean := r.scrub(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// redactedError is an error whose message has been scrubbed of secrets.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
