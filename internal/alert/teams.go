package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The Teams card.
//
// A Teams Workflows webhook ("When a Teams webhook request is received")
// takes a message whose attachment is an Adaptive Card; Teams renders cards
// up to version 1.5 and rejects messages over about 28 KB, in the flow's run
// history only (the webhook itself answers 202 either way), so the card must
// fit by construction.
//
// Markdown: Teams renders a Markdown subset (bold, italic, lists, links) in
// TextBlock text and, contrary to what one might hope, in FactSet titles and
// values too (learn.microsoft.com, "Format cards in Teams"). A guest's UPN or
// display name, a tenant name and an app name are chosen by whoever controls
// the other tenant, so an app called "[Verify your account](https://…)"
// would become a link in a security alert. Escaping with backslashes is not
// reliable: Teams clients have handled "\*" and "\_" differently (some
// mobile clients show the backslashes), which would also corrupt the UPN an
// analyst copies from the card. So the card puts every value taken from the
// alert in a RichTextBlock TextRun, which Adaptive Cards never parse as
// Markdown, and uses TextBlocks only for our own constant labels. That is
// why a label/value row is a ColumnSet rather than a FactSet. Values are
// also stripped of control and bidirectional-override characters, which
// could fake extra rows or reverse text.

const (
	// DefaultCardMaxBytes is the default bound on a Teams message body, just
	// under the documented ~28 KB limit.
	DefaultCardMaxBytes = 28000

	cardContentType = "application/vnd.microsoft.card.adaptive"
	cardSchema      = "http://adaptivecards.io/schemas/adaptive-card.json"
	// cardVersion is the newest version the card needs (RichTextBlock is
	// 1.2); Teams renders up to 1.5.
	cardVersion = "1.4"

	cardTitle     = "Risky first-seen cross-tenant sign-in"
	testPrefix    = "TEST ALERT — "
	entraSignIns  = "https://entra.microsoft.com/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/SignIns/userId/"
	episodeFormat = "2006-01-02 15:04:05Z07:00"
)

// Adaptive Card enumerations used by the card.
const (
	styleAttention = "attention"
	styleWarning   = "warning"
	styleEmphasis  = "emphasis"
	styleAccent    = "accent"
	weightBolder   = "Bolder"
	sizeLarge      = "Large"
	colorAttention = "Attention"
	colorWarning   = "Warning"
	spacingSmall   = "Small"
	spacingMedium  = "Medium"
)

// ErrCardTooLarge reports a CardOptions.MaxBytes too small even for the
// card's minimal form (about 2 KB).
var ErrCardTooLarge = errors.New("teams message does not fit the size limit")

// CardOptions tunes TeamsMessage.
type CardOptions struct {
	// MaxBytes bounds the whole message body, in bytes (DefaultCardMaxBytes
	// when 0). Parts are dropped, least important first, and long values
	// shortened until the message fits.
	MaxBytes int
}

// TeamsMessage builds the Teams Workflows message for env: an Adaptive Card
// that says who signed in to which tenant, in which direction, with what
// risk, from which app, address and place, and links to the user's sign-in
// logs in the Entra admin center when the user id is a GUID.
//
// It is a pure function. The result is never longer than opts.MaxBytes: the
// risk event list is shortened first, then location, app details and ids
// are dropped and long values truncated (in runes, marked with "…"). The
// error wraps ErrCardTooLarge when even the minimal card does not fit.
func TeamsMessage(env Envelope, opts CardOptions) ([]byte, error) {
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultCardMaxBytes
	}
	size := 0
	for _, b := range cardBudgets() {
		body, err := marshalJSON(buildMessage(env.Data, b))
		if err != nil {
			return nil, fmt.Errorf("encode teams message: %w", err)
		}
		if len(body) <= limit {
			return body, nil
		}
		size = len(body)
	}
	return nil, fmt.Errorf("%w: the smallest card takes %d bytes, the limit is %d", ErrCardTooLarge, size, limit)
}

// cardBudget says how much of an alert a card shows.
type cardBudget struct {
	events   int  // risk event types listed by name; the rest are counted
	location bool // the location row
	details  bool // app id, resource, category, correlation id
	ids      bool // user id, sign-in id, alert id, episode start
	minimal  bool // only the title, the user, the other tenant and the risk
	text     int  // longest ordinary value, in runes
	key      int  // longest identifying value (UPN, names, tenant ids), in runes
}

// cardBudgets lists the budgets TeamsMessage tries, most generous first.
// Even the first caps values: nobody reads a 10,000-character app name.
func cardBudgets() []cardBudget {
	return []cardBudget{
		{events: 50, location: true, details: true, ids: true, text: 256, key: 256},
		{events: 10, location: true, details: true, ids: true, text: 256, key: 256},
		{events: 3, details: true, ids: true, text: 256, key: 256},
		{events: 3, ids: true, text: 256, key: 256},
		{events: 3, ids: true, text: 128, key: 256},
		{text: 64, key: 128},
		{text: 32, key: 64},
		{minimal: true, text: 16, key: 40},
	}
}

func buildMessage(d Data, b cardBudget) teamsMessage {
	title := cardTitle
	if d.Test {
		title = testPrefix + cardTitle
	}
	user := clean(d.UserPrincipalName, b.key)
	tenant := clean(d.OtherTenantID, b.key)
	if name := clean(d.OtherTenantName, b.key); name != "" && tenant != "" {
		tenant = name + " (" + tenant + ")"
	} else if name != "" {
		tenant = name
	}
	summary := title + ": " + user + ", other tenant " + tenant

	c := adaptiveCard{
		Schema:       cardSchema,
		Version:      cardVersion,
		FallbackText: summary,
		MSTeams:      msTeams{Width: "Full"},
	}
	c.Body = append(c.Body, header(d, title))
	c.Body = append(c.Body, rows(d, b)...)
	if id := strings.ToLower(strings.TrimSpace(d.UserID)); isGUID(id) && !b.minimal {
		c.Actions = append(c.Actions, actionOpenURL{Title: "Open the user's sign-in logs in Entra", URL: entraSignIns + id})
	}
	return teamsMessage{
		Type:    "message",
		Summary: summary,
		Attachments: []attachment{{
			ContentType: cardContentType,
			Content:     c,
		}},
	}
}

// header is the coloured band at the top: title and what happened, in
// constant words chosen by direction.
func header(d Data, title string) element {
	style, color := styleEmphasis, ""
	switch strings.ToLower(d.RiskLevelAggregated) {
	case "high":
		style, color = styleAttention, colorAttention
	case "medium":
		style, color = styleWarning, colorWarning
	}
	if d.Test {
		style, color = styleAccent, ""
	}
	items := []element{
		textBlock{Text: title, Size: sizeLarge, Weight: weightBolder, Color: color, Wrap: true},
		textBlock{Text: directionSentence(d.Direction), Wrap: true, Spacing: spacingSmall},
	}
	if d.Test {
		items = append(items, textBlock{
			Text:   "This is a test alert, sent to check that alerts arrive. No sign-in happened; the details below are samples.",
			Weight: weightBolder, Wrap: true, Spacing: spacingSmall,
		})
	}
	return container{Style: style, Bleed: true, Items: items}
}

func directionSentence(direction string) string {
	switch direction {
	case DirectionOutbound:
		return "Your user signed in to another tenant that is new for them, and the sign-in carries risk."
	case DirectionInbound:
		return "A guest from another tenant signed in to yours for the first time, and the sign-in carries risk."
	default:
		return "A user signed in across two tenants, neither of them yours, for the first time, and the sign-in carries risk."
	}
}

func directionWords(direction string) string {
	switch direction {
	case DirectionOutbound:
		return "Outbound: your user signed in to another tenant"
	case DirectionInbound:
		return "Inbound: a guest from another tenant signed in to yours"
	case DirectionOther:
		return "Other: neither tenant is yours"
	}
	return direction
}

// rows lays out the alert's values as label/value rows in groups: who,
// where, risk, the sign-in, the episode.
func rows(d Data, b cardBudget) []element {
	var out []element
	group := true // the next row starts a group
	add := func(label string, runs ...textRun) {
		for _, r := range runs {
			if r.Text != "" {
				out = append(out, row(label, runs, group))
				group = false
				return
			}
		}
	}
	key := func(s string) textRun { return textRun{Text: clean(s, b.key)} }
	text := func(s string) textRun { return textRun{Text: clean(s, b.text)} }
	bold := func(r textRun) textRun { r.Weight = weightBolder; return r }

	tenant := []textRun{bold(key(d.OtherTenantID))}
	if name := clean(d.OtherTenantName, b.key); name != "" {
		tenant = []textRun{bold(textRun{Text: name})}
		if id := clean(d.OtherTenantID, b.key); id != "" {
			tenant = append(tenant, textRun{Text: " (" + id + ")"})
		}
	}

	if b.minimal {
		add("User", bold(key(d.UserPrincipalName)))
		add("Other tenant", tenant...)
		add("Risk (aggregated)", bold(text(d.RiskLevelAggregated)))
		return out
	}

	add("User", bold(key(d.UserPrincipalName)))
	add("Display name", key(d.UserDisplayName))
	add("User type", text(d.UserType))
	if b.ids {
		add("User id", key(d.UserID))
	}
	add("Home tenant", key(d.HomeTenantID))

	group = true
	add("Other tenant", tenant...)
	add("Direction", textRun{Text: clean(directionWords(d.Direction), b.text)})
	add("Cross-tenant access", text(d.CrossTenantAccessType))
	if d.BaselineTenantCount > 0 {
		add("Tenants in baseline", textRun{Text: strconv.Itoa(d.BaselineTenantCount)})
	}

	group = true
	add("Risk (aggregated)", bold(text(d.RiskLevelAggregated)))
	add("Risk during sign-in", text(d.RiskLevelDuringSignIn))
	add("Risk state", text(d.RiskState))
	add("Risk detail", text(d.RiskDetail))
	add("Risk events", textRun{Text: riskEvents(d.RiskEventTypes, b)})

	group = true
	add("Sign-in time", text(d.CreatedDateTime))
	add("Application", text(d.AppDisplayName))
	if b.details {
		add("Application id", text(d.AppID))
		add("Resource", text(d.ResourceDisplayName))
	}
	add("IP address", text(d.IPAddress))
	if b.location {
		add("Location", text(joinNonEmpty(", ", d.Location.City, d.Location.State, d.Location.CountryOrRegion)))
	}
	if b.details {
		add("Category", text(d.Category))
	}
	if b.ids {
		add("Sign-in id", text(d.SignInID))
	}
	if b.details {
		add("Correlation id", text(d.CorrelationID))
	}

	if b.ids {
		group = true
		if !d.EpisodeStart.IsZero() {
			add("Episode start", textRun{Text: d.EpisodeStart.UTC().Format(episodeFormat)})
		}
		add("Alert id", text(d.AlertID))
	}
	return out
}

// riskEvents lists up to b.events event types, within 4*b.text runes in
// all, and counts the rest.
func riskEvents(events []string, b cardBudget) string {
	var (
		shown []string
		used  int
		rest  int
	)
	for _, e := range events {
		e = clean(e, b.text)
		if e == "" {
			continue
		}
		n := utf8.RuneCountInString(e) + len(", ")
		if rest > 0 || len(shown) == b.events || used+n > 4*b.text {
			rest++
			continue
		}
		shown = append(shown, e)
		used += n
	}
	s := strings.Join(shown, ", ")
	switch {
	case rest > 0 && len(shown) == 0:
		s = strconv.Itoa(rest) + " (not listed)"
	case rest > 0:
		s += ", and " + strconv.Itoa(rest) + " more"
	}
	return s
}

// row is one label/value line. See the comment at the top of the file for
// why it is not a Fact.
func row(label string, value []textRun, separator bool) element {
	cs := columnSet{
		Columns: []column{
			{Width: 1, Items: []element{textBlock{Text: label, Weight: weightBolder, Wrap: true}}},
			{Width: 3, Items: []element{richTextBlock{Inlines: value}}},
		},
	}
	if separator {
		cs.Separator, cs.Spacing = true, spacingMedium
	}
	return cs
}

// clean makes a value from the alert fit for display: control characters
// (which could start fake lines) become spaces, bidirectional controls
// (which could reverse what is shown) and invalid UTF-8 become U+FFFD,
// surrounding space is trimmed, and the result is cut to n runes.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return ' '
		case unicode.Is(unicode.Bidi_Control, r):
			return utf8.RuneError
		}
		return r
	}, s)
	return truncateRunes(strings.TrimSpace(s), n)
}

// truncateRunes cuts s to at most n runes, the last being "…" when s was
// longer.
func truncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, kept := 0, 0
	for i < len(s) && kept < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		kept++
	}
	return s[:i] + "…"
}

func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// isGUID reports whether s is a GUID in its canonical 8-4-4-4-12 form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Message and card types. Each element type's MarshalJSON adds its "type",
// so a body cannot hold an element of the wrong type name.

type teamsMessage struct {
	Type string `json:"type"`
	// Summary is what Teams shows in notifications and the activity feed.
	Summary     string       `json:"summary,omitempty"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ContentType string `json:"contentType"`
	// ContentURL is always null; the Workflows samples send it.
	ContentURL *string      `json:"contentUrl"`
	Content    adaptiveCard `json:"content"`
}

type adaptiveCard struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	// FallbackText is shown by clients that cannot render the card.
	FallbackText string    `json:"fallbackText,omitempty"`
	Body         []element `json:"body"`
	Actions      []element `json:"actions,omitempty"`
	MSTeams      msTeams   `json:"msteams"`
}

type msTeams struct {
	Width string `json:"width"`
}

// element is an Adaptive Card element or action.
type element interface {
	json.Marshaler
}

type container struct {
	Style string    `json:"style,omitempty"`
	Bleed bool      `json:"bleed,omitempty"`
	Items []element `json:"items"`
}

// textBlock renders Markdown: only constant text goes in one.
type textBlock struct {
	Text      string `json:"text"`
	Size      string `json:"size,omitempty"`
	Weight    string `json:"weight,omitempty"`
	Color     string `json:"color,omitempty"`
	Wrap      bool   `json:"wrap,omitempty"`
	Spacing   string `json:"spacing,omitempty"`
	Separator bool   `json:"separator,omitempty"`
}

// richTextBlock and textRun render text literally: values go in them.
type richTextBlock struct {
	Inlines []textRun `json:"inlines"`
}

type textRun struct {
	Text   string `json:"text"`
	Weight string `json:"weight,omitempty"`
}

type columnSet struct {
	Columns   []column `json:"columns"`
	Spacing   string   `json:"spacing,omitempty"`
	Separator bool     `json:"separator,omitempty"`
}

type column struct {
	Width int       `json:"width,omitempty"` // a relative weight
	Items []element `json:"items"`
}

type actionOpenURL struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

func (c adaptiveCard) MarshalJSON() ([]byte, error) {
	type plain adaptiveCard
	return typed("AdaptiveCard", plain(c))
}

func (c container) MarshalJSON() ([]byte, error) {
	type plain container
	return typed("Container", plain(c))
}

func (t textBlock) MarshalJSON() ([]byte, error) {
	type plain textBlock
	return typed("TextBlock", plain(t))
}

func (r richTextBlock) MarshalJSON() ([]byte, error) {
	type plain richTextBlock
	return typed("RichTextBlock", plain(r))
}

func (r textRun) MarshalJSON() ([]byte, error) {
	type plain textRun
	return typed("TextRun", plain(r))
}

func (c columnSet) MarshalJSON() ([]byte, error) {
	type plain columnSet
	return typed("ColumnSet", plain(c))
}

func (c column) MarshalJSON() ([]byte, error) {
	type plain column
	return typed("Column", plain(c))
}

func (a actionOpenURL) MarshalJSON() ([]byte, error) {
	type plain actionOpenURL
	return typed("Action.OpenUrl", plain(a))
}

// typed marshals the struct v as a JSON object whose first member is
// "type": typ.
func typed(typ string, v any) ([]byte, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("adaptive card %s: not an object", typ)
	}
	out := make([]byte, 0, len(b)+len(typ)+10)
	out = append(out, `{"type":`...)
	out = strconv.AppendQuote(out, typ)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}
