package alert

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// EventType is the Standard Webhooks event type of every alert. Receivers
// route on it; a change of the payload's meaning gets a new type.
const EventType = "crossTenantSignIn.firstSeen"

// Directions of a cross-tenant sign-in, as seen from the tenant whose logs
// recorded it.
const (
	// DirectionOutbound: our user signed in to another tenant.
	DirectionOutbound = "outbound"
	// DirectionInbound: a guest from another tenant signed in to ours.
	DirectionInbound = "inbound"
	// DirectionOther: neither tenant of the sign-in is the logging tenant.
	DirectionOther = "other"
)

// idPrefix marks alert ids so that a webhook-id is recognisable in a
// receiver's logs; it is part of the persisted id and must never change.
const idPrefix = "ctsi_"

// episodeLayout renders an episode id with the full 100 ns resolution Entra
// uses, fixed width, so that one instant has exactly one spelling.
const episodeLayout = "2006-01-02T15:04:05.0000000Z"

// ID derives the alert id from the pair and its episode id, so that every
// instance and every retry names the same alert.
//
// user is the normalised user principal name, resourceTenant the normalised
// resource tenant id and episodeID the episode id (it is converted to UTC and
// truncated to 100 ns). The id is "ctsi_" followed by the first 32 hex
// digits of the SHA-256 of the three parts, each written as a netstring
// ("<decimal byte length>:<bytes>,"), the time as 2006-01-02T15:04:05.0000000Z.
// Length prefixes keep ("ab","c") and ("a","bc") apart whatever the parts
// contain. The result is a valid Standard Webhooks message id (no '.').
//
// The id is persisted and sent as webhook-id: the encoding is fixed forever.
func ID(user, resourceTenant string, episodeID time.Time) string {
	ep := episodeID.UTC().Truncate(100 * time.Nanosecond).Format(episodeLayout)
	h := sha256.New()
	for _, part := range []string{user, resourceTenant, ep} {
		io.WriteString(h, strconv.Itoa(len(part))+":")
		io.WriteString(h, part)
		io.WriteString(h, ",")
	}
	sum := h.Sum(nil)
	return idPrefix + hex.EncodeToString(sum[:16])
}

// Location is where Entra placed the sign-in's IP address.
type Location struct {
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
}

// Data is the alert's content: the sign-in that raised the alert of an
// episode of a (user, resource tenant) pair. The user principal name and
// tenant ids are the normalised (trimmed, lower-cased) ones the pair is keyed
// by; the other values are as the record had them.
//
// Fields without omitempty are always present in the JSON, so a receiver can
// rely on them; the others appear when known.
type Data struct {
	AlertID string `json:"alertId"`

	UserPrincipalName string `json:"userPrincipalName"`
	UserID            string `json:"userId"`
	UserDisplayName   string `json:"userDisplayName,omitempty"`
	UserType          string `json:"userType,omitempty"`

	HomeTenantID     string `json:"homeTenantId"`
	ResourceTenantID string `json:"resourceTenantId"`
	// OtherTenantID is the tenant that is not ours: the resource tenant for
	// outbound and other sign-ins, the home tenant for inbound ones.
	OtherTenantID string `json:"otherTenantId"`
	// OtherTenantName is empty unless the name is known.
	OtherTenantName string `json:"otherTenantName,omitempty"`
	// Direction is DirectionOutbound, DirectionInbound or DirectionOther.
	Direction string `json:"direction"`

	SignInID        string `json:"signInId"`
	CorrelationID   string `json:"correlationId,omitempty"`
	CreatedDateTime string `json:"createdDateTime"` // as in the record
	Category        string `json:"category"`

	AppID               string   `json:"appId,omitempty"`
	AppDisplayName      string   `json:"appDisplayName"`
	ResourceDisplayName string   `json:"resourceDisplayName,omitempty"`
	IPAddress           string   `json:"ipAddress"`
	Location            Location `json:"location,omitzero"`

	RiskLevelAggregated   string `json:"riskLevelAggregated"`
	RiskLevelDuringSignIn string `json:"riskLevelDuringSignIn"`
	RiskState             string `json:"riskState"`
	RiskDetail            string `json:"riskDetail,omitempty"`
	// RiskEventTypes is always a JSON array, [] when there are none.
	RiskEventTypes        []string `json:"riskEventTypes"`
	CrossTenantAccessType string   `json:"crossTenantAccessType"`

	EpisodeID    time.Time `json:"episodeId"`
	EpisodeStart time.Time `json:"episodeStart"`
	// BaselineTenantCount is how many tenants the user has in the baseline,
	// when known.
	BaselineTenantCount int `json:"baselineTenantCount,omitempty"`
	// Test marks a sample sent to check the delivery path; the Teams card
	// says so in its title.
	Test bool `json:"test,omitempty"`
}

// MarshalJSON writes d with riskEventTypes as an array even when nil (a
// receiver should not have to tell null from []) and times in UTC.
func (d Data) MarshalJSON() ([]byte, error) {
	type plain Data // plain has no methods, so this does not recurse
	p := plain(d)
	if p.RiskEventTypes == nil {
		p.RiskEventTypes = []string{}
	}
	p.EpisodeID = p.EpisodeID.UTC()
	p.EpisodeStart = p.EpisodeStart.UTC()
	return marshalJSON(p)
}

// Envelope is the Standard Webhooks payload of an alert:
// {"type":EventType,"timestamp":...,"data":{...}}.
type Envelope struct {
	Type string `json:"type"`
	// Timestamp is when the alert was raised (not when an attempt was made:
	// that is the webhook-timestamp header). It is written in UTC.
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// NewEnvelope wraps d as an alert raised at raised.
func NewEnvelope(d Data, raised time.Time) Envelope {
	return Envelope{Type: EventType, Timestamp: raised.UTC(), Data: d}
}

// MarshalJSON writes e with its timestamp in UTC.
func (e Envelope) MarshalJSON() ([]byte, error) {
	type plain Envelope
	p := plain(e)
	p.Timestamp = p.Timestamp.UTC()
	return marshalJSON(p)
}

// Format is the shape of the webhook request body.
type Format string

const (
	// FormatJSON posts the Envelope as JSON, signed per Standard Webhooks.
	FormatJSON Format = "json"
	// FormatTeams posts an Adaptive Card to a Teams Workflows webhook.
	FormatTeams Format = "teams"
)

// marshalJSON is json.Marshal without HTML escaping: the bodies go to
// webhooks, not into HTML, and "<" spelled \u003c only costs bytes (the
// Teams card has a size budget) and readability.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
