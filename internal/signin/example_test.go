package signin_test

import (
	"fmt"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/signin"
)

func ExampleParseBody() {
	// Synthetic: one outbound cross-tenant sign-in and one record that is
	// not an object.
	body := []byte(`{"records":[
		{"category":"SignInLogs","tenantId":"11111111-1111-1111-1111-111111111111","resultType":"0",
		 "properties":{"userPrincipalName":"Alice@Contoso.example",
		   "homeTenantId":"11111111-1111-1111-1111-111111111111",
		   "resourceTenantId":"22222222-2222-2222-2222-222222222222",
		   "createdDateTime":"2025-01-01T13:59:57.9876543+02:00","riskLevelAggregated":"medium"}},
		42
	]}`)
	records, problems, err := signin.ParseBody(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, r := range records {
		at, err := r.EventTime(now)
		fmt.Println(r.Position, r.UserPrincipalName, r.ResourceTenantID, r.Succeeded(), r.RiskLevelAggregated)
		fmt.Println(at.Format(time.RFC3339Nano), err)
	}
	for _, p := range problems {
		fmt.Println(p.Position, p.Reason)
	}
	// Output:
	// 0 alice@contoso.example 22222222-2222-2222-2222-222222222222 true medium
	// 2025-01-01T11:59:57.9876543Z <nil>
	// 1 record is a JSON number, want an object
}
