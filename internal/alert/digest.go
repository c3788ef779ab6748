package alert

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxDigestAlerts bounds how many alerts one digest card lists, so each
// listed alert keeps a readable line within the card size limit.
const MaxDigestAlerts = 25

// TeamsDigest builds one Teams message listing several alerts, for when
// the flood guard holds individual cards back: a channel is for people, and
// fifty cards an hour is not read. It lists as many of envs as fit (at most
// MaxDigestAlerts, in order) and returns how many it listed; only those
// count as delivered by it. Like TeamsMessage, it puts every value taken
// from an alert in a TextRun, never parsed as Markdown.
func TeamsDigest(envs []Envelope, limit int, opts CardOptions) ([]byte, int, error) {
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultCardMaxBytes
	}
	n := min(len(envs), MaxDigestAlerts)
	for ; n > 0; n-- {
		body, err := marshalJSON(digestMessage(envs[:n], len(envs), limit))
		if err != nil {
			return nil, 0, fmt.Errorf("encode teams digest: %w", err)
		}
		if len(body) <= maxBytes {
			return body, n, nil
		}
	}
	return nil, 0, fmt.Errorf("%w: not even one alert fits a digest", ErrCardTooLarge)
}

func digestMessage(envs []Envelope, held, limit int) teamsMessage {
	title := strconv.Itoa(len(envs)) + " risky first-seen cross-tenant sign-ins (digest)"
	why := "More than " + strconv.Itoa(limit) + " alert cards were posted this hour (ALERT_MAX_PER_HOUR), so the rest are listed together. Each alert's full details stay in the alerts table under the id shown."
	if rest := held - len(envs); rest > 0 {
		why += " " + strconv.Itoa(rest) + " more follow in the next digest."
	}
	c := adaptiveCard{
		Schema:       cardSchema,
		Version:      cardVersion,
		FallbackText: title,
		MSTeams:      msTeams{Width: "Full"},
		Body: []element{container{Style: styleWarning, Bleed: true, Items: []element{
			textBlock{Text: title, Size: sizeLarge, Weight: weightBolder, Wrap: true},
			textBlock{Text: why, Wrap: true, Spacing: spacingSmall},
		}}},
	}
	for _, env := range envs {
		d := env.Data
		who := clean(d.UserPrincipalName, 96)
		arrow := " → "
		if d.Direction == DirectionInbound {
			arrow = " ← "
		}
		tenant := clean(d.OtherTenantID, 64)
		if name := clean(d.OtherTenantName, 64); name != "" {
			tenant = name + " (" + tenant + ")"
		}
		detail := joinNonEmpty(" · ",
			strings.ToLower(clean(d.RiskLevelAggregated, 24)),
			clean(d.AppDisplayName, 48),
			clean(d.IPAddress, 45),
			clean(d.CreatedDateTime, 40),
			clean(d.AlertID, 40),
		)
		c.Body = append(c.Body, richTextBlock{Inlines: []textRun{
			{Text: who, Weight: weightBolder},
			{Text: arrow + tenant},
			{Text: "\n" + detail},
		}})
	}
	return teamsMessage{Type: "message", Summary: title, Attachments: []attachment{{ContentType: cardContentType, Content: c}}}
}

// SendDigest posts one digest card listing envs (Teams only) and reports
// how many of them it listed, with the attempt's result.
func (n *Notifier) SendDigest(ctx context.Context, envs []Envelope, limit int, now time.Time) (Result, int) {
	if n.cfg.Format != FormatTeams {
		return Result{Err: fmt.Errorf("%w: digests are for Teams", ErrInvalidAlert)}, 0
	}
	body, listed, err := TeamsDigest(envs, limit, CardOptions{})
	if err != nil {
		return Result{Err: err}, 0
	}
	res := n.post(ctx, "digest", body, now)
	if res.Err != nil {
		res.Err = n.Redact(res.Err)
	}
	return res, listed
}
