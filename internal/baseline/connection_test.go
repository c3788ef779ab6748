package baseline

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

const (
	// A syntactically valid (base64) key that is nobody's.
	testKey   = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkwYWJjZGVmZ2hpams="
	testKeyCS = "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=" + testKey + ";EndpointSuffix=core.windows.net"
	testSAS   = "sv=2022-11-02&ss=t&srt=sco&sp=rwdlacu&se=2030-01-01T00:00:00Z&sig=SECRETSIGNATUREabc%3D"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolveConnection(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want Connection
	}{
		{"baseline connection string wins", map[string]string{
			"BaselineStorage":                      testKeyCS,
			"BaselineStorage__tableServiceUri":     "https://other.table.core.windows.net",
			"AzureWebJobsStorage":                  "UseDevelopmentStorage=true",
			"AzureWebJobsStorage__tableServiceUri": "https://jobs.table.core.windows.net",
		}, Connection{ConnectionString: testKeyCS, Source: "BaselineStorage"}},
		{"baseline identity", map[string]string{
			"BaselineStorage__tableServiceUri": "https://acct.table.core.windows.net",
			"BaselineStorage__clientId":        "11111111-2222-3333-4444-555555555555",
			"AzureWebJobsStorage":              testKeyCS,
		}, Connection{TableServiceURL: "https://acct.table.core.windows.net", ClientID: "11111111-2222-3333-4444-555555555555", Source: "BaselineStorage__tableServiceUri"}},
		{"baseline identity, default chain", map[string]string{
			"BaselineStorage__tableServiceUri": " https://acct.table.core.windows.net/ ",
		}, Connection{TableServiceURL: "https://acct.table.core.windows.net/", Source: "BaselineStorage__tableServiceUri"}},
		{"jobs connection string", map[string]string{
			"BaselineStorage":                      "  ",
			"AzureWebJobsStorage":                  testKeyCS,
			"AzureWebJobsStorage__tableServiceUri": "https://jobs.table.core.windows.net",
		}, Connection{ConnectionString: testKeyCS, Source: "AzureWebJobsStorage"}},
		{"jobs identity", map[string]string{
			"AzureWebJobsStorage__tableServiceUri": "https://jobs.table.core.windows.net",
			"AzureWebJobsStorage__clientId":        "cid",
			"AzureWebJobsStorage__accountName":     "ignored",
		}, Connection{TableServiceURL: "https://jobs.table.core.windows.net", ClientID: "cid", Source: "AzureWebJobsStorage__tableServiceUri"}},
		{"jobs account name", map[string]string{
			"AzureWebJobsStorage__accountName": "jobsacct",
			"AzureWebJobsStorage__clientId":    "cid",
		}, Connection{TableServiceURL: "https://jobsacct.table.core.windows.net", ClientID: "cid", Source: "AzureWebJobsStorage__accountName"}},
		{"development storage", map[string]string{"BaselineStorage": "UseDevelopmentStorage=true"},
			Connection{ConnectionString: DevelopmentConnectionString, Source: "BaselineStorage"}},
		{"development storage, any case and trailing ;", map[string]string{"AzureWebJobsStorage": "usedevelopmentstorage=TRUE;"},
			Connection{ConnectionString: DevelopmentConnectionString, Source: "AzureWebJobsStorage"}},
		{"development storage with proxy", map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://ipv4.fiddler"},
			Connection{ConnectionString: DevelopmentConnectionString, Source: "AzureWebJobsStorage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveConnection(envOf(tc.env))
			if err != nil {
				t.Fatalf("ResolveConnection: %v", err)
			}
			if got != tc.want {
				t.Errorf("ResolveConnection = %+v\nwant %+v", got, tc.want)
			}
			if err := (Config{Connection: got}).Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestResolveConnectionErrors(t *testing.T) {
	for _, tc := range []struct {
		name, setting string
		env           map[string]string
	}{
		{"nothing set", "BaselineStorage", map[string]string{}},
		{"garbage", "BaselineStorage", map[string]string{"BaselineStorage": "this is not a connection string " + testKey}},
		{"no key", "BaselineStorage", map[string]string{"BaselineStorage": "AccountName=acct1;EndpointSuffix=core.windows.net"}},
		{"key not base64", "AzureWebJobsStorage", map[string]string{"AzureWebJobsStorage": "AccountName=acct1;AccountKey=not*base64*" + testKey}},
		{"key and sas", "BaselineStorage", map[string]string{"BaselineStorage": testKeyCS + ";SharedAccessSignature=" + testSAS}},
		{"no endpoint nor name", "BaselineStorage", map[string]string{"BaselineStorage": "AccountKey=" + testKey}},
		{"bad protocol", "BaselineStorage", map[string]string{"BaselineStorage": "DefaultEndpointsProtocol=ftp;AccountName=acct1;AccountKey=" + testKey}},
		{"bad table endpoint", "BaselineStorage", map[string]string{"BaselineStorage": "TableEndpoint=::nope;AccountName=acct1;AccountKey=" + testKey}},
		{"development storage false", "BaselineStorage", map[string]string{"BaselineStorage": "UseDevelopmentStorage=false"}},
		{"http service uri", "BaselineStorage__tableServiceUri", map[string]string{"BaselineStorage__tableServiceUri": "http://acct.table.core.windows.net"}},
		{"service uri with sas", "BaselineStorage__tableServiceUri", map[string]string{"BaselineStorage__tableServiceUri": "https://acct.table.core.windows.net/?" + testSAS}},
		{"client id alone", "BaselineStorage__clientId", map[string]string{"BaselineStorage__clientId": "cid", "AzureWebJobsStorage": testKeyCS}},
		{"bad account name", "AzureWebJobsStorage__accountName", map[string]string{"AzureWebJobsStorage__accountName": "Not_An_Account"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ResolveConnection(envOf(tc.env))
			if err == nil {
				t.Fatalf("ResolveConnection = %+v; want an error", c)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.setting) {
				t.Errorf("error %q does not name %s", msg, tc.setting)
			}
			for _, secret := range []string{testKey, "SECRETSIGNATURE", "not*base64*"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q leaks a secret", msg)
				}
			}
		})
	}
}

func TestParseConnectionString(t *testing.T) {
	for _, tc := range []struct {
		name, cs, wantURL string
		key               bool
	}{
		{"account and suffix", testKeyCS, "https://acct1.table.core.windows.net", true},
		{"defaults", "AccountName=acct1;AccountKey=" + testKey, "https://acct1.table.core.windows.net", true},
		{"key names ignore case", "accountname=acct1;ACCOUNTKEY=" + testKey + ";endpointsuffix=core.chinacloudapi.cn", "https://acct1.table.core.chinacloudapi.cn", true},
		{"table endpoint wins", "AccountName=devstoreaccount1;AccountKey=" + testKey + ";TableEndpoint=http://127.0.0.1:10002/devstoreaccount1/;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1", "http://127.0.0.1:10002/devstoreaccount1", true},
		{"sas with endpoint, no account", "TableEndpoint=https://acct1.table.core.windows.net/;SharedAccessSignature=" + testSAS, "https://acct1.table.core.windows.net/?" + testSAS, false},
		{"sas with account", "AccountName=acct1;SharedAccessSignature=?" + testSAS, "https://acct1.table.core.windows.net/?" + testSAS, false},
		{"development storage", "UseDevelopmentStorage=true", "http://127.0.0.1:10002/devstoreaccount1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := parseConnectionString(tc.cs)
			if err != nil {
				t.Fatal(err)
			}
			if ep.serviceURL != tc.wantURL || (ep.cred != nil) != tc.key {
				t.Errorf("got %q key=%v; want %q key=%v", ep.serviceURL, ep.cred != nil, tc.wantURL, tc.key)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Connection: Connection{ConnectionString: testKeyCS}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(defaults) = %v", err)
	}
	bad := Config{
		Connection:    Connection{ConnectionString: "AccountName=acct1;AccountKey=" + testKey, TableServiceURL: "https://x.table.core.windows.net"},
		BaselineTable: "tables",
		AlertsTable:   "1bad",
		OpTimeout:     -1,
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{"both a connection string and a table service URL", `baseline table name "tables"`, `alerts table name "1bad"`, "negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("Validate error leaks the key: %q", err)
	}
	same := Config{Connection: Connection{ConnectionString: testKeyCS}, BaselineTable: "Pairs", AlertsTable: "PAIRS"}
	if err := same.Validate(); err == nil || !strings.Contains(err.Error(), "must differ") {
		t.Errorf("Validate(same tables) = %v", err)
	}
	for _, name := range []string{"abc", "A23456789012345678901234567890123456789012345678901234567890123"} {
		c := Config{Connection: good.Connection, BaselineTable: name}
		if err := c.Validate(); err != nil {
			t.Errorf("table %q: %v", name, err)
		}
	}
	for _, name := range []string{"ab", "A234567890123456789012345678901234567890123456789012345678901234", "a-b", "TABLES"} {
		c := Config{Connection: good.Connection, BaselineTable: name}
		if err := c.Validate(); err == nil {
			t.Errorf("table %q accepted", name)
		}
	}
}

// failTransport fails the test on any request: Open must not touch the
// network.
type failTransport struct{ t *testing.T }

func (f failTransport) Do(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Host)
	return nil, http.ErrServerClosed
}

func TestOpenMakesNoRequest(t *testing.T) {
	for _, conn := range []Connection{
		{ConnectionString: testKeyCS},
		{ConnectionString: "TableEndpoint=https://acct1.table.core.windows.net;SharedAccessSignature=" + testSAS},
		{TableServiceURL: "https://acct1.table.core.windows.net", ClientID: "11111111-2222-3333-4444-555555555555"},
		{TableServiceURL: "https://acct1.table.core.windows.net"},
	} {
		s, err := Open(Config{Connection: conn, Transport: failTransport{t}}, slog.New(slog.DiscardHandler))
		if err != nil || s == nil {
			t.Errorf("Open(%s): %v", conn.Source, err)
		}
	}
	if _, err := Open(Config{}, nil); err == nil {
		t.Error("Open(Config{}) succeeded")
	}
}
