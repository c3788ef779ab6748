// Command handler is Tenantwatch's Azure Functions custom handler: it
// receives Entra ID sign-in logs from the Functions host (Event Hub
// trigger), keeps each user's baseline of other tenants in Azure Table
// Storage, and alerts on risky first-seen cross-tenant sign-ins.
//
// Usage:
//
//	handler [serve]     run under the Functions host (the default)
//	handler test-alert  post a clearly marked sample alert to the configured webhook
//	handler demo        run the bundled samples end to end on Azurite (make run)
//	handler publish-samples  send the samples to an Event Hub (the emulator, say)
//	handler version     print the version and commit
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tenantwatch/tenantwatch/internal/alert"
	"github.com/tenantwatch/tenantwatch/internal/baseline"
	"github.com/tenantwatch/tenantwatch/internal/config"
	"github.com/tenantwatch/tenantwatch/internal/demo"
	"github.com/tenantwatch/tenantwatch/internal/funcs"
	"github.com/tenantwatch/tenantwatch/internal/ingest"
	"github.com/tenantwatch/tenantwatch/internal/outbox"
	"github.com/tenantwatch/tenantwatch/internal/publish"
)

// Stamped at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one stops the process at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 1 {
		cmd = args[1]
	}
	switch cmd {
	case "serve":
		return serve(ctx, getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "tenantwatch %s (commit %s)\n", version, commit)
		return 0
	case "test-alert":
		return testAlert(ctx, getenv, stdout, stderr)
	case "publish-samples":
		return publishSamples(ctx, args[2:], getenv, stdout, stderr)
	case "demo":
		if err := demo.Run(ctx, demo.Options{Args: args[2:], Stdout: stdout, Stderr: stderr}); err != nil {
			fmt.Fprintln(stderr, "demo:", err)
			return 1
		}
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n%s", cmd, usage)
	return 2
}

const usage = `usage: handler [command]
  serve        run as the Functions custom handler (default); listens on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT
  test-alert   post a clearly marked TEST alert to ALERT_WEBHOOK_URL and report the outcome
  demo         replay the bundled samples through a real handler on Azurite and print the alerts
  publish-samples [-samples DIR]
               send the bundled samples to the Event Hub in SignInEventHub / SIGNIN_EVENTHUB_NAME
               (for running the real Functions host against the Event Hubs emulator)
  version      print the version and commit
`

// newLogger writes JSON lines to stdout: the Functions host forwards stdout
// to its logs, and Application Insights keeps the fields.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(getenv)
	logger := newLogger(stdout, cfg.LogLevel)
	if cfg.Port == "" {
		err = errors.Join(err, fmt.Errorf("%s is not set: the Functions host sets it (use `make run` to try the handler locally)", config.EnvPort))
	}
	if err != nil {
		logger.Error("invalid configuration", "err", err)
		fmt.Fprintln(stderr, "invalid configuration:\n"+indent(err.Error()))
		return 2
	}

	// Listen before anything else: the host wants the port within 30 s and
	// Azure is only contacted when the first invocation needs it.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", cfg.Port))
	if err != nil {
		logger.Error("listen failed", "err", err)
		return 1
	}
	app, err := newApp(cfg, logger, getenv, stderr)
	if err != nil {
		logger.Error("start-up failed", "err", err)
		ln.Close()
		return 1
	}
	srv := &http.Server{
		Handler:           funcs.Handler(logger, app.functions()),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("tenantwatch handler listening", "addr", ln.Addr().String(), "version", version, "commit", commit,
		"categories", keys(cfg.Policy.Categories), "direction", cfg.Policy.Direction, "riskLevels", cfg.Policy.Risk.String(),
		"baselineWindow", cfg.Policy.BaselineWindow.String(), "noveltyWindow", cfg.Policy.NoveltyWindow.String(),
		"learningPeriod", cfg.Policy.LearningPeriod.String(), "webhook", cfg.HasWebhook, "format", cfg.Webhook.Format)

	select {
	case err := <-errc:
		logger.Error("server stopped", "err", err)
		return 1
	case <-ctx.Done():
	}
	// SIGTERM: finish the invocation in flight, then exit.
	logger.Info("shutting down: finishing invocations in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Error("shutdown incomplete", "err", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}

// teamsMinInterval keeps one instance under the Workflows webhook's
// throttle of about four requests a second.
const teamsMinInterval = 300 * time.Millisecond

// app wires the handler's parts together.
type app struct {
	logger    *slog.Logger
	processor *ingest.Processor
	outbox    *outbox.Outbox
}

func newApp(cfg config.Config, logger *slog.Logger, getenv func(string) string, stderr io.Writer) (*app, error) {
	store, err := baseline.Open(cfg.Storage, logger)
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	fail := failpoints(getenv("TENANTWATCH_FAILPOINTS"), stderr)
	ob := &outbox.Outbox{
		Store:          store,
		Notifier:       alert.NewLogNotifier(logger),
		Schedule:       cfg.RetrySchedule,
		Lease:          cfg.Lease,
		AttemptTimeout: cfg.Webhook.Timeout,
		Logger:         logger,
		Failpoint:      fail,
	}
	if cfg.HasWebhook {
		n, err := alert.NewNotifier(cfg.Webhook, nil, logger)
		if err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
		ob.Notifier = n
		if cfg.Webhook.Format == alert.FormatTeams {
			// A channel is for people: pace the cards and digest a flood.
			ob.MaxPerHour, ob.Digest, ob.MinInterval = cfg.MaxPerHour, n, teamsMinInterval
		}
	}
	return &app{
		logger: logger,
		outbox: ob,
		processor: &ingest.Processor{
			Policy:    cfg.Policy,
			Store:     store,
			Outbox:    ob,
			Logger:    logger,
			Failpoint: fail,
		},
	}, nil
}

func (a *app) functions() map[string]funcs.Func {
	return map[string]funcs.Func{
		"CrossTenantSignIns": a.crossTenantSignIns,
		"AlertOutbox":        a.alertOutbox,
	}
}

func (a *app) crossTenantSignIns(ctx context.Context, inv funcs.Invocation) funcs.Result {
	log := a.logger.With("function", inv.Function, "invocationId", inv.ID)
	var pc funcs.PartitionContext
	var rc funcs.RetryContext
	inv.MetadataValue("PartitionContext", &pc)
	inv.MetadataValue("RetryContext", &rc)
	// Batches run to tens of MiB: once split into bodies, the encoded copy
	// is let go before the long part of the work.
	raw := inv.Data["events"]
	delete(inv.Data, "events")
	bodies, err := funcs.EventBodies(raw)
	if err != nil {
		// Input the host will send again unchanged: log and complete.
		log.Error("batch skipped: events binding undecodable", "partition", pc.PartitionID, "err", err)
		return funcs.Result{Logs: []string{"batch skipped: events binding undecodable"}}
	}
	start := time.Now()
	st, err := a.processor.Process(ctx, bodies)
	attrs := []any{"partition", pc.PartitionID, "retry", rc.RetryCount, "stats", st, "elapsed", time.Since(start).String()}
	if err != nil {
		log.Error("batch failed for want of storage; the host will re-send it", append(attrs, "err", err)...)
		return funcs.Result{Err: err}
	}
	log.Info("batch processed", attrs...)
	return funcs.Result{Logs: []string{fmt.Sprintf("events=%d records=%d sightings=%d alerts=%d malformed=%d badEvents=%d badRecords=%d",
		st.Events, st.Records, st.Sightings, st.Claimed, st.Malformed, st.BadEvents, st.BadRecords)}}
}

func (a *app) alertOutbox(ctx context.Context, inv funcs.Invocation) funcs.Result {
	st, err := a.outbox.RunDue(ctx)
	if err != nil {
		a.logger.Error("outbox run failed", "invocationId", inv.ID, "err", err)
		return funcs.Result{Err: err}
	}
	if st.Due > 0 {
		a.logger.Info("outbox run", "invocationId", inv.ID, "due", st.Due, "attempted", st.Attempted, "busy", st.Busy,
			"errors", st.Errors, "held", st.Held, "digested", st.Digested)
	}
	return funcs.Result{Logs: []string{fmt.Sprintf("due=%d attempted=%d busy=%d errors=%d held=%d digested=%d",
		st.Due, st.Attempted, st.Busy, st.Errors, st.Held, st.Digested)}}
}

// failpoints returns the test-only hook that stops the process at a named
// step, for fault tests that must hit a dangerous moment exactly. spec is a
// comma list of step names (TENANTWATCH_FAILPOINTS); empty disables it.
func failpoints(spec string, stderr io.Writer) func(string) {
	armed := map[string]bool{}
	for name := range strings.SplitSeq(spec, ",") {
		if name = strings.TrimSpace(name); name != "" {
			armed[name] = true
		}
	}
	if len(armed) == 0 {
		return nil
	}
	return func(name string) {
		if armed[name] {
			fmt.Fprintf(stderr, "failpoint %s fired\n", name)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // SIGKILL is not instantaneous; never run the next step
		}
	}
}

func testAlert(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	webhook, hasURL, err := config.LoadWebhook(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "invalid configuration:\n"+indent(err.Error()))
		return 2
	}
	logger := newLogger(stderr, slog.LevelInfo)
	env := testEnvelope(time.Now())
	var res alert.Result
	if hasURL {
		n, err := alert.NewNotifier(webhook, nil, logger)
		if err != nil {
			fmt.Fprintln(stderr, "webhook:", err)
			return 2
		}
		res = n.Send(ctx, env, time.Now())
	} else {
		fmt.Fprintf(stdout, "%s is not set: the test alert is logged instead\n", config.EnvWebhookURL)
		res = alert.NewLogNotifier(newLogger(stdout, slog.LevelInfo)).Send(ctx, env, time.Now())
	}
	if !res.Delivered {
		fmt.Fprintf(stderr, "test alert %s NOT delivered (status %d): %v\n", env.Data.AlertID, res.Status, res.Err)
		return 1
	}
	fmt.Fprintf(stdout, "test alert %s delivered (status %d, format %s)\n", env.Data.AlertID, res.Status, webhook.Format)
	return 0
}

// testEnvelope is a clearly marked sample alert. Its id is new on every
// call, so a receiver that de-duplicates shows each test.
func testEnvelope(now time.Time) alert.Envelope {
	const (
		user   = "test.user@tenantwatch.invalid"
		home   = "00000000-0000-0000-0000-000000000001"
		remote = "00000000-0000-0000-0000-000000000002"
	)
	now = now.UTC().Truncate(100 * time.Nanosecond)
	id := alert.ID(user, remote, now)
	return alert.Envelope{Type: alert.EventType, Timestamp: now, Data: alert.Data{
		AlertID: id, Test: true,
		UserPrincipalName: user, UserDisplayName: "Tenantwatch test alert", UserType: "Member",
		HomeTenantID: home, ResourceTenantID: remote, OtherTenantID: remote, Direction: "outbound",
		SignInID: "00000000-0000-0000-0000-000000000000", CreatedDateTime: now.Format(time.RFC3339Nano),
		Category: "SignInLogs", AppDisplayName: "Tenantwatch test", IPAddress: "192.0.2.1",
		RiskLevelAggregated: "medium", RiskLevelDuringSignIn: "medium", RiskState: "atRisk",
		RiskEventTypes: []string{"unfamiliarFeatures"}, CrossTenantAccessType: "b2bCollaboration",
		EpisodeID: now, EpisodeStart: now,
	}}
}

func publishSamples(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	dir := "samples"
	if len(args) == 2 && args[0] == "-samples" {
		dir = args[1]
	} else if len(args) != 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	target, err := publish.TargetFromEnv(getenv, config.DefaultEventHubName)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	batches, err := demo.LoadBatches(dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	producer, err := target.Producer()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer producer.Close(context.WithoutCancel(ctx))
	for _, b := range batches {
		bodies := make([][]byte, len(b.Events))
		for i, e := range b.Events {
			bodies[i] = []byte(e)
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := publish.Send(ctx, producer, bodies)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", b.Name, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %d events sent to %s in %d batch(es)\n", b.Name, len(bodies), target.Hub, n)
	}
	return 0
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
