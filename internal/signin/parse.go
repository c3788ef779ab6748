package signin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ParseBody decodes one Event Hub event body.
//
// It accepts the diagnostic-settings shape {"records":[...]} and, because
// replays and hand-made test events are not always wrapped, also a bare
// JSON array of records or a single record object (one with a non-null
// "category" or "properties"). A leading UTF-8 byte order mark is ignored.
//
// ParseBody returns every decodable record and a Problem for each record
// that is not, both in records-array order. One bad record never loses the
// good records beside it. Unknown fields are ignored, and so is the type of
// every field Tenantwatch does not read.
//
// The error is non-nil, and then the only result, when the body as a whole
// is unusable: empty, not JSON (truncated ones included), nested deeper than
// encoding/json allows, not an object or an array, an object with neither a
// records array nor the look of a record, or a records value that is not an
// array. It is a *BodyError. When a key repeats, which occurrence is read is
// unspecified.
func ParseBody(body []byte) ([]Record, []Problem, error) {
	body = trimBody(body)
	if err := checkTopLevel(body); err != nil {
		return nil, nil, err
	}
	wires, ok, err := decodeFast(body)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return decodeSlow(body)
	}
	records := make([]Record, 0, len(wires))
	var problems []Problem
	for i, w := range wires {
		var r Record
		reason := notObject(kindAbsent)
		if w != nil {
			r, reason = toRecord(i, w)
		}
		if reason != "" {
			problems = append(problems, Problem{Position: i, Reason: reason})
			continue
		}
		records = append(records, r)
	}
	return records, problems, nil
}

// trimBody drops a UTF-8 byte order mark, which some producers put in front
// of JSON text, and leading JSON whitespace, so that the first byte tells the
// body's shape.
func trimBody(body []byte) []byte {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	return bytes.TrimLeft(body, " \t\r\n")
}

// checkTopLevel rejects a body that cannot hold records before any decoding
// is attempted.
func checkTopLevel(body []byte) error {
	if len(body) == 0 {
		return &BodyError{Reason: "is empty"}
	}
	if k := kindOf(body); k == kindObject || k == kindArray {
		return nil
	}
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return &BodyError{Reason: "is not valid JSON", Err: err}
	}
	return &BodyError{Reason: fmt.Sprintf("is a JSON %s, want an object or an array", kindOf(body))}
}

// fastEnvelope decodes a whole body in one pass of encoding/json. It embeds
// wireRecord so that the same pass also reads a body that is a single
// record.
type fastEnvelope struct {
	Records *[]*wireRecord `json:"records"`
	wireRecord
}

// decodeFast decodes the body into typed records in one pass. ok is false
// when some record has a type encoding/json cannot store (a record that is
// not an object, properties that is not an object, records that is not an
// array): encoding/json does not say which one, so decodeSlow must look at
// the records one by one. Records are pointers so that a null record can be
// told from an empty object.
func decodeFast(body []byte) (wires []*wireRecord, ok bool, err error) {
	if body[0] == '[' {
		err = json.Unmarshal(body, &wires)
	} else {
		var env fastEnvelope
		err = json.Unmarshal(body, &env)
		if err == nil {
			switch {
			case env.Records != nil:
				wires = *env.Records
			case env.Category.kind != kindAbsent || env.Properties != nil:
				wires = []*wireRecord{&env.wireRecord}
			default:
				return nil, false, errNoRecords()
			}
		}
	}
	if err != nil {
		// A syntax error is found before anything is decoded, so it
		// condemns the whole body; any other error is a type mismatch in
		// some record.
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, false, &BodyError{Reason: "is not valid JSON", Err: err}
		}
		return nil, false, nil
	}
	return wires, true, nil
}

// rawEnvelope finds the records without decoding them, so that each can be
// decoded on its own.
type rawEnvelope struct {
	Records    *[]json.RawMessage `json:"records"`
	Category   json.RawMessage    `json:"category"`
	Properties json.RawMessage    `json:"properties"`
}

// decodeSlow is ParseBody for a body with at least one record that
// encoding/json cannot decode into wireRecord. It costs a second scan of
// every record, and is the reason ParseBody tries decodeFast first.
func decodeSlow(body []byte) ([]Record, []Problem, error) {
	var raws []json.RawMessage
	if body[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, nil, bodyError(err)
		}
	} else {
		var env rawEnvelope
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, nil, bodyError(err)
		}
		switch {
		case env.Records != nil:
			raws = *env.Records
		case kindOf(env.Category) != kindAbsent || kindOf(env.Properties) != kindAbsent:
			raws = []json.RawMessage{body}
		default:
			return nil, nil, errNoRecords()
		}
	}
	records := make([]Record, 0, len(raws))
	var problems []Problem
	for i, raw := range raws {
		w, reason := decodeRecord(raw)
		var r Record
		if reason == "" {
			r, reason = toRecord(i, w)
		}
		if reason != "" {
			problems = append(problems, Problem{Position: i, Reason: reason})
			continue
		}
		records = append(records, r)
	}
	return records, problems, nil
}

func errNoRecords() error {
	return &BodyError{Reason: "has no records array and is not a record"}
}

// bodyError describes why the envelope of a body could not be decoded.
func bodyError(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return &BodyError{Reason: "is not valid JSON", Err: err}
	}
	// The envelope's only typed field is records.
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return &BodyError{Reason: fmt.Sprintf("records is a JSON %s, want an array", firstWord(typ.Value))}
	}
	return &BodyError{Reason: "could not be decoded", Err: err}
}

// decodeRecord decodes one record of a body that has already been checked
// to be valid JSON, so the only possible failures are type mismatches.
func decodeRecord(raw json.RawMessage) (*wireRecord, string) {
	if k := kindOf(raw); k != kindObject {
		return nil, notObject(k)
	}
	w := new(wireRecord)
	if err := json.Unmarshal(raw, w); err != nil {
		// Properties is the only field of wireRecord whose type can be
		// wrong; every other field accepts any JSON value.
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return nil, fmt.Sprintf("%s is a JSON %s, want an object", typ.Field, firstWord(typ.Value))
		}
		return nil, "record could not be decoded"
	}
	return w, ""
}

func notObject(k jsonKind) string {
	return "record is a JSON " + k.String() + ", want an object"
}

// firstWord keeps the JSON type from an UnmarshalTypeError's Value, which
// for some numbers goes on to quote the number itself.
func firstWord(s string) string {
	s, _, _ = strings.Cut(s, " ")
	return s
}

// toRecord checks a decoded record and converts it. A non-empty reason
// means the record is a Problem: one of the fields that identify the
// sign-in arrived as an object or an array, so guessing would risk
// attributing a sign-in to the wrong user or tenant.
func toRecord(pos int, w *wireRecord) (Record, string) {
	var p wireProperties
	if w.Properties != nil {
		p = *w.Properties
	}
	identity := [...]struct {
		name string
		t    text
	}{
		{"category", w.Category},
		{"tenantId", w.TenantID},
		{"properties.createdDateTime", p.CreatedDateTime},
		{"properties.userPrincipalName", p.UserPrincipalName},
		{"properties.homeTenantId", p.HomeTenantID},
		{"properties.resourceTenantId", p.ResourceTenantID},
	}
	for _, f := range identity {
		if f.t.compound() {
			return Record{}, fmt.Sprintf("%s is a JSON %s, want a string", f.name, f.t.kind)
		}
	}

	correlationID := w.CorrelationID.s
	if correlationID == "" {
		correlationID = p.CorrelationID.s
	}
	riskTypes := p.RiskEventTypesV2
	if !riskTypes.present {
		riskTypes = p.RiskEventTypes
	}
	return Record{
		Position:      pos,
		Category:      strings.TrimSpace(w.Category.s),
		TenantID:      normalizeID(w.TenantID.s),
		Time:          w.Time.s,
		ResultType:    strings.TrimSpace(w.ResultType.s),
		CorrelationID: correlationID,

		ID:                   p.ID.s,
		CreatedDateTime:      p.CreatedDateTime.s,
		UserPrincipalName:    normalizeID(p.UserPrincipalName.s),
		UserPrincipalNameRaw: p.UserPrincipalName.s,
		UserID:               p.UserID.s,
		UserDisplayName:      p.UserDisplayName.s,
		UserType:             p.UserType.s,
		HomeTenantID:         normalizeID(p.HomeTenantID.s),
		ResourceTenantID:     normalizeID(p.ResourceTenantID.s),
		HomeTenantName:       p.HomeTenantName.s,
		AppID:                p.AppID.s,
		AppDisplayName:       p.AppDisplayName.s,
		ResourceDisplayName:  p.ResourceDisplayName.s,
		IPAddress:            p.IPAddress.s,
		ErrorCode:            p.Status.errorCode,

		RiskLevelAggregated:        p.RiskLevelAggregated.s,
		RiskLevelDuringSignIn:      p.RiskLevelDuringSignIn.s,
		RiskState:                  p.RiskState.s,
		RiskDetail:                 p.RiskDetail.s,
		RiskLevelAggregatedPresent: strings.TrimSpace(p.RiskLevelAggregated.s) != "",
		RiskEventTypes:             riskTypes.items,

		CrossTenantAccessType: p.CrossTenantAccessType.s,
		IsInteractive:         bool(p.IsInteractive),
		Location:              p.Location.v,
	}, ""
}

// normalizeID is how users and tenants are compared everywhere in
// Tenantwatch: Entra is not consistent about their case.
func normalizeID(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}
