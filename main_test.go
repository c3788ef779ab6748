package main

// End-to-end tests: a real handler process (built from this module), the
// real Azurite table emulator, and local webhook receivers. The Functions
// host and Event Hubs cannot run here; internal/hostsim plays the host's
// documented wire format instead.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/azurite"
	"github.com/tenantwatch/tenantwatch/internal/azurite/faultproxy"
	"github.com/tenantwatch/tenantwatch/internal/baseline"
	"github.com/tenantwatch/tenantwatch/internal/demo"
	"github.com/tenantwatch/tenantwatch/internal/hostsim"
	"github.com/tenantwatch/tenantwatch/internal/webhooktest"
)

var (
	handlerBin string
	emu        *azurite.Emulator
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tenantwatch-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	handlerBin = filepath.Join(dir, "handler")
	build := exec.Command("go", "build", "-o", handlerBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build handler:", err)
		return 1
	}
	emu, err = azurite.Start(context.Background(), azurite.Options{})
	if err != nil {
		// Never skip: CI installs Azurite, and a skipped integration test hides breakage.
		fmt.Fprintln(os.Stderr, "start Azurite:", err)
		return 1
	}
	defer emu.Stop()
	return m.Run()
}

const (
	ours   = "3f2a8b1c-6d4e-4f7a-9b2c-1e5d7a9c0b11"
	theirs = "9a7e5c3b-1d2f-4e6a-8b0c-2d4f6a8c0e22"
)

// tables returns settings naming fresh tables, so tests share one Azurite
// without sharing state.
func tables() map[string]string {
	id := strings.ToLower(rand.Text()[:10])
	return map[string]string{"BASELINE_TABLE": "Base" + id, "ALERTS_TABLE": "Alerts" + id}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// webhookEnv points the handler at a verifying receiver.
func webhookEnv(t *testing.T, respond func(string, int) (int, string)) (*webhooktest.Receiver, map[string]string) {
	t.Helper()
	secret := webhooktest.NewSecret()
	rx, err := webhooktest.Start(webhooktest.Options{Secrets: []string{secret}, Respond: respond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rx.Close)
	return rx, map[string]string{
		"ALERT_WEBHOOK_URL":    rx.URL,
		"ALERT_WEBHOOK_SECRET": secret,
		"LEARNING_PERIOD":      "0",
		"BaselineStorage":      emu.ConnectionString(),
	}
}

func start(t *testing.T, env map[string]string) *hostsim.Handler {
	t.Helper()
	h, err := hostsim.Start(context.Background(), handlerBin, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-h.Done():
		default:
			h.Kill()
		}
		// With GOFLAGS=-race the handler itself is built with the race
		// detector, which reports on its stderr.
		if strings.Contains(h.Logs(), "DATA RACE") {
			t.Errorf("the handler reported a data race:\n%s", h.Logs())
		}
		if t.Failed() {
			t.Logf("handler logs:\n%s", tail(h.Logs(), 6000))
		}
	})
	return h
}

var client = &http.Client{Timeout: 3 * time.Minute}

func send(t *testing.T, h *hostsim.Handler, events []string) hostsim.Reply {
	t.Helper()
	reply, err := hostsim.Invoke(context.Background(), client, h.BaseURL, "CrossTenantSignIns", hostsim.EventHubRequest(events, 0, "0"))
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	return reply
}

func runOutbox(t *testing.T, h *hostsim.Handler) hostsim.Reply {
	t.Helper()
	reply, err := hostsim.Invoke(context.Background(), client, h.BaseURL, "AlertOutbox", hostsim.TimerRequest("AlertOutbox"))
	if err != nil {
		t.Fatalf("invoke outbox: %v", err)
	}
	return reply
}

// openStore opens the tables a handler started with env uses, to check
// what it stored.
func openStore(t *testing.T, env map[string]string) *baseline.Store {
	t.Helper()
	store, err := baseline.Open(baseline.Config{
		Connection:    baseline.Connection{ConnectionString: emu.ConnectionString()},
		BaselineTable: env["BASELINE_TABLE"],
		AlertsTable:   env["ALERTS_TABLE"],
		CreateTables:  true,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// storedAlert reads the alert row of the episode a sighting at `at` opened
// for (user, resource tenant).
func storedAlert(t *testing.T, store *baseline.Store, user, resource string, at time.Time) baseline.Alert {
	t.Helper()
	a, found, err := store.GetAlert(context.Background(), strings.ToLower(user), strings.ToLower(resource), at.UTC().Truncate(100*time.Nanosecond))
	if err != nil {
		t.Fatalf("read alert of %s: %v", user, err)
	}
	if !found {
		t.Fatalf("no alert row for %s at %v", user, at)
	}
	return a
}

// rowCount counts the rows of a table straight from the service; a table
// that does not exist has none.
func rowCount(t *testing.T, table string) int {
	t.Helper()
	svc, err := aztables.NewServiceClientFromConnectionString(emu.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	pager := svc.NewClient(table).NewListEntitiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.ErrorCode == string(aztables.TableNotFound) {
			return 0
		}
		if err != nil {
			t.Fatalf("list %s: %v", table, err)
		}
		n += len(page.Entities)
	}
	return n
}

// signIn is a successful sign-in record in the diagnostic-settings shape.
type signIn struct {
	id, user, home, resource, risk string
	at                             time.Time
}

func (s signIn) record() map[string]any {
	if s.id == "" {
		s.id = hostsim.NewGUID()
	}
	return map[string]any{
		"time": s.at.Format(time.RFC3339Nano), "category": "SignInLogs", "tenantId": ours,
		"operationName": "Sign-in activity", "resultType": "0", "Level": 4,
		"properties": map[string]any{
			"id": s.id, "createdDateTime": s.at.Format("2006-01-02T15:04:05.0000000Z07:00"),
			"userPrincipalName": s.user, "userId": hostsim.NewGUID(), "homeTenantId": s.home, "resourceTenantId": s.resource,
			"status": map[string]any{"errorCode": 0}, "riskLevelAggregated": s.risk, "riskLevelDuringSignIn": s.risk,
			"riskState": "atRisk", "riskEventTypes_v2": []string{"unfamiliarFeatures"}, "appDisplayName": "Azure Portal",
			"ipAddress": "203.0.113.9", "crossTenantAccessType": "b2bCollaboration",
		},
	}
}

func body(ss ...signIn) string {
	recs := make([]map[string]any, len(ss))
	for i, s := range ss {
		recs[i] = s.record()
	}
	b, _ := json.Marshal(map[string]any{"records": recs})
	return string(b)
}

func sampleBatches(t *testing.T) []demo.Batch {
	t.Helper()
	b, err := demo.LoadBatches("samples")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type alertKey struct{ user, other, direction, risk string }

func delivered(t *testing.T, rx *webhooktest.Receiver) []alert.Envelope {
	t.Helper()
	var out []alert.Envelope
	for _, b := range rx.Delivered() {
		env, err := webhooktest.Decode[alert.Envelope](b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

func keysOf(envs []alert.Envelope) []alertKey {
	var out []alertKey
	for _, e := range envs {
		out = append(out, alertKey{e.Data.UserPrincipalName, e.Data.OtherTenantID, e.Data.Direction, e.Data.RiskLevelAggregated})
	}
	slices.SortFunc(out, func(a, b alertKey) int { return strings.Compare(a.user, b.user) })
	return out
}

// The bundled samples' alerts, as samples/README.md describes them.
var sampleAlerts = []alertKey{
	{"alice@contoso.example", "9a7e5c3b-1d2f-4e6a-8b0c-2d4f6a8c0e22", "outbound", "medium"},
	{"bob@contoso.example", "5b3d1f7a-9c2e-4a6b-8d0f-3e5a7c9b1d33", "outbound", "hidden"},
	{"dave_wingtip.example#ext#@contoso.onmicrosoft.com", "7c9e1a3b-5d7f-4b2d-9f1a-4c6e8a0b2d44", "inbound", "high"},
	{"erin.visser@contoso.example", "2e4a6c8e-0b2d-4f6a-8c1e-5d7f9b1c3e55", "outbound", "high"},
}

func assertOnePostEach(t *testing.T, rx *webhooktest.Receiver) {
	t.Helper()
	for id, n := range rx.SuccessfulPosts() {
		if n != 1 {
			t.Errorf("alert %s was POSTed successfully %d times; want 1", id, n)
		}
	}
	if n := rx.Unverified(); n != 0 {
		t.Errorf("%d POSTs failed signature verification", n)
	}
}

func TestMakeRunDemoPrintsTheSampleAlerts(t *testing.T) {
	var out bytes.Buffer
	rep, err := demo.Replay(context.Background(), demo.Options{Handler: handlerBin, Stdout: &out})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if got := keysOf(rep.Alerts); !slices.Equal(got, sampleAlerts) {
		t.Errorf("alerts = %v\nwant %v", got, sampleAlerts)
	}
	for _, want := range []string{"Learning is OFF", "4 alert(s)", "Summary:", "1 malformed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSamplesReplayedAgainInAnyOrderRaiseNoNewAlert(t *testing.T) {
	rx, env := webhookEnv(t, nil)
	h := start(t, merge(env, tables()))
	batches := sampleBatches(t)
	for _, b := range batches {
		if r := send(t, h, b.Events); !r.OK() {
			t.Fatalf("%s: status %d %v", b.Name, r.Status, r.Logs)
		}
	}
	for i := len(batches) - 1; i >= 0; i-- { // again, backwards
		if r := send(t, h, batches[i].Events); !r.OK() {
			t.Fatalf("replay %s: status %d", batches[i].Name, r.Status)
		}
	}
	runOutbox(t, h)
	if got := keysOf(delivered(t, rx)); !slices.Equal(got, sampleAlerts) {
		t.Errorf("alerts = %v\nwant %v", got, sampleAlerts)
	}
	assertOnePostEach(t, rx)
}

func TestAlertPayloadCarriesTheRequiredFields(t *testing.T) {
	rx, env := webhookEnv(t, nil)
	h := start(t, merge(env, tables()))
	at := time.Now().UTC().Add(-time.Minute).Truncate(100 * time.Nanosecond)
	send(t, h, []string{body(signIn{id: "sid-1", user: "Mixed.Case@Contoso.example", home: ours, resource: strings.ToUpper(theirs), risk: "medium", at: at})})
	bodies := rx.Delivered()
	if len(bodies) != 1 {
		t.Fatalf("%d alerts; want 1", len(bodies))
	}
	var msg struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(bodies[0], &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != "crossTenantSignIn.firstSeen" || msg.Timestamp.IsZero() {
		t.Errorf("type %q timestamp %v", msg.Type, msg.Timestamp)
	}
	for _, k := range []string{"alertId", "userPrincipalName", "userId", "homeTenantId", "resourceTenantId", "otherTenantId",
		"direction", "signInId", "createdDateTime", "category", "appDisplayName", "ipAddress", "riskLevelAggregated",
		"riskLevelDuringSignIn", "riskState", "riskEventTypes", "crossTenantAccessType", "episodeId", "episodeStart"} {
		if _, ok := msg.Data[k]; !ok {
			t.Errorf("data lacks %s", k)
		}
	}
	wantID := alert.ID("mixed.case@contoso.example", theirs, at)
	if msg.Data["alertId"] != wantID || rx.DeliveredIDs()[0] != wantID {
		t.Errorf("alert id %v / webhook-id %v; want %s", msg.Data["alertId"], rx.DeliveredIDs()[0], wantID)
	}
	if msg.Data["userPrincipalName"] != "mixed.case@contoso.example" || msg.Data["resourceTenantId"] != theirs {
		t.Errorf("pair not normalised: %v %v", msg.Data["userPrincipalName"], msg.Data["resourceTenantId"])
	}
}

// TestTwoHandlersGivenTheSameBatchesAtOnceRaiseOneAlertPerEpisode races
// two processes over the same batches, round after round: first sightings
// (each twice in its batch), then late sightings and re-opened episodes.
func TestTwoHandlersGivenTheSameBatchesAtOnceRaiseOneAlertPerEpisode(t *testing.T) {
	rx, env := webhookEnv(t, nil)
	env = merge(env, tables())
	a, b := start(t, env), start(t, env)
	store := openStore(t, env)
	const rounds, pairs = 12, 4
	now := time.Now().UTC().Truncate(time.Second)
	race := func(events []string) {
		t.Helper()
		var wg sync.WaitGroup
		for _, h := range []*hostsim.Handler{a, b} {
			wg.Go(func() {
				if r := send(t, h, events); !r.OK() {
					t.Errorf("status %d: %v", r.Status, r.Logs)
				}
			})
		}
		wg.Wait()
	}
	type pairTimes struct {
		user     string
		first    time.Time // opens the first episode
		reopened time.Time // 18 days after it: opens the second
	}
	var all []pairTimes
	for r := range rounds {
		for p := range pairs {
			offset := time.Duration(r*pairs+p) * time.Second
			all = append(all, pairTimes{
				user:     fmt.Sprintf("race%d-%d@contoso.example", r, p),
				first:    now.Add(-20*24*time.Hour + offset),
				reopened: now.Add(-2*24*time.Hour + offset),
			})
		}
	}
	sighting := func(p pairTimes, at time.Time) signIn {
		return signIn{user: p.user, home: ours, resource: theirs, risk: "high", at: at}
	}

	// Phase 1: every pair's first sighting, and an exact duplicate of it.
	for r := range rounds {
		var ss []signIn
		for _, p := range all[r*pairs : (r+1)*pairs] {
			s := sighting(p, p.first)
			ss = append(ss, s, s)
		}
		race([]string{body(ss...)})
	}
	// Phase 2, per pair and in this order in one batch: a late sighting 2h
	// before the episode start (it moves the start back), one 18 days after
	// the last seen (a new episode, so one more alert), and one 2h before
	// that new episode's start (it moves the new start back, not its id).
	for r := range rounds {
		var ss []signIn
		for _, p := range all[r*pairs : (r+1)*pairs] {
			ss = append(ss, sighting(p, p.first.Add(-2*time.Hour)), sighting(p, p.reopened), sighting(p, p.reopened.Add(-2*time.Hour)))
		}
		race([]string{body(ss...)})
	}
	runOutbox(t, a)
	runOutbox(t, b)

	want := map[string]string{} // alert id → user
	for _, p := range all {
		want[alert.ID(p.user, theirs, p.first)] = p.user
		want[alert.ID(p.user, theirs, p.reopened)] = p.user
		got, err := store.GetPair(context.Background(), p.user, theirs)
		if err != nil || !got.Exists {
			t.Errorf("pair %s: exists=%v err=%v", p.user, got.Exists, err)
			continue
		}
		st := got.State
		if !st.EpisodeID.Equal(p.reopened) || !st.EpisodeStart.Equal(p.reopened.Add(-2*time.Hour)) || !st.LastSeen.Equal(p.reopened) {
			t.Errorf("pair %s: episode %v start %v last seen %v; want episode %v start %v last seen %v", p.user,
				st.EpisodeID, st.EpisodeStart, st.LastSeen, p.reopened, p.reopened.Add(-2*time.Hour), p.reopened)
		}
	}
	perUser := map[string]int{}
	for _, e := range delivered(t, rx) {
		if want[e.Data.AlertID] != e.Data.UserPrincipalName || e.Data.RiskLevelAggregated != "high" {
			t.Errorf("unexpected alert %s for %s (risk %s)", e.Data.AlertID, e.Data.UserPrincipalName, e.Data.RiskLevelAggregated)
		}
		perUser[e.Data.UserPrincipalName]++
	}
	for _, p := range all {
		if perUser[p.user] != 2 {
			t.Errorf("%s got %d distinct alerts; want 2 (one per episode)", p.user, perUser[p.user])
		}
	}
	if got := len(rx.DeliveredIDs()); got != len(want) {
		t.Errorf("%d distinct alerts; want %d", got, len(want))
	}
	assertOnePostEach(t, rx)
}

func TestFailedStorageFailsTheInvocationAndTheResentBatchRecovers(t *testing.T) {
	proxy, err := faultproxy.New(emu.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	rx, env := webhookEnv(t, nil)
	env["BaselineStorage"] = azurite.ConnectionString(proxy.Addr())
	h := start(t, merge(env, tables()))
	events := []string{body(signIn{user: "outage@contoso.example", home: ours, resource: theirs, risk: "low", at: time.Now().Add(-time.Minute)})}

	proxy.SetDown(true)
	if r := send(t, h, events); r.OK() {
		t.Fatalf("storage down, yet the invocation succeeded: %v", r.Logs)
	}
	proxy.SetDown(false)
	if r := send(t, h, events); !r.OK() {
		t.Fatalf("storage back, re-sent batch failed: %d %v", r.Status, r.Logs)
	}
	if n := len(rx.DeliveredIDs()); n != 1 {
		t.Errorf("%d alerts after recovery; want 1", n)
	}
	assertOnePostEach(t, rx)
}

func TestWrongStorageKeyFailsTheInvocation(t *testing.T) {
	_, env := webhookEnv(t, nil)
	key := make([]byte, 64)
	_, _ = rand.Read(key)
	wrongKey := base64.StdEncoding.EncodeToString(key)
	env["BaselineStorage"] = strings.Replace(emu.ConnectionString(), "AccountKey="+azurite.AccountKey, "AccountKey="+wrongKey, 1)
	if !strings.Contains(env["BaselineStorage"], wrongKey) {
		t.Fatal("the connection string holds no account key to replace")
	}
	h := start(t, merge(env, tables()))
	r := send(t, h, []string{body(signIn{user: "auth@contoso.example", home: ours, resource: theirs, risk: "low", at: time.Now().Add(-time.Minute)})})
	if r.OK() {
		t.Fatalf("an auth failure must fail the invocation so an operator can fix it while the Event Hub keeps the data: %v", r.Logs)
	}
	if logLine(h, "invocation failed") == "" {
		t.Fatal("the failed invocation was not logged")
	}
	logs := h.Logs() + strings.Join(r.Logs, "\n")
	for name, secret := range map[string]string{"the key used": wrongKey, "the development account's key": azurite.AccountKey} {
		if leak := secretFragment(logs, secret, 12); leak != "" {
			t.Errorf("%s reached the logs (%q)", name, leak)
		}
	}
}

// secretFragment returns a piece of secret, n bytes long, found in s, or "".
func secretFragment(s, secret string, n int) string {
	for i := 0; i+n <= len(secret); i++ {
		if strings.Contains(s, secret[i:i+n]) {
			return secret[i : i+n]
		}
	}
	return ""
}

func TestBadInputIsSkippedWithoutFailingTheBatch(t *testing.T) {
	rx, env := webhookEnv(t, nil)
	h := start(t, merge(env, tables()))
	good := body(signIn{user: "good@contoso.example", home: ours, resource: theirs, risk: "high", at: time.Now().Add(-time.Minute)})
	r := send(t, h, []string{"not json", `{"records":"nope"}`, `{"records":[42,{"category":"SignInLogs","properties":{"userPrincipalName":7}}]}`, good, "{"})
	if !r.OK() {
		t.Fatalf("bad input failed the batch: %d %v", r.Status, r.Logs)
	}
	if n := len(rx.DeliveredIDs()); n != 1 {
		t.Errorf("%d alerts; want the good record's 1", n)
	}
	// A request the host cannot have meant is completed too, never retried forever.
	resp, err := client.Post(h.BaseURL+"/CrossTenantSignIns", "application/json", strings.NewReader(`{"Data":`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("undecodable envelope: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestUndecodableEventsAreCompletedAndNothingStored: the host would re-send
// an events binding that cannot be read forever, holding its partition, so
// the invocation completes, the problem is logged, and nothing is stored.
func TestUndecodableEventsAreCompletedAndNothingStored(t *testing.T) {
	for name, events := range map[string]string{
		"a string holding broken JSON": `"[not json"`,
		"a number":                     `42`,
		"a string holding a string":    `"\"records\""`,
	} {
		t.Run(name, func(t *testing.T) {
			rx, env := webhookEnv(t, nil)
			env = merge(env, tables())
			h := start(t, env)
			req := `{"Data":{"events":` + events + `},"Metadata":{"PartitionContext":{"PartitionId":"0"}}}`
			r, err := hostsim.Invoke(context.Background(), client, h.BaseURL, "CrossTenantSignIns", []byte(req))
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() {
				t.Fatalf("status %d: the host would re-send this batch forever: %v", r.Status, r.Logs)
			}
			if !strings.Contains(strings.Join(r.Logs, " "), "undecodable") {
				t.Errorf("reply logs %v do not say the events were undecodable", r.Logs)
			}
			if line := logLine(h, "undecodable"); !strings.Contains(line, `"level":"ERROR"`) {
				t.Errorf("no error-level log line for the skipped batch: %q", line)
			}
			for _, table := range []string{env["BASELINE_TABLE"], env["ALERTS_TABLE"]} {
				if n := rowCount(t, table); n != 0 {
					t.Errorf("%d rows stored in %s", n, table)
				}
			}
			if n := len(rx.Attempts()); n != 0 {
				t.Errorf("%d webhook POSTs", n)
			}
		})
	}
}

func TestSIGTERMFinishesTheInvocationInFlight(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	rx, env := webhookEnv(t, func(string, int) (int, string) {
		arrived <- struct{}{}
		<-release
		return 0, ""
	})
	h := start(t, merge(env, tables()))
	done := make(chan hostsim.Reply, 1)
	go func() {
		done <- send(t, h, []string{body(signIn{user: "term@contoso.example", home: ours, resource: theirs, risk: "high", at: time.Now().Add(-time.Minute)})})
	}()
	<-arrived // the invocation is delivering its alert
	stopped := make(chan error, 1)
	go func() { stopped <- h.Stop() }()
	time.Sleep(200 * time.Millisecond)
	close(release)
	if r := <-done; !r.OK() {
		t.Errorf("in-flight invocation answered %d", r.Status)
	}
	if err := <-stopped; err != nil {
		t.Errorf("handler exit: %v", err)
	}
	if n := len(rx.DeliveredIDs()); n != 1 {
		t.Errorf("%d alerts; want 1", n)
	}
}

func TestStartupReportsEveryBadSettingWithoutSecrets(t *testing.T) {
	env := map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": "8080",
		"BaselineStorage":              "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=SECRETKEYVALUE==;Bogus",
		"BASELINE_WINDOW":              "fortnight",
		"ALERT_RISK_LEVELS":            "high,severe",
		"ALERT_WEBHOOK_URL":            "http://hooks.example.com/secret-path?sig=SECRETSIG",
		"ALERT_WEBHOOK_SECRET":         "not-a-whsec-SECRETVALUE",
		"CROSS_TENANT_DIRECTION":       "sideways",
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"handler", "serve"}, func(k string) string { return env[k] }, nil, &stdout, &stderr)
	if code != 2 {
		t.Fatalf("exit %d; want 2", code)
	}
	out := stdout.String() + stderr.String()
	for _, want := range []string{"BASELINE_WINDOW", "ALERT_RISK_LEVELS", "severe", "ALERT_WEBHOOK_URL", "ALERT_WEBHOOK_SECRET", "sideways"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"SECRETKEYVALUE", "SECRETSIG", "secret-path", "SECRETVALUE"} {
		if strings.Contains(out, secret) {
			t.Errorf("output leaks %q:\n%s", secret, out)
		}
	}
}

func TestVersionPrintsVersionAndCommit(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"handler", "version"}, os.Getenv, nil, &out, &out); code != 0 || !strings.Contains(out.String(), "commit") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
}

// logLine returns the first line of the handler's logs holding substr, or
// "" when none has come within a few seconds (the logs reach us through a
// pipe, possibly after the reply).
func logLine(h *hostsim.Handler, substr string) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.Lines(h.Logs()) {
			if strings.Contains(line, substr) {
				return line
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func TestAnEntityStorageRejectsIsSkippedAndTheRestProcessed(t *testing.T) {
	tests := []struct {
		name string
		bad  signIn
		// wantInLog is in the rejection's log line: the service's status
		// shows the request reached it.
		wantInLog string
	}{
		{"a key over the 1 KiB limit, refused before it is sent",
			signIn{user: strings.Repeat("x", 3000) + "@contoso.example", home: ours, resource: theirs, risk: "high"}, ""},
		// The home tenant is a property of the pair row: the service
		// refuses a string property over 64 KiB (400 PropertyValueTooLarge).
		{"a property over 64 KiB, refused by the storage service",
			signIn{user: "big-home@contoso.example", home: strings.Repeat("h", 70<<10), resource: theirs, risk: "high"}, "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rx, env := webhookEnv(t, nil)
			env = merge(env, tables())
			h := start(t, env)
			at := time.Now().Add(-time.Minute)
			bad, good := tt.bad, signIn{user: "fine@contoso.example", home: ours, resource: theirs, risk: "high", at: at}
			bad.at = at
			r := send(t, h, []string{body(bad, good)})
			if !r.OK() {
				t.Fatalf("one entity's content failed the batch (it would be re-sent forever): %d %v", r.Status, r.Logs)
			}
			got := rx.DeliveredIDs()
			if want := alert.ID(good.user, theirs, at.UTC().Truncate(100*time.Nanosecond)); len(got) != 1 || got[0] != want {
				t.Errorf("alerts %v; want the good record's %s alone", got, want)
			}
			line := logLine(h, "sighting rejected by storage")
			if line == "" {
				t.Error("the rejected sighting was not logged")
			} else if !strings.Contains(line, tt.wantInLog) {
				t.Errorf("the rejection log lacks %q: %s", tt.wantInLog, line)
			}
			if p, err := openStore(t, env).GetPair(context.Background(), "fine@contoso.example", theirs); err != nil || !p.Exists {
				t.Errorf("the good record's pair was not stored: exists=%v err=%v", p.Exists, err)
			}
		})
	}
}

func TestTestAlertPostsAClearlyMarkedSignedSample(t *testing.T) {
	rx, env := webhookEnv(t, nil)
	delete(env, "BaselineStorage") // test-alert never needs storage
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"handler", "test-alert"}, func(k string) string { return env[k] }, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	bodies := rx.Delivered()
	if len(bodies) != 1 || rx.Unverified() != 0 {
		t.Fatalf("%d deliveries, %d unverified", len(bodies), rx.Unverified())
	}
	msg, err := webhooktest.Decode[alert.Envelope](bodies[0])
	if err != nil || !msg.Data.Test || !strings.Contains(out.String(), msg.Data.AlertID) {
		t.Errorf("test alert %+v (%v); output %q", msg.Data, err, out.String())
	}
}

func TestWithoutAWebhookEachAlertIsAStructuredWarningLine(t *testing.T) {
	env := merge(tables(), map[string]string{"BaselineStorage": emu.ConnectionString(), "LEARNING_PERIOD": "0"})
	h := start(t, env)
	if r := send(t, h, []string{risky("logged@contoso.example")}); !r.OK() {
		t.Fatal(r.Status)
	}
	line := logLine(h, "risky first-seen cross-tenant sign-in")
	var rec struct {
		Level string         `json:"level"`
		Alert alert.Envelope `json:"alert"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("no JSON warning line with the alert (%v): %q", err, line)
	}
	if rec.Level != "WARN" || rec.Alert.Type != alert.EventType || rec.Alert.Data.UserPrincipalName != "logged@contoso.example" ||
		rec.Alert.Data.OtherTenantID != theirs {
		t.Errorf("warning line = %+v", rec)
	}
	if r := runOutbox(t, h); !strings.Contains(strings.Join(r.Logs, " "), "due=0") {
		t.Errorf("the logged alert is still due: %v", r.Logs)
	}
}
