package publish

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// The Event Hubs broker (and its emulator, a container) cannot run here, so
// these tests stop at the SDK's edge: settings, client construction, and a
// send to a loopback port where nothing listens.

const emulator = "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"

func TestTargetFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Target
		err  bool
	}{
		{"the emulator's connection string", map[string]string{"SignInEventHub": emulator}, Target{ConnectionString: emulator, Hub: "insights-logs-signinlogs"}, false},
		{"the identity form", map[string]string{"SignInEventHub__fullyQualifiedNamespace": "ns.servicebus.windows.net", "SignInEventHub__clientId": "id", "SIGNIN_EVENTHUB_NAME": "hub"},
			Target{Namespace: "ns.servicebus.windows.net", ClientID: "id", Hub: "hub"}, false},
		{"nothing set", map[string]string{}, Target{Hub: "insights-logs-signinlogs"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TargetFromEnv(func(k string) string { return tt.env[k] }, "insights-logs-signinlogs")
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("TargetFromEnv = %+v, %v", got, err)
			}
		})
	}
}

func TestProducerNeverQuotesTheConnectionString(t *testing.T) {
	_, err := Target{ConnectionString: "Endpoint=nonsense;SharedAccessKey=TOPSECRET", Hub: "h"}.Producer()
	if err == nil || strings.Contains(err.Error(), "TOPSECRET") {
		t.Fatalf("err = %v", err)
	}
}

func TestSendToAHubThatIsNotThereFailsCleanly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	conn := strings.Replace(emulator, "sb://localhost", "sb://"+addr, 1)
	p, err := Target{ConnectionString: conn, Hub: "insights-logs-signinlogs"}.Producer()
	if err != nil {
		t.Fatalf("a valid emulator string was refused: %v", err)
	}
	defer p.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n, err := Send(ctx, p, [][]byte{[]byte(`{"records":[]}`)})
	if err == nil || n != 0 {
		t.Fatalf("Send = %d, %v; want an error", n, err)
	}
}
