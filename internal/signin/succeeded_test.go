package signin

import "testing"

func TestSucceeded(t *testing.T) {
	tests := []struct {
		name string
		body string // one record
		want bool
	}{
		{"resultType string 0", `{"resultType":"0"}`, true},
		{"resultType number 0", `{"resultType":0}`, true},
		{"resultType 0 with spaces", `{"resultType":" 0 "}`, true},
		{"resultType 00", `{"resultType":"00"}`, true},
		{"resultType -0", `{"resultType":"-0"}`, true},
		{"resultType number 0.0", `{"resultType":0.0}`, true},
		{"resultType number 0e5", `{"resultType":0e5}`, true},
		{"resultType string 50140", `{"resultType":"50140"}`, false},
		{"resultType number 50140", `{"resultType":50140}`, false},
		{"resultType 01", `{"resultType":"01"}`, false},
		{"resultType 0.1", `{"resultType":0.1}`, false},
		{"resultType hex zero", `{"resultType":"0x0"}`, false},
		{"resultType not numeric", `{"resultType":"None"}`, false},
		{"resultType boolean", `{"resultType":false}`, false},
		{"resultType 0 with junk", `{"resultType":"0 ok"}`, false},
		{"resultType bare exponent", `{"resultType":"0e"}`, false},
		{"resultType exponent without mantissa", `{"resultType":"e5"}`, false},
		{"resultType sign alone", `{"resultType":"-"}`, false},
		{"resultType dot alone", `{"resultType":"."}`, false},

		{"resultType absent, errorCode 0", `{"properties":{"status":{"errorCode":0}}}`, true},
		{"resultType null, errorCode 0", `{"resultType":null,"properties":{"status":{"errorCode":0}}}`, true},
		{"resultType empty, errorCode 0", `{"resultType":"","properties":{"status":{"errorCode":0}}}`, true},
		{"resultType blank, errorCode 0", `{"resultType":"  ","properties":{"status":{"errorCode":0}}}`, true},
		{"resultType object, errorCode 0", `{"resultType":{},"properties":{"status":{"errorCode":0}}}`, true},
		{"resultType absent, errorCode string 0", `{"properties":{"status":{"errorCode":"0"}}}`, true},
		{"resultType absent, errorCode 50140", `{"properties":{"status":{"errorCode":50140}}}`, false},
		{"resultType null, errorCode 50140", `{"resultType":null,"properties":{"status":{"errorCode":50140}}}`, false},

		{"resultType 0 decides over errorCode 50140", `{"resultType":"0","properties":{"status":{"errorCode":50140}}}`, true},
		{"resultType 50140 decides over errorCode 0", `{"resultType":"50140","properties":{"status":{"errorCode":0}}}`, false},
		{"resultType None decides over errorCode 0", `{"resultType":"None","properties":{"status":{"errorCode":0}}}`, false},

		{"neither present", `{"category":"SignInLogs"}`, false},
		{"resultType absent, errorCode null", `{"properties":{"status":{"errorCode":null}}}`, false},
		{"resultType absent, status absent", `{"properties":{}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, probs, err := ParseBody([]byte(records(tt.body)))
			if err != nil || len(probs) != 0 || len(recs) != 1 {
				t.Fatalf("ParseBody = %v, %v, %v; want one record", recs, probs, err)
			}
			if got := recs[0].Succeeded(); got != tt.want {
				t.Errorf("Succeeded() = %v, want %v (ResultType %q, ErrorCode %v)", got, tt.want, recs[0].ResultType, recs[0].ErrorCode)
			}
		})
	}
}

func TestSucceededOnAHandBuiltRecord(t *testing.T) {
	// Callers may build records themselves; untrimmed values still work.
	if !(Record{ResultType: " 0\t"}).Succeeded() {
		t.Error(`ResultType " 0\t" did not succeed`)
	}
	if !(Record{ResultType: " ", ErrorCode: new(int64(0))}).Succeeded() {
		t.Error("blank ResultType did not defer to ErrorCode 0")
	}
}
