package signin

import (
	"encoding/json"
	"fmt"
	"testing"
)

const (
	benchRecords    = 100
	benchRecordSize = 11 * 1024 // a streamed sign-in averages about 11.5 KB
)

// syntheticRecord builds one sign-in record (synthetic: documentation
// addresses, example domains) of at least benchRecordSize bytes. Like real
// records, most of its bulk is appliedConditionalAccessPolicies, which
// ParseBody skips. When doubleEncoded is set, properties arrives as a
// string holding the object, which makes the record a Problem.
func syntheticRecord(tb testing.TB, i int, doubleEncoded bool) json.RawMessage {
	tb.Helper()
	props := map[string]any{
		"id":                      fmt.Sprintf("44444444-4444-4444-4444-%012d", i),
		"createdDateTime":         "2025-01-01T11:59:57.9876543+00:00",
		"userDisplayName":         "Alice Example",
		"userPrincipalName":       fmt.Sprintf("user%d@contoso.example", i),
		"userId":                  "55555555-5555-5555-5555-555555555555",
		"appId":                   "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
		"appDisplayName":          "Azure Portal",
		"ipAddress":               "203.0.113.24",
		"status":                  map[string]any{"errorCode": 0, "additionalDetails": "MFA requirement satisfied by claim in the token"},
		"clientAppUsed":           "Browser",
		"userAgent":               "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
		"deviceDetail":            map[string]any{"deviceId": "", "operatingSystem": "Windows 10", "browser": "Edge 120.0.0", "isCompliant": false, "isManaged": false},
		"location":                map[string]any{"city": "Amsterdam", "state": "Noord-Holland", "countryOrRegion": "NL", "geoCoordinates": map[string]any{"latitude": 52.37, "longitude": 4.89}},
		"correlationId":           "33333333-3333-3333-3333-333333333333",
		"conditionalAccessStatus": "notApplied",
		"isInteractive":           true,
		"authenticationDetails": []any{
			map[string]any{"authenticationStepDateTime": "2025-01-01T11:59:57.9876543+00:00", "authenticationMethod": "Previously satisfied", "succeeded": true, "authenticationStepResultDetail": "First factor requirement satisfied by claim in the token", "authenticationStepRequirement": "Primary authentication"},
		},
		"authenticationProcessingDetails": []any{map[string]any{"key": "Login Hint Present", "value": "True"}},
		"networkLocationDetails":          []any{},
		"processingTimeInMilliseconds":    238,
		"riskDetail":                      "none",
		"riskLevelAggregated":             "medium",
		"riskLevelDuringSignIn":           "medium",
		"riskState":                       "atRisk",
		"riskEventTypes":                  []string{"unfamiliarFeatures"},
		"riskEventTypes_v2":               []string{"unfamiliarFeatures"},
		"resourceDisplayName":             "Windows Azure Service Management API",
		"resourceId":                      "797f4846-ba00-4fd7-ba43-dac1f8f63013",
		"resourceTenantId":                "22222222-2222-2222-2222-222222222222",
		"homeTenantId":                    "11111111-1111-1111-1111-111111111111",
		"homeTenantName":                  "",
		"userType":                        "Member",
		"crossTenantAccessType":           "b2bCollaboration",
		"authenticationRequirement":       "singleFactorAuthentication",
		"privateLinkDetails":              map[string]any{},
	}
	envelope := map[string]any{
		"time":             "2025-01-01T11:59:58.1234567Z",
		"resourceId":       "/tenants/11111111-1111-1111-1111-111111111111/providers/Microsoft.aadiam",
		"operationName":    "Sign-in activity",
		"operationVersion": "1.0",
		"category":         "SignInLogs",
		"tenantId":         "11111111-1111-1111-1111-111111111111",
		"resultType":       "0",
		"resultSignature":  "SUCCESS",
		"durationMs":       0,
		"callerIpAddress":  "203.0.113.24",
		"correlationId":    "33333333-3333-3333-3333-333333333333",
		"identity":         "Alice Example",
		"Level":            4,
		"location":         "NL",
	}
	var policies []any
	for {
		rec, err := json.Marshal(props)
		if err != nil {
			tb.Fatal(err)
		}
		if len(rec) >= benchRecordSize {
			envelope["properties"] = json.RawMessage(rec)
			if doubleEncoded {
				envelope["properties"] = string(rec)
			}
			out, err := json.Marshal(envelope)
			if err != nil {
				tb.Fatal(err)
			}
			return out
		}
		n := len(policies)
		policies = append(policies, map[string]any{
			"id":                      fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", n),
			"displayName":             fmt.Sprintf("CA%03d - Require multifactor authentication for admins", n),
			"enforcedGrantControls":   []string{"Mfa"},
			"enforcedSessionControls": []string{},
			"result":                  "notApplied",
			"conditionsSatisfied":     0,
			"conditionsNotSatisfied":  0,
		})
		props["appliedConditionalAccessPolicies"] = policies
	}
}

func syntheticBody(tb testing.TB, bad int) []byte {
	tb.Helper()
	recs := make([]json.RawMessage, benchRecords)
	for i := range recs {
		recs[i] = syntheticRecord(tb, i, i == bad)
	}
	body, err := json.Marshal(map[string]any{"records": recs})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func benchmarkParseBody(b *testing.B, body []byte, wantProblems int) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		recs, probs, err := ParseBody(body)
		if err != nil || len(probs) != wantProblems || len(recs)+len(probs) != benchRecords {
			b.Fatalf("ParseBody = %d records, %v, %v", len(recs), probs, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRecords), "ns/record")
}

// BenchmarkParseBody decodes a body of 100 well-formed records of ~11 KB
// each: the one-pass path every normal body takes.
func BenchmarkParseBody(b *testing.B) {
	benchmarkParseBody(b, syntheticBody(b, -1), 0)
}

// BenchmarkParseBodyFallback decodes the same body with one record in the
// middle whose properties is double-encoded, which sends the whole body
// down the record-by-record path.
func BenchmarkParseBodyFallback(b *testing.B) {
	benchmarkParseBody(b, syntheticBody(b, benchRecords/2), 1)
}

func TestSyntheticBodySize(t *testing.T) {
	body := syntheticBody(t, -1)
	if per := len(body) / benchRecords; per < benchRecordSize || per > benchRecordSize+1024 {
		t.Errorf("records average %d bytes, want about %d", per, benchRecordSize)
	}
	recs, probs, err := ParseBody(body)
	if err != nil || len(probs) != 0 || len(recs) != benchRecords {
		t.Fatalf("ParseBody = %d records, %v, %v", len(recs), probs, err)
	}
	if r := recs[7]; r.UserPrincipalName != "user7@contoso.example" || r.Position != 7 || r.RiskLevelAggregated != "medium" {
		t.Errorf("record 7 = %+v", r)
	}
}
