package signin

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The types in this file mirror the wire format closely enough for
// encoding/json to decode a whole body in one pass, while accepting every
// JSON type for the fields the producer is known (or likely) to vary. None
// of their UnmarshalJSON methods returns an error: type surprises are
// recorded and judged later, in one place, by toRecord. A JSON null is
// treated exactly like an absent field.

// wireRecord is one element of the records array.
type wireRecord struct {
	Category      text            `json:"category"`
	TenantID      text            `json:"tenantId"`
	Time          text            `json:"time"`
	ResultType    text            `json:"resultType"`
	CorrelationID text            `json:"correlationId"`
	Properties    *wireProperties `json:"properties"`
}

// wireProperties is the sign-in itself. Properties stays a plain struct
// (not a custom unmarshaler) because it is nearly the whole record: a
// custom UnmarshalJSON would make encoding/json scan it twice.
type wireProperties struct {
	ID                    text         `json:"id"`
	CreatedDateTime       text         `json:"createdDateTime"`
	UserPrincipalName     text         `json:"userPrincipalName"`
	UserID                text         `json:"userId"`
	UserDisplayName       text         `json:"userDisplayName"`
	UserType              text         `json:"userType"`
	HomeTenantID          text         `json:"homeTenantId"`
	ResourceTenantID      text         `json:"resourceTenantId"`
	HomeTenantName        text         `json:"homeTenantName"`
	AppID                 text         `json:"appId"`
	AppDisplayName        text         `json:"appDisplayName"`
	ResourceDisplayName   text         `json:"resourceDisplayName"`
	IPAddress             text         `json:"ipAddress"`
	CorrelationID         text         `json:"correlationId"`
	Status                wireStatus   `json:"status"`
	RiskLevelAggregated   text         `json:"riskLevelAggregated"`
	RiskLevelDuringSignIn text         `json:"riskLevelDuringSignIn"`
	RiskState             text         `json:"riskState"`
	RiskDetail            text         `json:"riskDetail"`
	RiskEventTypesV2      stringList   `json:"riskEventTypes_v2"`
	RiskEventTypes        stringList   `json:"riskEventTypes"`
	CrossTenantAccessType text         `json:"crossTenantAccessType"`
	IsInteractive         flexBool     `json:"isInteractive"`
	Location              wireLocation `json:"location"`
}

// jsonKind is the JSON type a tolerant field arrived as.
type jsonKind uint8

const (
	kindAbsent jsonKind = iota // absent or null
	kindString
	kindNumber
	kindBool
	kindObject
	kindArray
)

func (k jsonKind) String() string {
	switch k {
	case kindString:
		return "string"
	case kindNumber:
		return "number"
	case kindBool:
		return "boolean"
	case kindObject:
		return "object"
	case kindArray:
		return "array"
	}
	return "null"
}

func kindOf(b []byte) jsonKind {
	if len(b) == 0 {
		return kindAbsent
	}
	switch b[0] {
	case '"':
		return kindString
	case 't', 'f':
		return kindBool
	case '{':
		return kindObject
	case '[':
		return kindArray
	case 'n':
		return kindAbsent
	}
	return kindNumber
}

// text is a string field that may arrive as any JSON type. Numbers and
// booleans keep their JSON text; objects and arrays leave s empty and are
// remembered in kind so that fields where they make no sense can be
// rejected.
type text struct {
	s    string
	kind jsonKind
}

func (t *text) UnmarshalJSON(b []byte) error {
	*t = text{kind: kindOf(b)}
	switch t.kind {
	case kindString:
		t.s = unquote(b)
	case kindNumber, kindBool:
		t.s = string(b)
	}
	return nil
}

// compound reports whether the field arrived as an object or an array.
func (t text) compound() bool { return t.kind == kindObject || t.kind == kindArray }

// unquote decodes a JSON string literal that encoding/json has already
// validated. Most strings in a sign-in record carry no escapes, so they are
// copied directly; anything else goes through encoding/json, which also
// replaces invalid UTF-8 the way it does for ordinary string fields.
func unquote(b []byte) string {
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return ""
	}
	return s
}

// flexBool is a boolean that may also arrive as "true", "False", 1 or 0.
// Anything it cannot read is false.
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	var t text
	_ = t.UnmarshalJSON(b)
	ok, err := strconv.ParseBool(strings.TrimSpace(t.s))
	*v = flexBool(ok && err == nil)
	return nil
}

// wireStatus is properties.status. Anything but an object is treated as
// absent: the status only refines resultType, so a strange one is harmless.
type wireStatus struct {
	errorCode *int64
}

func (s *wireStatus) UnmarshalJSON(b []byte) error {
	*s = wireStatus{}
	if kindOf(b) != kindObject {
		return nil
	}
	var w struct {
		ErrorCode text `json:"errorCode"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil
	}
	s.errorCode = parseErrorCode(w.ErrorCode)
	return nil
}

// parseErrorCode accepts an integer JSON number, an integral one written
// with a fraction or exponent (0.0, 5.014e4), or a string holding a decimal
// integer. Everything else is unknown.
func parseErrorCode(t text) *int64 {
	var s string
	switch t.kind {
	case kindNumber, kindString:
		s = strings.TrimSpace(t.s)
	default:
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return &n
	}
	if t.kind != kindNumber {
		return nil
	}
	// Only JSON number syntax reaches here, so ParseFloat cannot be fed
	// hexadecimal, "Inf" or "NaN".
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < -(1<<63) || f >= 1<<63 || f != math.Trunc(f) {
		return nil
	}
	n := int64(f)
	return &n
}

// wireLocation is properties.location; anything but an object is treated
// as absent.
type wireLocation struct {
	v Location
}

func (l *wireLocation) UnmarshalJSON(b []byte) error {
	*l = wireLocation{}
	if kindOf(b) != kindObject {
		return nil
	}
	var w struct {
		City            text `json:"city"`
		State           text `json:"state"`
		CountryOrRegion text `json:"countryOrRegion"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil
	}
	l.v = Location{City: w.City.s, State: w.State.s, CountryOrRegion: w.CountryOrRegion.s}
	return nil
}

// stringList is a list of names, normally a JSON array of strings. Because
// the field has been renamed once (riskEventTypes became riskEventTypes_v2)
// and pipelines in between have been seen flattening arrays, it also
// accepts a string holding a JSON array or a comma-separated list.
// present is false when the field is absent, null, or of a type that cannot
// hold a list (number, boolean, object), so that a fallback field may be
// used instead.
type stringList struct {
	items   []string
	present bool
}

func (l *stringList) UnmarshalJSON(b []byte) error {
	*l = stringList{}
	switch kindOf(b) {
	case kindArray:
		l.present = true
		l.items = decodeArray(b)
	case kindString:
		l.present = true
		l.items = splitList(unquote(b))
	}
	return nil
}

// decodeArray returns the scalar elements of a JSON array as trimmed text,
// dropping empty ones, nulls, objects and arrays.
func decodeArray(b []byte) []string {
	var elems []text
	if err := json.Unmarshal(b, &elems); err != nil {
		return nil
	}
	var out []string
	for _, e := range elems {
		if s := strings.TrimSpace(e.s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// splitList reads a list that was flattened into a string: either JSON
// array text, or names separated by commas, optionally inside brackets and
// quotes ("[a, b]", "a,b", `"a","b"`).
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		if json.Valid([]byte(s)) && kindOf([]byte(s)) == kindArray {
			return decodeArray([]byte(s))
		}
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.Trim(strings.TrimSpace(part), `"'`)
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
