package baseline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Defaults for Config.
const (
	DefaultBaselineTable = "CrossTenantBaseline"
	DefaultAlertsTable   = "CrossTenantAlerts"
	DefaultOpTimeout     = 15 * time.Second
)

// Config configures a Store.
type Config struct {
	Connection Connection
	// BaselineTable holds pairs and the learning start; default
	// CrossTenantBaseline.
	BaselineTable string
	// AlertsTable is the alert outbox; default CrossTenantAlerts.
	AlertsTable string
	// CreateTables creates missing tables on first use. When false the
	// store never tries to, and a missing table is a Transient error an
	// operator has to fix.
	CreateTables bool
	// OpTimeout bounds each Store method call, retries included; default
	// 15s.
	OpTimeout time.Duration
	// Retry tunes azcore's retries (zero value: azcore's defaults, 3
	// retries from 800ms).
	Retry policy.RetryOptions
	// Transport replaces the HTTP transport; for tests.
	Transport policy.Transporter
}

var tableNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,62}$`)

func (c Config) withDefaults() Config {
	if c.BaselineTable == "" {
		c.BaselineTable = DefaultBaselineTable
	}
	if c.AlertsTable == "" {
		c.AlertsTable = DefaultAlertsTable
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	return c
}

// Validate reports every problem with the configuration, defaults applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if err := c.Connection.validate(); err != nil {
		errs = append(errs, err)
	}
	for _, t := range []struct{ setting, name string }{
		{"baseline table", c.BaselineTable},
		{"alerts table", c.AlertsTable},
	} {
		if !tableNameRE.MatchString(t.name) || strings.EqualFold(t.name, "tables") {
			errs = append(errs, fmt.Errorf("%s name %q: want 3-63 letters and digits starting with a letter, not \"tables\"", t.setting, t.name))
		}
	}
	if strings.EqualFold(c.BaselineTable, c.AlertsTable) {
		errs = append(errs, fmt.Errorf("baseline and alerts tables must differ (table names ignore case): both are %q", c.BaselineTable))
	}
	if c.OpTimeout < 0 {
		errs = append(errs, fmt.Errorf("operation timeout %v is negative", c.OpTimeout))
	}
	return errors.Join(errs...)
}

// Store reads and writes Tenantwatch's tables. It is safe for concurrent
// use.
type Store struct {
	log          *slog.Logger
	svc          *aztables.ServiceClient
	baseline     *aztables.Client
	alerts       *aztables.Client
	tableNames   []string
	createTables bool
	opTimeout    time.Duration

	// ensureMu is a one-slot semaphore serialising table creation; unlike
	// a mutex, waiting for it respects the caller's context.
	ensureMu chan struct{}
	ensured  atomic.Bool
}

// Open builds the clients. It makes no network call: the Functions host
// wants the handler listening within seconds, so Azure is contacted on
// first use.
func Open(cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     cfg.Retry,
		Transport: cfg.Transport,
	}}

	var svc *aztables.ServiceClient
	conn := cfg.Connection
	if conn.ConnectionString != "" {
		ep, err := parseConnectionString(conn.ConnectionString)
		if err != nil { // already validated; kept for safety
			return nil, fmt.Errorf("baseline: %s: %w", conn.Source, err)
		}
		if ep.cred != nil {
			svc, err = aztables.NewServiceClientWithSharedKey(ep.serviceURL, ep.cred, opts)
		} else {
			svc, err = aztables.NewServiceClientWithNoCredential(ep.serviceURL, opts)
		}
		if err != nil {
			return nil, fmt.Errorf("baseline: table client: %s", redactSecrets(err.Error()))
		}
	} else {
		var cred azcore.TokenCredential
		var err error
		if conn.ClientID != "" {
			cred, err = azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
				ClientOptions: azcore.ClientOptions{Transport: cfg.Transport},
				ID:            azidentity.ClientID(conn.ClientID),
			})
		} else {
			cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
				ClientOptions: azcore.ClientOptions{Transport: cfg.Transport},
			})
		}
		if err != nil {
			return nil, fmt.Errorf("baseline: credential: %w", err)
		}
		svc, err = aztables.NewServiceClient(strings.TrimRight(conn.TableServiceURL, "/"), cred, opts)
		if err != nil {
			return nil, fmt.Errorf("baseline: table client: %w", err)
		}
	}
	return &Store{
		log:          logger,
		svc:          svc,
		baseline:     svc.NewClient(cfg.BaselineTable),
		alerts:       svc.NewClient(cfg.AlertsTable),
		tableNames:   []string{cfg.BaselineTable, cfg.AlertsTable},
		createTables: cfg.CreateTables,
		opTimeout:    cfg.OpTimeout,
		ensureMu:     make(chan struct{}, 1),
	}, nil
}

// EnsureTables creates the tables when Config.CreateTables is set; an
// existing table is fine. Success is remembered; after a failure the next
// call tries again. Every other method calls it first.
func (s *Store) EnsureTables(ctx context.Context) error {
	if !s.createTables || s.ensured.Load() {
		return nil
	}
	select {
	case s.ensureMu <- struct{}{}:
	case <-ctx.Done():
		return wrap("create tables", ctx.Err(), false)
	}
	defer func() { <-s.ensureMu }()
	if s.ensured.Load() {
		return nil
	}
	for _, name := range s.tableNames {
		_, err := s.svc.CreateTable(ctx, name, nil)
		switch {
		case err == nil:
			s.log.InfoContext(ctx, "created table", slog.String("table", name))
		case hasCode(err, aztables.TableAlreadyExists):
		default:
			return wrap("create table "+name, err, false)
		}
	}
	s.ensured.Store(true)
	return nil
}

// begin applies the operation timeout and makes sure the tables exist.
func (s *Store) begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	if err := s.EnsureTables(ctx); err != nil {
		cancel()
		return nil, nil, err
	}
	return ctx, cancel, nil
}

// fail wraps an error from a table call. A missing table makes the next
// call create it again (someone may have deleted it).
func (s *Store) fail(op string, err error, conflict bool) error {
	if hasCode(err, aztables.TableNotFound) {
		s.ensured.Store(false)
	}
	return wrap(op, err, conflict)
}
