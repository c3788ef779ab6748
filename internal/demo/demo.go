// Package demo runs Tenantwatch end to end on one machine, the way `make
// run` shows it: the real Azurite table emulator, a real handler process
// serving the custom-handler protocol, the bundled sample sign-ins replayed
// exactly as the Functions host sends Event Hub batches, and a local
// Standard Webhooks receiver that verifies every alert's signature.
//
// Only the Functions host and Event Hubs are played here (they cannot run on
// a developer machine without Docker); the requests follow the host's
// documented wire format.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/azurite"
	"github.com/tenantwatch/tenantwatch/internal/hostsim"
	"github.com/tenantwatch/tenantwatch/internal/webhooktest"
)

// Options configure a run.
type Options struct {
	Args   []string // command-line flags: -samples DIR, -handler PATH, -v
	Stdout io.Writer
	Stderr io.Writer
	// Handler is the handler binary; empty means this executable.
	Handler string
	// Samples is the directory of batch files; empty means ./samples.
	Samples string
	// Verbose copies the handler's log lines to Stderr.
	Verbose bool
	// Env adds settings for the handler (tests use it).
	Env map[string]string
}

// Report is what a run observed.
type Report struct {
	Batches int
	// Totals adds up the handler's per-batch counts.
	Totals map[string]int
	// Alerts are the distinct alerts the webhook received, in arrival order.
	Alerts []alert.Envelope
	// Posts counts successful POSTs per webhook-id.
	Posts map[string]int
}

// Run replays the samples and prints the alerts and a summary.
func Run(ctx context.Context, opts Options) error {
	_, err := Replay(ctx, opts)
	return err
}

// Replay does the work of Run and returns what it observed.
func Replay(ctx context.Context, opts Options) (Report, error) {
	if err := parseArgs(&opts); err != nil {
		return Report{}, err
	}
	out := opts.Stdout
	batches, err := LoadBatches(opts.Samples)
	if err != nil {
		return Report{}, err
	}
	bin := opts.Handler
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return Report{}, err
		}
	}

	fmt.Fprintln(out, "Starting Azurite (Table Storage emulator, in memory)…")
	emu, err := azurite.Start(ctx, azurite.Options{})
	if err != nil {
		return Report{}, err
	}
	defer emu.Stop()

	secret := webhooktest.NewSecret()
	rx, err := webhooktest.Start(webhooktest.Options{Secrets: []string{secret}})
	if err != nil {
		return Report{}, err
	}
	defer rx.Close()

	env := map[string]string{
		"BaselineStorage":      emu.ConnectionString(),
		"ALERT_WEBHOOK_URL":    rx.URL,
		"ALERT_WEBHOOK_FORMAT": "json",
		"ALERT_WEBHOOK_SECRET": secret,
		"LEARNING_PERIOD":      "0",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	if env["LEARNING_PERIOD"] == "0" {
		fmt.Fprintln(out, "Learning is OFF for this demo (LEARNING_PERIOD=0): the samples are the store's first sign-ins,")
		fmt.Fprintln(out, "and a real deployment stays quiet for its first BASELINE_WINDOW (14 days) while it learns.")
	}
	var sink io.Writer
	if opts.Verbose {
		sink = opts.Stderr
	}
	fmt.Fprintln(out, "Starting the handler and replaying the samples as the Functions host would…")
	h, err := hostsim.Start(ctx, bin, env, sink)
	if err != nil {
		return Report{}, err
	}
	defer h.Stop()

	rep := Report{Totals: map[string]int{}}
	client := &http.Client{Timeout: 2 * time.Minute}
	for i, b := range batches {
		reply, err := hostsim.Invoke(ctx, client, h.BaseURL, "CrossTenantSignIns", hostsim.EventHubRequest(b.Events, int64(i)*100, "0"))
		if err != nil {
			return rep, fmt.Errorf("batch %s: %w", b.Name, err)
		}
		if !reply.OK() {
			return rep, fmt.Errorf("batch %s: handler answered %d: %s\n%s", b.Name, reply.Status, strings.Join(reply.Logs, "; "), tail(h.Logs(), 3000))
		}
		rep.Batches++
		hostsim.Counts(rep.Totals, reply.Logs)
		fmt.Fprintf(out, "  %-36s %s\n", b.Name, strings.Join(reply.Logs, " "))
	}
	if reply, err := hostsim.Invoke(ctx, client, h.BaseURL, "AlertOutbox", hostsim.TimerRequest("AlertOutbox")); err != nil || !reply.OK() {
		return rep, fmt.Errorf("outbox run: status %d: %v", reply.Status, err)
	}

	for _, body := range rx.Delivered() {
		env, err := webhooktest.Decode[alert.Envelope](body)
		if err != nil {
			return rep, fmt.Errorf("webhook body: %w", err)
		}
		rep.Alerts = append(rep.Alerts, env)
	}
	rep.Posts = rx.SuccessfulPosts()
	fmt.Fprintf(out, "\n%d alert(s) received by the local webhook (Standard Webhooks signatures verified):\n", len(rep.Alerts))
	for _, a := range rep.Alerts {
		printAlert(out, a)
	}
	skipped := rep.Totals["records"] - rep.Totals["sightings"] - rep.Totals["malformed"] - rep.Totals["badRecords"]
	fmt.Fprintf(out, "\nSummary: %d batches, %d events (%d not JSON), %d records: %d cross-tenant sightings, %d alerts, %d malformed, %d not cross-tenant sightings.\n",
		rep.Batches, rep.Totals["events"], rep.Totals["badEvents"], rep.Totals["records"], rep.Totals["sightings"], len(rep.Alerts),
		rep.Totals["malformed"], skipped)
	if n := rx.Unverified(); n > 0 {
		return rep, fmt.Errorf("%d webhook request(s) failed signature verification", n)
	}
	return rep, nil
}

func parseArgs(o *Options) error {
	args := o.Args
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-v", "--verbose":
			o.Verbose = true
		case "-samples", "--samples", "-handler", "--handler":
			if i+1 >= len(args) {
				return fmt.Errorf("%s needs a value", a)
			}
			i++
			if strings.HasSuffix(a, "samples") {
				o.Samples = args[i]
			} else {
				o.Handler = args[i]
			}
		default:
			return fmt.Errorf("unknown flag %q (want -samples DIR, -handler PATH, -v)", a)
		}
	}
	if o.Samples == "" {
		o.Samples = "samples"
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	return nil
}

// Batch is one sample Event Hub batch.
type Batch struct {
	Name   string
	Events []string
}

// LoadBatches reads dir/*.json in name order. Each file is one Event Hub
// batch: a JSON array whose elements are event bodies, either JSON objects
// ({"records":[...]}) or strings sent as they are (to show how the handler
// treats bodies that are not JSON).
func LoadBatches(dir string) ([]Batch, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no sample batches (*.json) in %s", dir)
	}
	sort.Strings(files)
	var out []Batch
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%s: want a JSON array of event bodies: %w", f, err)
		}
		b := Batch{Name: filepath.Base(f)}
		for _, it := range items {
			var s string
			if json.Unmarshal(it, &s) == nil {
				b.Events = append(b.Events, s)
				continue
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, it); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			b.Events = append(b.Events, compact.String())
		}
		out = append(out, b)
	}
	return out, nil
}

func printAlert(w io.Writer, env alert.Envelope) {
	d := env.Data
	arrow := "→"
	if d.Direction == "inbound" {
		arrow = "←"
	}
	fmt.Fprintf(w, "  • %s  %s %s tenant %s  (%s)\n", d.AlertID, d.UserPrincipalName, arrow, d.OtherTenantID, d.Direction)
	events := "none"
	if len(d.RiskEventTypes) > 0 {
		events = strings.Join(d.RiskEventTypes, ", ")
	}
	fmt.Fprintf(w, "      risk %s (during sign-in %s, state %s); risk events: %s\n", orDash(d.RiskLevelAggregated), orDash(d.RiskLevelDuringSignIn), orDash(d.RiskState), events)
	fmt.Fprintf(w, "      %s from %s (%s) at %s; episode since %s\n", orDash(d.AppDisplayName), orDash(d.IPAddress),
		orDash(d.Location.CountryOrRegion), d.CreatedDateTime, d.EpisodeStart.Format(time.RFC3339))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
