package signin

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseBodyReadsRealisticBodies(t *testing.T) {
	tests := []struct {
		file string
		want Record
	}{
		{
			file: "signinlogs-learn.json",
			want: Record{
				Category:                   "SignInLogs",
				TenantID:                   "<tenant id>",
				Time:                       "2019-03-12T16:02:15.5522137Z",
				ResultType:                 "50140",
				CorrelationID:              "aaaa0000-bb11-2222-33cc-444444dddddd",
				ID:                         "0231f922-93fa-4005-bb11-b344eca03c01",
				CreatedDateTime:            "2019-03-12T16:02:15.5522137+00:00",
				UserPrincipalName:          "<user principal name>",
				UserPrincipalNameRaw:       "<USER PRINCIPAL NAME>",
				UserID:                     "<USER ID>",
				UserDisplayName:            "Timothy Perkins",
				UserType:                   "Member",
				HomeTenantID:               "<user home tenant id>",
				ResourceTenantID:           "72f988bf-86f1-41af-91ab-2d7cd011db47",
				AppID:                      "<APPLICATION ID>",
				AppDisplayName:             "Azure Portal",
				ResourceDisplayName:        "Office 365 SharePoint Online",
				IPAddress:                  "<IP ADDRESS>",
				ErrorCode:                  new(int64(50140)),
				RiskLevelAggregated:        "none",
				RiskLevelDuringSignIn:      "none",
				RiskState:                  "none",
				RiskDetail:                 "none",
				RiskLevelAggregatedPresent: true,
				CrossTenantAccessType:      "none",
				IsInteractive:              true,
				Location:                   Location{City: "Bellevue", State: "Washington", CountryOrRegion: "US"},
			},
		},
		{
			file: "noninteractive.json",
			want: Record{
				Category:                   "NonInteractiveUserSignInLogs",
				TenantID:                   "11111111-1111-1111-1111-111111111111",
				Time:                       "2025-03-04T05:06:07.1234567Z",
				ResultType:                 "0",
				CorrelationID:              "77777777-7777-4777-8777-777777777777",
				ID:                         "99999999-9999-4999-8999-999999999999",
				CreatedDateTime:            "2025-03-04T05:06:07.1234567+00:00",
				UserPrincipalName:          "bob@contoso.example",
				UserPrincipalNameRaw:       "bob@contoso.example",
				UserID:                     "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
				UserDisplayName:            "Bob Example",
				UserType:                   "Member",
				HomeTenantID:               "11111111-1111-1111-1111-111111111111",
				ResourceTenantID:           "11111111-1111-1111-1111-111111111111",
				AppID:                      "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
				AppDisplayName:             "Microsoft Teams",
				ResourceDisplayName:        "Office 365 Exchange Online",
				IPAddress:                  "203.0.113.10",
				ErrorCode:                  new(int64(0)),
				RiskLevelAggregated:        "none",
				RiskLevelDuringSignIn:      "none",
				RiskState:                  "none",
				RiskDetail:                 "none",
				RiskLevelAggregatedPresent: true,
				CrossTenantAccessType:      "none",
				Location:                   Location{City: "Hannover", State: "Niedersachsen", CountryOrRegion: "DE"},
			},
		},
		{
			file: "cross-tenant-outbound.json",
			want: Record{
				Category:                   "SignInLogs",
				TenantID:                   "11111111-1111-1111-1111-111111111111",
				Time:                       "2025-01-01T11:59:58.1234567Z",
				ResultType:                 "0",
				CorrelationID:              "33333333-3333-3333-3333-333333333333",
				ID:                         "44444444-4444-4444-4444-444444444444",
				CreatedDateTime:            "2025-01-01T11:59:57.9876543+00:00",
				UserPrincipalName:          "alice@contoso.example",
				UserPrincipalNameRaw:       "alice@contoso.example",
				UserID:                     "55555555-5555-5555-5555-555555555555",
				UserDisplayName:            "Alice Example",
				UserType:                   "Member",
				HomeTenantID:               "11111111-1111-1111-1111-111111111111",
				ResourceTenantID:           "22222222-2222-2222-2222-222222222222",
				AppID:                      "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
				AppDisplayName:             "Azure Portal",
				ResourceDisplayName:        "Windows Azure Service Management API",
				IPAddress:                  "203.0.113.24",
				ErrorCode:                  new(int64(0)),
				RiskLevelAggregated:        "medium",
				RiskLevelDuringSignIn:      "medium",
				RiskState:                  "atRisk",
				RiskDetail:                 "none",
				RiskLevelAggregatedPresent: true,
				RiskEventTypes:             []string{"unfamiliarFeatures"},
				CrossTenantAccessType:      "b2bCollaboration",
				IsInteractive:              true,
				Location:                   Location{City: "Amsterdam", State: "Noord-Holland", CountryOrRegion: "NL"},
			},
		},
		{
			file: "guest-inbound.json",
			want: Record{
				Category:                   "SignInLogs",
				TenantID:                   "11111111-1111-1111-1111-111111111111",
				Time:                       "2025-02-03T10:00:01.0000000Z",
				ResultType:                 "0",
				CorrelationID:              "bbbbbbbb-1111-4222-8333-444444444444",
				ID:                         "cccccccc-1111-4222-8333-444444444444",
				CreatedDateTime:            "2025-02-03T10:00:00.5000000+00:00",
				UserPrincipalName:          "alice_contoso.com#ext#@fabrikam.onmicrosoft.com",
				UserPrincipalNameRaw:       "alice_contoso.com#EXT#@fabrikam.onmicrosoft.com",
				UserID:                     "dddddddd-1111-4222-8333-444444444444",
				UserDisplayName:            "Alice (Contoso)",
				UserType:                   "Guest",
				HomeTenantID:               "66666666-6666-6666-6666-666666666666",
				ResourceTenantID:           "11111111-1111-1111-1111-111111111111",
				AppID:                      "00000003-0000-0000-c000-000000000000",
				AppDisplayName:             "Microsoft Teams Web Client",
				ResourceDisplayName:        "Microsoft Teams Services",
				IPAddress:                  "203.0.113.77",
				ErrorCode:                  new(int64(0)),
				RiskLevelAggregated:        "hidden",
				RiskLevelDuringSignIn:      "hidden",
				RiskState:                  "none",
				RiskDetail:                 "hidden",
				RiskLevelAggregatedPresent: true,
				CrossTenantAccessType:      "b2bCollaboration",
				IsInteractive:              true,
				Location:                   Location{City: "London", State: "London", CountryOrRegion: "GB"},
			},
		},
		{
			file: "serviceprincipal.json",
			want: Record{
				Category:                   "ServicePrincipalSignInLogs",
				TenantID:                   "11111111-1111-1111-1111-111111111111",
				Time:                       "11/14/2025 1:48:53 AM",
				ResultType:                 "0",
				CorrelationID:              "eeeeeeee-1111-4222-8333-444444444444",
				ID:                         "ffffffff-1111-4222-8333-444444444444",
				CreatedDateTime:            "2025-11-14T01:48:53.2790375+00:00",
				ResourceTenantID:           "11111111-1111-1111-1111-111111111111",
				AppID:                      "12121212-1111-4222-8333-444444444444",
				AppDisplayName:             "reporting-daemon",
				ResourceDisplayName:        "Microsoft Graph",
				IPAddress:                  "203.0.113.200",
				ErrorCode:                  new(int64(0)),
				RiskLevelAggregated:        "none",
				RiskLevelDuringSignIn:      "none",
				RiskState:                  "none",
				RiskDetail:                 "none",
				RiskLevelAggregatedPresent: true,
				CrossTenantAccessType:      "none",
				Location:                   Location{City: "Boydton", State: "Virginia", CountryOrRegion: "US"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			records, problems, err := ParseBody(readTestdata(t, tt.file))
			if err != nil || len(problems) != 0 || len(records) != 1 {
				t.Fatalf("ParseBody = %d records, problems %v, error %v; want 1 record", len(records), problems, err)
			}
			if !reflect.DeepEqual(records[0], tt.want) {
				t.Errorf("record differs\n got: %+v\nwant: %+v", records[0], tt.want)
			}
		})
	}
}

// rec builds a minimal sign-in record with the given extra properties, so
// that a test shows only what it is about.
func rec(props string) string {
	if props != "" {
		props = "," + props
	}
	return `{"category":"SignInLogs","tenantId":"t1","resultType":"0","properties":{"id":"x"` + props + `}}`
}

func records(rs ...string) string {
	return `{"records":[` + strings.Join(rs, ",") + `]}`
}

func TestParseBodyShapes(t *testing.T) {
	good := rec(`"userPrincipalName":"a@example.com"`)
	tests := []struct {
		name         string
		body         string
		wantRecords  []int    // positions
		wantProblems []string // "position:reason substring"
		wantErr      string   // substring of BodyError.Reason; "" for no error
	}{
		{name: "records array", body: records(good, good), wantRecords: []int{0, 1}},
		{name: "empty records array", body: `{"records":[]}`},
		{name: "records with whitespace and BOM", body: "\xef\xbb\xbf \n" + records(good) + "\r\n", wantRecords: []int{0}},
		{
			name:        "bad records keep the positions of the good ones",
			body:        records(good, `42`, `{"category":"SignInLogs","properties":7}`, good, `null`, rec(`"userPrincipalName":{"x":1}`), `"text"`, `[]`, good),
			wantRecords: []int{0, 3, 8},
			wantProblems: []string{
				"1:record is a JSON number, want an object",
				"2:properties is a JSON number, want an object",
				"4:record is a JSON null, want an object",
				"5:properties.userPrincipalName is a JSON object, want a string",
				"6:record is a JSON string, want an object",
				"7:record is a JSON array, want an object",
			},
		},
		{name: "null record alone needs no slow path", body: records(good, `null`), wantRecords: []int{0}, wantProblems: []string{"1:record is a JSON null"}},
		{name: "properties as array", body: records(`{"properties":[]}`, good), wantRecords: []int{1}, wantProblems: []string{"0:properties is a JSON array"}},
		{name: "properties as string", body: records(`{"properties":"{}"}`), wantProblems: []string{"0:properties is a JSON string"}},
		{name: "null properties is an empty record", body: records(`{"category":"SignInLogs","properties":null}`), wantRecords: []int{0}},
		{name: "empty object is an empty record", body: records(`{}`), wantRecords: []int{0}},
		{name: "bare array", body: "[" + good + "," + good + "]", wantRecords: []int{0, 1}},
		{name: "bare array with a bad record", body: "[1," + good + "]", wantRecords: []int{1}, wantProblems: []string{"0:record is a JSON number"}},
		{name: "empty bare array", body: `[]`},
		{name: "single record object", body: good, wantRecords: []int{0}},
		{name: "single record with only properties", body: `{"properties":{"userPrincipalName":"a@example.com"}}`, wantRecords: []int{0}},
		{name: "single record with only category", body: `{"category":"SignInLogs"}`, wantRecords: []int{0}},
		{name: "single record with bad properties", body: `{"category":"SignInLogs","properties":1}`, wantProblems: []string{"0:properties is a JSON number"}},
		{name: "single record with an object category", body: `{"category":{}}`, wantProblems: []string{"0:category is a JSON object"}},
		{name: "records wins over record fields", body: `{"category":"SignInLogs","records":[` + good + `]}`, wantRecords: []int{0}},
		{name: "records beside a bad top-level properties", body: `{"properties":5,"records":[` + good + `]}`, wantRecords: []int{0}},
		{name: "null records beside record fields is a record", body: `{"records":null,"category":"SignInLogs"}`, wantRecords: []int{0}},

		{name: "empty body", body: "", wantErr: "is empty"},
		{name: "whitespace body", body: " \n\t", wantErr: "is empty"},
		{name: "not JSON", body: "hello", wantErr: "is not valid JSON"},
		{name: "JSON string", body: `"{\"records\":[]}"`, wantErr: "is a JSON string"},
		{name: "JSON number", body: `42`, wantErr: "is a JSON number"},
		{name: "JSON null", body: `null`, wantErr: "is a JSON null"},
		{name: "truncated", body: records(good, good)[:40], wantErr: "is not valid JSON"},
		{name: "truncated inside a bad record", body: `{"records":[1,` + good[:30], wantErr: "is not valid JSON"},
		{name: "trailing garbage", body: records(good) + "x", wantErr: "is not valid JSON"},
		{name: "two bodies glued", body: records(good) + records(good), wantErr: "is not valid JSON"},
		{name: "records is an object", body: `{"records":{"0":` + good + `}}`, wantErr: "records is a JSON object, want an array"},
		{name: "records is a string", body: `{"records":"[]"}`, wantErr: "records is a JSON string, want an array"},
		{name: "records is null", body: `{"records":null}`, wantErr: "has no records array"},
		{name: "object without records or record fields", body: `{"value":[]}`, wantErr: "has no records array"},
		{name: "deeply nested records", body: `{"records":[` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `]}`, wantErr: "is not valid JSON"},
		{name: "deeply nested unknown field", body: records(rec(`"x":` + strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000))), wantErr: "is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []struct {
				name  string
				parse func([]byte) ([]Record, []Problem, error)
			}{{"ParseBody", ParseBody}, {"slow path", parseSlow}} {
				recs, probs, err := path.parse([]byte(tt.body))
				if tt.wantErr != "" {
					var be *BodyError
					if !errors.As(err, &be) || !strings.Contains(be.Reason, tt.wantErr) {
						t.Fatalf("%s: error = %v, want a *BodyError with reason containing %q", path.name, err, tt.wantErr)
					}
					if recs != nil || probs != nil {
						t.Errorf("%s: results beside an error: %v, %v", path.name, recs, probs)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: error = %v", path.name, err)
				}
				var gotPos []int
				for _, r := range recs {
					gotPos = append(gotPos, r.Position)
				}
				if !slices.Equal(gotPos, tt.wantRecords) {
					t.Errorf("%s: record positions = %v, want %v", path.name, gotPos, tt.wantRecords)
				}
				if len(probs) != len(tt.wantProblems) {
					t.Fatalf("%s: problems = %v, want %v", path.name, probs, tt.wantProblems)
				}
				for i, p := range probs {
					pos, reason, _ := strings.Cut(tt.wantProblems[i], ":")
					if got := p.Position; pos != strconv.Itoa(got) || !strings.Contains(p.Reason, reason) {
						t.Errorf("%s: problem %d = %+v, want position %s and reason containing %q", path.name, i, p, pos, reason)
					}
				}
			}
		})
	}
}

// parseSlow is ParseBody forced onto its record-by-record path, so that
// tests can check the two paths agree.
func parseSlow(body []byte) ([]Record, []Problem, error) {
	body = trimBody(body)
	if err := checkTopLevel(body); err != nil {
		return nil, nil, err
	}
	return decodeSlow(body)
}

func TestParseBodyFields(t *testing.T) {
	tests := []struct {
		name   string
		record string
		check  func(Record) bool
	}{
		{"UPN trimmed and lower-cased, raw kept", rec(`"userPrincipalName":"  Alice@Contoso.Example\t"`), func(r Record) bool {
			return r.UserPrincipalName == "alice@contoso.example" && r.UserPrincipalNameRaw == "  Alice@Contoso.Example\t"
		}},
		{"UPN with non-ASCII upper case", rec(`"userPrincipalName":"ÅSA@Example.com"`), func(r Record) bool {
			return r.UserPrincipalName == "åsa@example.com"
		}},
		{"UPN with escapes", rec(`"userPrincipalName":"al\u0069ce\u0040example.com"`), func(r Record) bool {
			return r.UserPrincipalName == "alice@example.com"
		}},
		{"invalid UTF-8 replaced", rec("\"userDisplayName\":\"a\xffb\""), func(r Record) bool {
			return r.UserDisplayName == "a\uFFFDb"
		}},
		{"tenant ids trimmed and lower-cased", `{"tenantId":" AAAA-Bb ","properties":{"homeTenantId":"CCCC ","resourceTenantId":"\tDdDd"}}`, func(r Record) bool {
			return r.TenantID == "aaaa-bb" && r.HomeTenantID == "cccc" && r.ResourceTenantID == "dddd"
		}},
		{"category trimmed, case kept", `{"category":" signInLogs "}`, func(r Record) bool { return r.Category == "signInLogs" }},
		{"resultType number 0", `{"resultType":0}`, func(r Record) bool { return r.ResultType == "0" }},
		{"resultType string trimmed", `{"resultType":" 50140 "}`, func(r Record) bool { return r.ResultType == "50140" }},
		{"resultType null", `{"resultType":null}`, func(r Record) bool { return r.ResultType == "" }},
		{"resultType object is empty", `{"resultType":{"code":0}}`, func(r Record) bool { return r.ResultType == "" }},
		{"resultType boolean is text", `{"resultType":true}`, func(r Record) bool { return r.ResultType == "true" }},
		{"errorCode number", rec(`"status":{"errorCode":50140}`), func(r Record) bool { return r.ErrorCode != nil && *r.ErrorCode == 50140 }},
		{"errorCode numeric string", rec(`"status":{"errorCode":" 0 "}`), func(r Record) bool { return r.ErrorCode != nil && *r.ErrorCode == 0 }},
		{"errorCode integral float", rec(`"status":{"errorCode":5.014e4}`), func(r Record) bool { return r.ErrorCode != nil && *r.ErrorCode == 50140 }},
		{"errorCode string with exponent", rec(`"status":{"errorCode":"0e0"}`), func(r Record) bool { return r.ErrorCode == nil }},
		{"errorCode fraction", rec(`"status":{"errorCode":0.5}`), func(r Record) bool { return r.ErrorCode == nil }},
		{"errorCode too large", rec(`"status":{"errorCode":1e30}`), func(r Record) bool { return r.ErrorCode == nil }},
		{"errorCode null", rec(`"status":{"errorCode":null}`), func(r Record) bool { return r.ErrorCode == nil }},
		{"errorCode absent", rec(`"status":{"failureReason":"Other."}`), func(r Record) bool { return r.ErrorCode == nil }},
		{"errorCode not numeric", rec(`"status":{"errorCode":"None"}`), func(r Record) bool { return r.ErrorCode == nil }},
		{"errorCode boolean", rec(`"status":{"errorCode":false}`), func(r Record) bool { return r.ErrorCode == nil }},
		{"status not an object", rec(`"status":"0"`), func(r Record) bool { return r.ErrorCode == nil }},
		{"riskLevelAggregated present", rec(`"riskLevelAggregated":"none"`), func(r Record) bool {
			return r.RiskLevelAggregatedPresent && r.RiskLevelAggregated == "none"
		}},
		{"riskLevelAggregated case kept", rec(`"riskLevelAggregated":"High"`), func(r Record) bool { return r.RiskLevelAggregated == "High" }},
		{"riskLevelAggregated absent", rec(``), func(r Record) bool { return !r.RiskLevelAggregatedPresent }},
		{"riskLevelAggregated null", rec(`"riskLevelAggregated":null`), func(r Record) bool { return !r.RiskLevelAggregatedPresent }},
		{"riskLevelAggregated empty", rec(`"riskLevelAggregated":""`), func(r Record) bool { return !r.RiskLevelAggregatedPresent }},
		{"riskLevelAggregated blank", rec(`"riskLevelAggregated":"  "`), func(r Record) bool { return !r.RiskLevelAggregatedPresent }},
		{"riskLevelAggregated object", rec(`"riskLevelAggregated":{}`), func(r Record) bool {
			return !r.RiskLevelAggregatedPresent && r.RiskLevelAggregated == ""
		}},
		{"string field as number", rec(`"userId":12345,"appDisplayName":false`), func(r Record) bool {
			return r.UserID == "12345" && r.AppDisplayName == "false"
		}},
		{"string field as object or array is empty", rec(`"userId":{"a":1},"ipAddress":["203.0.113.1"],"crossTenantAccessType":["b2bCollaboration"]`), func(r Record) bool {
			return r.UserID == "" && r.IPAddress == "" && r.CrossTenantAccessType == ""
		}},
		{"isInteractive string", rec(`"isInteractive":"True"`), func(r Record) bool { return r.IsInteractive }},
		{"isInteractive number", rec(`"isInteractive":1`), func(r Record) bool { return r.IsInteractive }},
		{"isInteractive garbage", rec(`"isInteractive":"yes"`), func(r Record) bool { return !r.IsInteractive }},
		{"location not an object", rec(`"location":"US"`), func(r Record) bool { return r.Location == Location{} }},
		{"location with odd types", rec(`"location":{"city":null,"state":7,"countryOrRegion":"NL","geoCoordinates":"x"}`), func(r Record) bool {
			return r.Location == Location{State: "7", CountryOrRegion: "NL"}
		}},
		{"correlationId from the envelope", `{"correlationId":"top","properties":{"correlationId":"inner"}}`, func(r Record) bool { return r.CorrelationID == "top" }},
		{"correlationId falls back to properties", `{"properties":{"correlationId":"inner"}}`, func(r Record) bool { return r.CorrelationID == "inner" }},
		{"time kept raw", `{"time":" 11/14/2025 1:48:53 AM"}`, func(r Record) bool { return r.Time == " 11/14/2025 1:48:53 AM" }},
		{"time as number is text", `{"time":1731548933}`, func(r Record) bool { return r.Time == "1731548933" }},
		{"createdDateTime kept raw", rec(`"createdDateTime":"2025-01-01T00:00:00Z "`), func(r Record) bool { return r.CreatedDateTime == "2025-01-01T00:00:00Z " }},
		{"harmless odd envelope types", `{"category":"SignInLogs","Level":"Informational","level":4,"durationMs":"0","time":"11/14/2025 1:48:53 AM","location":{"x":1},"identity":null,"properties":{"id":"x"}}`, func(r Record) bool {
			return r.Category == "SignInLogs" && r.ID == "x"
		}},
		{"unknown fields ignored", `{"category":"SignInLogs","extra":{"deep":[1,{"x":[null,true]}]},"properties":{"id":"x","agent":{"agentType":"notAgentic"},"unknownFutureField":[[[]]]}}`, func(r Record) bool {
			return r.Category == "SignInLogs" && r.ID == "x"
		}},

		// riskEventTypes_v2 and its deprecated predecessor.
		{"risk types array", rec(`"riskEventTypes_v2":["unlikelyTravel","anonymizedIPAddress"]`), riskTypes("unlikelyTravel", "anonymizedIPAddress")},
		{"risk types empty array", rec(`"riskEventTypes_v2":[]`), riskTypes()},
		{"risk types string holding an array", rec(`"riskEventTypes_v2":"[\"unlikelyTravel\", \"leakedCredentials\"]"`), riskTypes("unlikelyTravel", "leakedCredentials")},
		{"risk types comma list", rec(`"riskEventTypes_v2":"unlikelyTravel, anonymizedIPAddress,"`), riskTypes("unlikelyTravel", "anonymizedIPAddress")},
		{"risk types bracketed list without quotes", rec(`"riskEventTypes_v2":"[unlikelyTravel, generic]"`), riskTypes("unlikelyTravel", "generic")},
		{"risk types empty string", rec(`"riskEventTypes_v2":"","riskEventTypes":["generic"]`), riskTypes()},
		{"risk types odd elements", rec(`"riskEventTypes_v2":[" generic ",null,7,{"a":1},["x"],""]`), riskTypes("generic", "7")},
		{"risk types v2 wins even when empty", rec(`"riskEventTypes_v2":[],"riskEventTypes":["unlikelyTravel"]`), riskTypes()},
		{"risk types fall back when v2 absent", rec(`"riskEventTypes":["unlikelyTravel"]`), riskTypes("unlikelyTravel")},
		{"risk types fall back when v2 null", rec(`"riskEventTypes_v2":null,"riskEventTypes":["unlikelyTravel"]`), riskTypes("unlikelyTravel")},
		{"risk types fall back when v2 is not a list", rec(`"riskEventTypes_v2":{"a":1},"riskEventTypes":"generic"`), riskTypes("generic")},
		{"risk types neither", rec(``), riskTypes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := records(tt.record)
			recs, probs, err := ParseBody([]byte(body))
			if err != nil || len(probs) != 0 || len(recs) != 1 {
				t.Fatalf("ParseBody(%s) = %v, %v, %v; want one record", body, recs, probs, err)
			}
			if !tt.check(recs[0]) {
				t.Errorf("ParseBody(%s) record = %+v", body, recs[0])
			}
		})
	}
}

func riskTypes(want ...string) func(Record) bool {
	return func(r Record) bool {
		if len(want) == 0 {
			return r.RiskEventTypes == nil
		}
		return slices.Equal(r.RiskEventTypes, want)
	}
}

func TestParseBodyRejectsIdentityFieldsOfImpossibleType(t *testing.T) {
	tests := []struct {
		field, record string
	}{
		{"category", `{"category":["SignInLogs"]}`},
		{"tenantId", `{"tenantId":{"id":"t"}}`},
		{"properties.createdDateTime", rec(`"createdDateTime":{"$date":"2025-01-01"}`)},
		{"properties.userPrincipalName", rec(`"userPrincipalName":["a@example.com"]`)},
		{"properties.homeTenantId", rec(`"homeTenantId":{}`)},
		{"properties.resourceTenantId", rec(`"resourceTenantId":[]`)},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			recs, probs, err := ParseBody([]byte(records(rec(""), tt.record)))
			if err != nil || len(recs) != 1 || len(probs) != 1 {
				t.Fatalf("got %v, %v, %v; want one record and one problem", recs, probs, err)
			}
			if probs[0].Position != 1 || !strings.HasPrefix(probs[0].Reason, tt.field+" is a JSON ") {
				t.Errorf("problem = %+v, want position 1 naming %s", probs[0], tt.field)
			}
		})
	}
}

func TestProblemReasonDoesNotQuoteTheRecord(t *testing.T) {
	secret := strings.Repeat("secret-upn@example.com", 10)
	body := records(`{"category":"SignInLogs","properties":"` + secret + `"}`)
	_, probs, err := ParseBody([]byte(body))
	if err != nil || len(probs) != 1 {
		t.Fatalf("got %v, %v", probs, err)
	}
	if strings.Contains(probs[0].Reason, "secret") {
		t.Errorf("reason %q quotes the record", probs[0].Reason)
	}
}

func TestBodyErrorUnwrapsTheSyntaxError(t *testing.T) {
	_, _, err := ParseBody([]byte(`{"records":[}`))
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Fatalf("error %v does not wrap a *json.SyntaxError", err)
	}
}
