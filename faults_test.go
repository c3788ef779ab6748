package main

// Fault tests: the webhook failing and throttling, processes killed at the
// dangerous moments (failpoints), and the receiver's view of it all. In
// every test no alert is missing, a receiver that de-duplicates on
// webhook-id sees each alert once, and a second successful POST of one id
// happens only where a process died between a POST and recording it.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/baseline"
	"github.com/tenantwatch/tenantwatch/internal/hostsim"
	"github.com/tenantwatch/tenantwatch/internal/webhooktest"
)

// drainOutbox runs the AlertOutbox function until want alerts are delivered
// or the bound passes, as the host's timer would (only faster).
func drainOutbox(t *testing.T, h *hostsim.Handler, rx *webhooktest.Receiver, want int, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for len(rx.DeliveredIDs()) < want && time.Now().Before(deadline) {
		runOutbox(t, h)
		time.Sleep(200 * time.Millisecond)
	}
	if got := len(rx.DeliveredIDs()); got != want {
		t.Fatalf("%d alerts delivered within %v; want %d", got, bound, want)
	}
}

// settle waits out the lease a killed process held, then runs the outbox
// until nothing is due.
func settle(t *testing.T, h *hostsim.Handler, lease time.Duration) {
	t.Helper()
	time.Sleep(lease + 500*time.Millisecond)
	for range 20 {
		r := runOutbox(t, h)
		if strings.Contains(strings.Join(r.Logs, " "), "due=0") {
			return
		}
	}
	t.Fatal("alerts still due after 20 outbox runs")
}

func attemptsFor(rx *webhooktest.Receiver, id string) []webhooktest.Attempt {
	var out []webhooktest.Attempt
	for _, a := range rx.Attempts() {
		if a.ID == id {
			out = append(out, a)
		}
	}
	return out
}

func risky(user string) string {
	return body(signIn{user: user, home: ours, resource: theirs, risk: "high", at: time.Now().UTC().Add(-time.Minute)})
}

func TestWebhookFailingThenRecoveringGetsEveryAlertOnce(t *testing.T) {
	const failures = 3
	rx, env := webhookEnv(t, webhooktest.FailFirst(failures, http.StatusInternalServerError, 0))
	// 2s −20 % jitter still puts consecutive attempts in different seconds,
	// so each one's webhook-timestamp must differ from the last.
	env["ALERT_RETRY_SCHEDULE"] = "2s,2s,2s,2s,2s"
	h := start(t, merge(env, tables()))
	if r := send(t, h, []string{risky("flaky@contoso.example")}); !r.OK() {
		t.Fatalf("the webhook's failure held the batch: %d", r.Status)
	}
	drainOutbox(t, h, rx, 1, 20*time.Second)
	id := rx.DeliveredIDs()[0]
	atts := attemptsFor(rx, id)
	if len(atts) != failures+1 {
		t.Errorf("%d attempts; want %d", len(atts), failures+1)
	}
	signatures := map[string]int{}
	for i, a := range atts {
		if !a.Verified {
			t.Errorf("attempt %d did not verify", i+1)
		}
		if prev, seen := signatures[a.Signature]; seen {
			t.Errorf("attempt %d carries the signature of attempt %d; each attempt is signed afresh", i+1, prev+1)
		}
		signatures[a.Signature] = i
		if i == 0 {
			continue
		}
		if gap := a.At.Sub(atts[i-1].At); gap < 1600*time.Millisecond { // 2 s −20 % jitter
			t.Errorf("attempt %d came %v after the previous; the schedule says 2s ±20%%", i+1, gap)
		}
		ts, err1 := strconv.ParseInt(a.Timestamp, 10, 64)
		prev, err2 := strconv.ParseInt(atts[i-1].Timestamp, 10, 64)
		if err1 != nil || err2 != nil || ts <= prev {
			t.Errorf("attempt %d: webhook-timestamp %q after %q; want a later second: each attempt is signed afresh", i+1, a.Timestamp, atts[i-1].Timestamp)
		}
	}
	var gaps []string
	for i := 1; i < len(atts); i++ {
		gaps = append(gaps, atts[i].At.Sub(atts[i-1].At).Round(10*time.Millisecond).String())
	}
	t.Logf("%d attempts (statuses 500,500,500,204), gaps %v, successful POSTs per id %v", len(atts), gaps, rx.SuccessfulPosts())
	assertOnePostEach(t, rx)
}

func TestWebhookRetryAfterIsHonoured(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			rx, env := webhookEnv(t, webhooktest.FailFirst(1, status, 3*time.Second))
			env["ALERT_RETRY_SCHEDULE"] = "1s,1s"
			h := start(t, merge(env, tables()))
			send(t, h, []string{risky("throttled@contoso.example")})
			drainOutbox(t, h, rx, 1, 20*time.Second)
			atts := attemptsFor(rx, rx.DeliveredIDs()[0])
			if len(atts) != 2 {
				t.Fatalf("%d attempts; want 2", len(atts))
			}
			gap := atts[1].At.Sub(atts[0].At)
			t.Logf("%d with Retry-After: 3 (schedule 1s): second attempt %v later", status, gap.Round(10*time.Millisecond))
			if gap < 3*time.Second {
				t.Errorf("second attempt %v after a %d with Retry-After: 3; want ≥ 3s", gap, status)
			}
			assertOnePostEach(t, rx)
		})
	}
}

func TestAlertIsMarkedFailedAfterTheSchedule(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		attempts int
	}{
		{"a 5xx is retried until the schedule ends", http.StatusBadGateway, 3},
		{"a 4xx other than 408/409/425/429 is not retried", http.StatusForbidden, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rx, env := webhookEnv(t, webhooktest.FailFirst(1000, tt.status, 0))
			// A URL whose path and query are secrets, as a Workflows URL's are.
			secrets := []string{"p" + rand.Text(), "q" + rand.Text(), "s" + rand.Text()}
			env["ALERT_WEBHOOK_URL"] = strings.TrimSuffix(rx.URL, "/alerts") + "/" + secrets[0] + "/" + secrets[1] + "?sig=" + secrets[2]
			env["ALERT_RETRY_SCHEDULE"] = "500ms,500ms"
			env = merge(env, tables())
			h := start(t, env)
			at := time.Now().UTC().Add(-time.Minute)
			send(t, h, []string{body(signIn{user: "doomed@contoso.example", home: ours, resource: theirs, risk: "high", at: at})})
			deadline := time.Now().Add(15 * time.Second)
			for !strings.Contains(h.Logs(), "failed for good") && time.Now().Before(deadline) {
				runOutbox(t, h)
				time.Sleep(200 * time.Millisecond)
			}
			if logLine(h, "failed for good") == "" {
				t.Fatal("no error-level log marked the alert failed")
			}
			for range 3 { // a failed alert is never attempted again
				runOutbox(t, h)
			}
			atts := rx.Attempts()
			if len(atts) != tt.attempts {
				t.Errorf("%d attempts; want %d", len(atts), tt.attempts)
			}
			if !strings.Contains(h.Logs(), atts[0].ID) {
				t.Error("the failure log does not name the alert id")
			}
			row := storedAlert(t, openStore(t, env), "doomed@contoso.example", theirs, at)
			if row.State != baseline.AlertFailed || row.Attempts != len(atts) || row.LastError == "" {
				t.Errorf("stored state %q, %d attempts, last error %q; want failed, %d attempts and the reason", row.State, row.Attempts, row.LastError, len(atts))
			}
			for _, secret := range secrets {
				if strings.Contains(row.LastError, secret) {
					t.Errorf("the stored last error holds a secret part of the webhook URL: %q", row.LastError)
				}
				if strings.Contains(h.Logs(), secret) {
					t.Error("the logs hold a secret part of the webhook URL")
				}
			}
		})
	}
}

// TestProcessKilledAtEachFailpointLosesNothing kills a handler with SIGKILL
// exactly between two steps, restarts it, and lets the host re-send the
// batch.
func TestProcessKilledAtEachFailpointLosesNothing(t *testing.T) {
	for _, fp := range []string{"after-pair-write", "after-claim", "after-post"} {
		t.Run(fp, func(t *testing.T) {
			rx, env := webhookEnv(t, nil)
			env = merge(env, tables(), map[string]string{"ALERT_LEASE": "2s"})
			events := []string{risky("killed-a@contoso.example"), risky("killed-b@contoso.example")}

			first := start(t, merge(env, map[string]string{"TENANTWATCH_FAILPOINTS": fp}))
			_, err := hostsim.Invoke(context.Background(), client, first.BaseURL, "CrossTenantSignIns", hostsim.EventHubRequest(events, 0, "0"))
			if err == nil {
				t.Fatal("the invocation completed; the failpoint should have killed the process")
			}
			<-first.Done()
			if !strings.Contains(first.Logs(), fmt.Sprintf("failpoint %s fired", fp)) {
				t.Fatalf("failpoint %s did not fire", fp)
			}
			postedBeforeKill := rx.SuccessfulPosts()

			second := start(t, env)
			if r := send(t, second, events); !r.OK() {
				t.Fatalf("re-sent batch: %d %v", r.Status, r.Logs)
			}
			drainOutbox(t, second, rx, 2, 30*time.Second)
			settle(t, second, 2*time.Second)
			for id, n := range rx.SuccessfulPosts() {
				want := 1
				if postedBeforeKill[id] > 0 && fp == "after-post" {
					want = 2 // the process died between the POST and recording it
				}
				if n != want {
					t.Errorf("alert %s POSTed %d times; want %d", id, n, want)
				}
			}
			t.Logf("%s: posted before the kill %v, after %v", fp, postedBeforeKill, rx.SuccessfulPosts())
		})
	}
}

// clearOfTheHourTurn waits for the next wall-clock hour when it is less
// than 15 s away: the flood guard counts cards per hour, and a test whose
// cards straddle two hours would see two budgets.
func clearOfTheHourTurn(t *testing.T) {
	t.Helper()
	now := time.Now().UTC()
	if left := now.Truncate(time.Hour).Add(time.Hour).Sub(now); left < 15*time.Second {
		t.Logf("waiting %v for the hour to turn", left)
		time.Sleep(left + 100*time.Millisecond)
	}
}

// teamsReceiver plays a Teams Workflows webhook: it answers 202 with no
// body, unless respond says otherwise (Teams itself cannot run here).
func teamsReceiver(t *testing.T, respond func(string, int) (int, string)) *webhooktest.Receiver {
	t.Helper()
	if respond == nil {
		respond = func(string, int) (int, string) { return http.StatusAccepted, "" }
	}
	rx, err := webhooktest.Start(webhooktest.Options{Respond: func(id string, n int) (int, string) {
		if status, ra := respond(id, n); status != 0 {
			return status, ra
		}
		return http.StatusAccepted, ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rx.Close)
	return rx
}

// teamsPosts sorts the messages Teams accepted into alert cards (their
// summaries) and digests (how many alerts each listed).
func teamsPosts(t *testing.T, rx *webhooktest.Receiver) (cards []string, digests []int) {
	t.Helper()
	for _, body := range rx.Bodies() {
		var msg struct {
			Summary string `json:"summary"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(msg.Summary, "(digest)") {
			var listed int
			fmt.Sscan(msg.Summary, &listed)
			digests = append(digests, listed)
		} else {
			cards = append(cards, msg.Summary)
		}
	}
	return cards, digests
}

// carded reports whether one of the cards names user.
func carded(cards []string, user string) bool {
	for _, c := range cards {
		if strings.Contains(c, user) {
			return true
		}
	}
	return false
}

// teamsEnv points a handler with fresh tables at a played Teams webhook
// with a flood limit of 2 cards an hour.
func teamsEnv(rx *webhooktest.Receiver, extra map[string]string) map[string]string {
	return merge(tables(), map[string]string{
		"BaselineStorage":      emu.ConnectionString(),
		"LEARNING_PERIOD":      "0",
		"ALERT_WEBHOOK_URL":    rx.URL,
		"ALERT_WEBHOOK_FORMAT": "teams",
		"ALERT_MAX_PER_HOUR":   "2",
	}, extra)
}

// TestTeamsFloodGuardDigestsTheRestOfTheHour plays a Teams Workflows
// webhook.
func TestTeamsFloodGuardDigestsTheRestOfTheHour(t *testing.T) {
	clearOfTheHourTurn(t)
	rx := teamsReceiver(t, nil)
	env := teamsEnv(rx, nil)
	a, b := start(t, env), start(t, env) // the count is shared through storage
	at := time.Now().UTC().Add(-time.Minute)
	var users, events []string
	for i := range 6 {
		user := fmt.Sprintf("flood%d@contoso.example", i)
		users = append(users, user)
		events = append(events, body(signIn{user: user, home: ours, resource: theirs, risk: "high", at: at}))
	}
	if r := send(t, a, events[:3]); !r.OK() {
		t.Fatal(r.Status)
	}
	if r := send(t, b, events[3:]); !r.OK() {
		t.Fatal(r.Status)
	}
	runOutbox(t, a)
	runOutbox(t, b)

	cards, digests := teamsPosts(t, rx)
	if len(cards) != 2 || len(digests) != 1 || digests[0] != 4 {
		t.Errorf("%d cards and digests listing %v; want 2 cards and 1 digest listing 4", len(cards), digests)
	}
	if r := runOutbox(t, a); !strings.Contains(strings.Join(r.Logs, " "), "due=0") {
		t.Errorf("alerts still due after the digest: %v", r.Logs)
	}

	// In storage: every alert sent; the carded ones on their own, the rest
	// under one digest id.
	store := openStore(t, env)
	digestIDs := map[string]int{}
	for _, user := range users {
		row := storedAlert(t, store, user, theirs, at)
		if row.State != baseline.AlertSent {
			t.Errorf("%s: state %q; want sent", user, row.State)
		}
		switch {
		case carded(cards, user):
			if row.Digest != "" {
				t.Errorf("%s had its own card, yet its row names digest %q", user, row.Digest)
			}
		case strings.HasPrefix(row.Digest, "digest_"):
			digestIDs[row.Digest]++
		default:
			t.Errorf("%s: no card of its own, and digest %q", user, row.Digest)
		}
	}
	if len(digestIDs) != 1 {
		t.Errorf("digested rows name %v; want one digest listing 4", digestIDs)
	}
	for _, n := range digestIDs {
		if n != 4 {
			t.Errorf("%d rows name the digest; want 4", n)
		}
	}
}

// TestFloodGuardLeavesMachineWebhooksAlone: the hourly budget is for people
// reading a channel; a Standard Webhooks receiver gets every alert on its
// own.
func TestFloodGuardLeavesMachineWebhooksAlone(t *testing.T) {
	clearOfTheHourTurn(t)
	rx, env := webhookEnv(t, nil)
	env = merge(env, tables(), map[string]string{"ALERT_MAX_PER_HOUR": "1"})
	h := start(t, env)
	at := time.Now().UTC().Add(-time.Minute)
	var users, events []string
	for i := range 4 {
		user := fmt.Sprintf("machine%d@contoso.example", i)
		users = append(users, user)
		events = append(events, body(signIn{user: user, home: ours, resource: theirs, risk: "high", at: at}))
	}
	if r := send(t, h, events); !r.OK() {
		t.Fatal(r.Status)
	}
	runOutbox(t, h)

	if n := len(rx.Bodies()); n != len(users) {
		t.Errorf("%d messages; want %d, one per alert", n, len(users))
	}
	got := map[string]bool{}
	for _, e := range delivered(t, rx) {
		if e.Type != alert.EventType {
			t.Errorf("message of type %q; want %q", e.Type, alert.EventType)
		}
		got[e.Data.UserPrincipalName] = true
	}
	store := openStore(t, env)
	for _, user := range users {
		if !got[user] {
			t.Errorf("no alert of its own for %s", user)
		}
		if row := storedAlert(t, store, user, theirs, at); row.State != baseline.AlertSent || row.Digest != "" {
			t.Errorf("%s: state %q digest %q; want sent on its own", user, row.State, row.Digest)
		}
	}
	assertOnePostEach(t, rx)
}

// TestTeamsFailedAttemptsDoNotUseUpTheHoursCards: a card Teams refused was
// seen by no one, so its slot in the hour's budget is given back and the
// retries still go out as cards of their own.
func TestTeamsFailedAttemptsDoNotUseUpTheHoursCards(t *testing.T) {
	clearOfTheHourTurn(t)
	rx := teamsReceiver(t, webhooktest.FailFirst(2, http.StatusServiceUnavailable, 0)) // Teams posts carry no webhook-id: the first 2 POSTs
	env := teamsEnv(rx, map[string]string{"ALERT_RETRY_SCHEDULE": "1s,1s,1s"})
	h := start(t, env)
	at := time.Now().UTC().Add(-time.Minute)
	users := []string{"refused0@contoso.example", "refused1@contoso.example"}
	if r := send(t, h, []string{body(
		signIn{user: users[0], home: ours, resource: theirs, risk: "high", at: at},
		signIn{user: users[1], home: ours, resource: theirs, risk: "high", at: at},
	)}); !r.OK() {
		t.Fatal(r.Status)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(rx.Bodies()) < len(users) && time.Now().Before(deadline) {
		runOutbox(t, h)
		time.Sleep(200 * time.Millisecond)
	}
	if r := runOutbox(t, h); !strings.Contains(strings.Join(r.Logs, " "), "due=0") {
		t.Errorf("alerts still due: %v", r.Logs)
	}

	cards, digests := teamsPosts(t, rx)
	if len(cards) != 2 || len(digests) != 0 {
		t.Errorf("%d cards and digests listing %v; want 2 cards and no digest: failed attempts used up the budget", len(cards), digests)
	}
	store := openStore(t, env)
	attempts := 0
	for _, user := range users {
		if !carded(cards, user) {
			t.Errorf("no card of its own for %s", user)
		}
		row := storedAlert(t, store, user, theirs, at)
		if row.State != baseline.AlertSent || row.Digest != "" {
			t.Errorf("%s: state %q digest %q; want sent on its own", user, row.State, row.Digest)
		}
		attempts += row.Attempts
	}
	if n := len(rx.Attempts()); attempts != 4 || n != 4 {
		t.Errorf("%d attempts stored, %d POSTs seen; want 4 (2 refused, 2 accepted)", attempts, n)
	}
}
