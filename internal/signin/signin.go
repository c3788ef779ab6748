// Package signin parses Microsoft Entra ID sign-in log records as Azure
// Monitor diagnostic settings deliver them to Event Hubs.
//
// Each Event Hub event body is a JSON object {"records":[...]} holding one
// or more records in the Azure Monitor resource-log shape: common fields at
// the top (time, category, tenantId, resultType, ...) and the sign-in itself
// under "properties". The producer is not consistent about types: resultType
// is usually a string but may be a number, Level arrives as 4, "4" or
// "Informational", durationMs as 0 or "0", and time in more than one format.
// The package therefore reads the few fields Tenantwatch needs through
// tolerant decoders and ignores everything else, so that a surprising but
// harmless value never costs a sign-in. Only a record that cannot be
// understood at all (not an object, properties that is not an object, an
// identity field that is an object or an array) is reported as a Problem,
// and it never hides the good records beside it.
//
// The package is pure: it does no I/O, keeps no state and never panics on
// any input, because its input comes straight from the network.
package signin

// Location is where Entra placed the sign-in (properties.location).
type Location struct {
	City, State, CountryOrRegion string
}

// Record is one sign-in record with the fields Tenantwatch reads. Strings
// are as in the record except where noted. A field that is absent or null
// is "". A string field that arrived as a number or a boolean holds its
// JSON text ("4", "true"); one that arrived as an object or an array is "".
type Record struct {
	// Position is the 0-based index of the record in the body's records
	// array (0 for a body that is a single record).
	Position int

	Category      string // top-level "category", trimmed, case kept
	TenantID      string // top-level "tenantId", trimmed and lower-cased
	Time          string // top-level "time", raw
	ResultType    string // top-level "resultType" as text, trimmed ("0", "50140"); "" when absent, null or empty
	CorrelationID string // top-level "correlationId", or properties.correlationId when that is empty

	ID                   string // properties.id
	CreatedDateTime      string // properties.createdDateTime, raw
	UserPrincipalName    string // properties.userPrincipalName, trimmed and lower-cased
	UserPrincipalNameRaw string // properties.userPrincipalName as in the record
	UserID               string
	UserDisplayName      string
	UserType             string
	HomeTenantID         string // trimmed and lower-cased
	ResourceTenantID     string // trimmed and lower-cased
	HomeTenantName       string
	AppID                string
	AppDisplayName       string
	ResourceDisplayName  string
	IPAddress            string

	// ErrorCode is properties.status.errorCode; nil when it is absent, null
	// or not an integer. A numeric string ("0") is accepted.
	ErrorCode *int64

	// Risk values keep the record's case and spacing: the values form an
	// evolvable enumeration, so they are compared, not interpreted, here.
	RiskLevelAggregated   string
	RiskLevelDuringSignIn string
	RiskState             string
	RiskDetail            string
	// RiskLevelAggregatedPresent is false when riskLevelAggregated is
	// absent, null or empty after trimming. Tenantwatch must tell a missing
	// level apart from any value, "none" included.
	RiskLevelAggregatedPresent bool

	// RiskEventTypes is properties.riskEventTypes_v2, or the deprecated
	// riskEventTypes when riskEventTypes_v2 is absent. Elements are trimmed
	// and empty ones dropped; nil when there are none.
	RiskEventTypes []string

	CrossTenantAccessType string
	IsInteractive         bool
	Location              Location
}

// Problem is a record that could not be decoded at all: it is not a JSON
// object, or one of its fields has a type that leaves its meaning unknown
// (properties that is not an object, a user or tenant id that is an object).
type Problem struct {
	Position int // 0-based index of the record in the body's records array
	// Reason says what is wrong in a few words. It names fields and JSON
	// types but never quotes the record, which may hold personal data.
	Reason string
}

// BodyError reports an event body that is not one of the shapes ParseBody
// accepts, so that none of its records can be found.
type BodyError struct {
	Reason string // e.g. "is not valid JSON", "records is a JSON object, want an array"
	Err    error  // the underlying JSON syntax error, if any
}

func (e *BodyError) Error() string {
	if e.Err != nil {
		return "signin: event body " + e.Reason + ": " + e.Err.Error()
	}
	return "signin: event body " + e.Reason
}

func (e *BodyError) Unwrap() error { return e.Err }
