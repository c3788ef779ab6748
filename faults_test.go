package main

// Fault tests: the webhook failing and throttling, processes killed at the
// dangerous moments (failpoints), and the receiver's view of it all. In
// every test no alert is missing, a receiver that de-duplicates on
// webhook-id sees each alert once, and a second successful POST of one id
// happens only where a process died between a POST and recording it.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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
	env["ALERT_RETRY_SCHEDULE"] = "1s,1s,1s,1s,1s"
	h := start(t, merge(env, tables()))
	if r := send(t, h, []string{risky("flaky@contoso.example")}); !r.OK() {
		t.Fatalf("the webhook's failure held the batch: %d", r.Status)
	}
	drainOutbox(t, h, rx, 1, 30*time.Second)
	id := rx.DeliveredIDs()[0]
	atts := attemptsFor(rx, id)
	if len(atts) != failures+1 {
		t.Errorf("%d attempts; want %d", len(atts), failures+1)
	}
	for i := 1; i < len(atts); i++ {
		gap := atts[i].At.Sub(atts[i-1].At)
		if gap < 800*time.Millisecond { // 1 s −20 % jitter
			t.Errorf("attempt %d came %v after the previous; the schedule says 1s ±20%%", i+1, gap)
		}
		if !atts[i].Verified || atts[i].Timestamp == atts[i-1].Timestamp {
			t.Errorf("attempt %d: verified=%v timestamp %s (previous %s); each attempt is signed afresh", i+1, atts[i].Verified, atts[i].Timestamp, atts[i-1].Timestamp)
		}
	}
	t.Logf("attempts=%d for %s", len(atts), id)
	assertOnePostEach(t, rx)
}

func TestWebhookRetryAfterIsHonoured(t *testing.T) {
	rx, env := webhookEnv(t, webhooktest.FailFirst(1, http.StatusTooManyRequests, 3*time.Second))
	env["ALERT_RETRY_SCHEDULE"] = "1s,1s"
	h := start(t, merge(env, tables()))
	send(t, h, []string{risky("throttled@contoso.example")})
	drainOutbox(t, h, rx, 1, 30*time.Second)
	atts := attemptsFor(rx, rx.DeliveredIDs()[0])
	if len(atts) != 2 {
		t.Fatalf("%d attempts; want 2", len(atts))
	}
	if gap := atts[1].At.Sub(atts[0].At); gap < 3*time.Second {
		t.Errorf("second attempt %v after a 429 with Retry-After: 3; want ≥ 3s", gap)
	}
	assertOnePostEach(t, rx)
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
			env["ALERT_RETRY_SCHEDULE"] = "500ms,500ms"
			h := start(t, merge(env, tables()))
			send(t, h, []string{risky("doomed@contoso.example")})
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(h.Logs(), "failed for good") && time.Now().Before(deadline) {
				runOutbox(t, h)
				time.Sleep(200 * time.Millisecond)
			}
			if !strings.Contains(h.Logs(), "failed for good") {
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

// TestTeamsFloodGuardDigestsTheRestOfTheHour plays a Teams Workflows
// webhook (it answers 202 with no body; Teams itself cannot run here).
func TestTeamsFloodGuardDigestsTheRestOfTheHour(t *testing.T) {
	rx, err := webhooktest.Start(webhooktest.Options{Respond: func(string, int) (int, string) { return http.StatusAccepted, "" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rx.Close)
	env := merge(tables(), map[string]string{
		"BaselineStorage":      emu.ConnectionString(),
		"LEARNING_PERIOD":      "0",
		"ALERT_WEBHOOK_URL":    rx.URL,
		"ALERT_WEBHOOK_FORMAT": "teams",
		"ALERT_MAX_PER_HOUR":   "2",
	})
	a, b := start(t, env), start(t, env) // the count is shared through storage
	var events []string
	for i := range 6 {
		events = append(events, risky(fmt.Sprintf("flood%d@contoso.example", i)))
	}
	if r := send(t, a, events[:3]); !r.OK() {
		t.Fatal(r.Status)
	}
	if r := send(t, b, events[3:]); !r.OK() {
		t.Fatal(r.Status)
	}
	runOutbox(t, a)
	runOutbox(t, b)

	var cards, digests, listed int
	for _, body := range rx.Bodies() {
		var msg struct {
			Summary string `json:"summary"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(msg.Summary, "(digest)") {
			digests++
			fmt.Sscan(msg.Summary, &listed)
		} else {
			cards++
		}
	}
	if cards != 2 || digests != 1 || listed != 4 {
		t.Errorf("%d cards and %d digests listing %d; want 2 cards and 1 digest listing 4", cards, digests, listed)
	}
	if r := runOutbox(t, a); !strings.Contains(strings.Join(r.Logs, " "), "due=0") {
		t.Errorf("alerts still due after the digest: %v", r.Logs)
	}
}
