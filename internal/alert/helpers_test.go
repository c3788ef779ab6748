package alert_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
)

var update = flag.Bool("update", false, "update .golden files")

// checkGolden compares got with testdata/name, or rewrites the file with
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("%s differs at line %d:\n got: %s\nwant: %s\n(run go test -update if the change is intended)", path, i+1, g, w)
			return
		}
	}
}

// indent pretty-prints JSON for golden files people read.
func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

var (
	episode = time.Date(2026, 3, 14, 9, 26, 53, 589793200, time.UTC)
	raised  = time.Date(2026, 3, 14, 9, 27, 1, 0, time.UTC)
)

func outboundData() alert.Data {
	const (
		user     = "alice@contoso.com"
		resource = "9188040d-6c67-4c5b-b112-36a304b66dad"
	)
	return alert.Data{
		AlertID:               alert.ID(user, resource, episode),
		UserPrincipalName:     user,
		UserID:                "4f0c2e8a-1b3d-4e5f-8a9b-0c1d2e3f4a5b",
		UserDisplayName:       "Alice Example",
		UserType:              "Member",
		HomeTenantID:          "72f988bf-86f1-41af-91ab-2d7cd011db47",
		ResourceTenantID:      resource,
		OtherTenantID:         resource,
		OtherTenantName:       "Fabrikam Ltd",
		Direction:             alert.DirectionOutbound,
		SignInID:              "b1e4c0de-7f2a-4c6b-9d3e-5a8f1b2c3d4e",
		CorrelationID:         "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		CreatedDateTime:       "2026-03-14T09:26:53.5897932Z",
		Category:              "SignInLogs",
		AppID:                 "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		AppDisplayName:        "Microsoft Azure CLI",
		ResourceDisplayName:   "Windows Azure Service Management API",
		IPAddress:             "203.0.113.7",
		Location:              alert.Location{City: "Lisbon", State: "Lisboa", CountryOrRegion: "PT"},
		RiskLevelAggregated:   "high",
		RiskLevelDuringSignIn: "medium",
		RiskState:             "atRisk",
		RiskDetail:            "none",
		RiskEventTypes:        []string{"unfamiliarFeatures", "anonymizedIPAddress"},
		CrossTenantAccessType: "b2bCollaboration",
		EpisodeID:             episode,
		EpisodeStart:          episode,
		BaselineTenantCount:   3,
	}
}

func inboundData() alert.Data {
	const (
		user     = "bob@fabrikam.example"
		resource = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	)
	start := episode.Add(-2 * time.Hour)
	return alert.Data{
		AlertID:               alert.ID(user, resource, episode),
		UserPrincipalName:     user,
		UserID:                "not-a-guid",
		UserType:              "Guest",
		HomeTenantID:          "9188040d-6c67-4c5b-b112-36a304b66dad",
		ResourceTenantID:      resource,
		OtherTenantID:         "9188040d-6c67-4c5b-b112-36a304b66dad",
		Direction:             alert.DirectionInbound,
		SignInID:              "c2f5d1ef-8a3b-4d7c-ae4f-6b9a2c3d4e5f",
		CreatedDateTime:       "2026-03-14T09:26:53Z",
		Category:              "NonInteractiveUserSignInLogs",
		AppDisplayName:        "Office 365 Exchange Online",
		IPAddress:             "2001:db8::17",
		RiskLevelAggregated:   "medium",
		RiskLevelDuringSignIn: "none",
		RiskState:             "atRisk",
		CrossTenantAccessType: "b2bCollaboration",
		EpisodeID:             episode,
		EpisodeStart:          start,
	}
}

func testAlertData() alert.Data {
	d := outboundData()
	d.Test = true
	d.RiskLevelAggregated = "low"
	d.AlertID = "ctsi_test_" + "00000000000000000000000000000000"
	return d
}
