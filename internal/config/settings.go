// Package config is the single list of Tenantwatch's settings and the code
// that reads them from the environment.
//
// The list in Settings is the source of truth: the README table,
// local.settings.sample.json and the deployment templates are checked
// against it by tests, so a setting added here and forgotten elsewhere fails
// the build rather than a deployment.
package config

// Scope says who reads a setting.
type Scope string

const (
	// ScopeHandler settings are read by the handler binary.
	ScopeHandler Scope = "handler"
	// ScopeBinding settings are read by the Functions host to configure the
	// Event Hub trigger (function.json refers to them); the handler never
	// reads them.
	ScopeBinding Scope = "binding"
	// ScopeHost settings are set by the Functions host for the handler.
	ScopeHost Scope = "host"
)

// Setting describes one app setting.
type Setting struct {
	Name        string
	Default     string // what an unset or empty value means, as a user would write it
	Description string
	// Secret settings never appear in logs or errors and belong in Key Vault
	// (or a connection setting of the host) in Azure.
	Secret bool
	Scope  Scope
	// Local settings belong in local.settings.sample.json, with Sample as
	// their placeholder (an empty placeholder means the default).
	Local  bool
	Sample string
	// Group names the README table the setting is listed in.
	Group string
}

// Setting names the handler reads.
const (
	EnvPort                  = "FUNCTIONS_CUSTOMHANDLER_PORT"
	EnvSignInCategories      = "SIGNIN_CATEGORIES"
	EnvDirection             = "CROSS_TENANT_DIRECTION"
	EnvBaselineWindow        = "BASELINE_WINDOW"
	EnvNoveltyWindow         = "NOVELTY_WINDOW"
	EnvLearningPeriod        = "LEARNING_PERIOD"
	EnvAlertRiskLevels       = "ALERT_RISK_LEVELS"
	EnvAllowedTenants        = "ALLOWED_TENANTS"
	EnvBaselineStorage       = "BaselineStorage"
	EnvBaselineStorageURI    = "BaselineStorage__tableServiceUri"
	EnvBaselineStorageClient = "BaselineStorage__clientId"
	EnvWebJobsStorage        = "AzureWebJobsStorage"
	EnvWebJobsStorageURI     = "AzureWebJobsStorage__tableServiceUri"
	EnvWebJobsStorageAccount = "AzureWebJobsStorage__accountName"
	EnvWebJobsStorageClient  = "AzureWebJobsStorage__clientId"
	EnvBaselineTable         = "BASELINE_TABLE"
	EnvAlertsTable           = "ALERTS_TABLE"
	EnvCreateTables          = "CREATE_TABLES"
	EnvWebhookURL            = "ALERT_WEBHOOK_URL"
	EnvWebhookFormat         = "ALERT_WEBHOOK_FORMAT"
	EnvWebhookSecret         = "ALERT_WEBHOOK_SECRET"
	EnvRetrySchedule         = "ALERT_RETRY_SCHEDULE"
	EnvMaxPerHour            = "ALERT_MAX_PER_HOUR"
	EnvAlertLease            = "ALERT_LEASE"
	EnvLogLevel              = "LOG_LEVEL"
)

// Setting names only the Functions host reads (function.json binds them).
const (
	EnvEventHubName          = "SIGNIN_EVENTHUB_NAME"
	EnvEventHubConsumerGroup = "SIGNIN_EVENTHUB_CONSUMER_GROUP"
	EnvEventHubConnection    = "SignInEventHub"
	EnvEventHubNamespace     = "SignInEventHub__fullyQualifiedNamespace"
	EnvEventHubCredential    = "SignInEventHub__credential"
	EnvEventHubClientID      = "SignInEventHub__clientId"
)

// Default values, as parsed.
const (
	DefaultCategories    = "SignInLogs"
	DefaultDirection     = "both"
	DefaultBaseline      = "14d"
	DefaultNovelty       = "24h"
	DefaultBaselineTable = "CrossTenantBaseline"
	DefaultAlertsTable   = "CrossTenantAlerts"
	DefaultFormat        = "json"
	DefaultRetrySchedule = "5s,5m,30m,2h,5h,10h,14h,20h,24h"
	DefaultMaxPerHour    = "30"
	DefaultAlertLease    = "2m"
	DefaultEventHubName  = "insights-logs-signinlogs"
	DefaultConsumerGroup = "tenantwatch"
)

// Settings returns every setting Tenantwatch knows, in README order.
func Settings() []Setting {
	return []Setting{
		// Detection.
		{Name: EnvSignInCategories, Local: true, Default: DefaultCategories, Scope: ScopeHandler, Group: "Detection", Sample: DefaultCategories,
			Description: "Comma list of log categories read (case-insensitive). `SignInLogs` are interactive sign-ins, the Sentinel query's `SigninLogs`; add `NonInteractiveUserSignInLogs` to watch token refreshes too."},
		{Name: EnvDirection, Local: true, Default: DefaultDirection, Scope: ScopeHandler, Group: "Detection", Sample: DefaultDirection,
			Description: "Which sightings may alert: `both`, `outbound` (your users signing in to other tenants) or `inbound` (guests signing in to yours). Every eligible sighting still builds the baseline."},
		{Name: EnvBaselineWindow, Local: true, Default: DefaultBaseline, Scope: ScopeHandler, Group: "Detection", Sample: DefaultBaseline,
			Description: "How long a pair stays known after it was last seen; a sighting at least this long after the last one opens a new episode. Go duration or `Nd`."},
		{Name: EnvNoveltyWindow, Local: true, Default: DefaultNovelty, Scope: ScopeHandler, Group: "Detection", Sample: DefaultNovelty,
			Description: "How long after an episode starts a risky sighting still alerts (inclusive)."},
		{Name: EnvLearningPeriod, Local: true, Default: "same as " + EnvBaselineWindow, Scope: ScopeHandler, Group: "Detection", Sample: "",
			Description: "No alert for a sighting earlier than the first sighting the store has seen plus this period, so a fresh deployment learns before it alerts. `0` disables learning."},
		{Name: EnvAlertRiskLevels, Local: true, Default: "every level except `none`", Scope: ScopeHandler, Group: "Detection", Sample: "",
			Description: "Comma list of `riskLevelAggregated` values that alert: `low`, `medium`, `high`, `hidden`, `unknownFutureValue`, `missing` (absent or empty). Tenants without Entra ID P2 see only `hidden`."},
		{Name: EnvAllowedTenants, Local: true, Default: "no tenant", Scope: ScopeHandler, Group: "Detection", Sample: "",
			Description: "Comma list of tenant ids that never alert (as home or resource tenant); their pairs still build the baseline."},

		// Storage.
		{Name: EnvBaselineStorage, Local: true, Default: "falls back to " + EnvWebJobsStorage, Scope: ScopeHandler, Group: "Storage", Secret: true, Sample: "UseDevelopmentStorage=true",
			Description: "Connection string of the storage account holding the baseline tables. `UseDevelopmentStorage=true` means Azurite on 127.0.0.1:10002."},
		{Name: EnvBaselineStorageURI, Default: "", Scope: ScopeHandler, Group: "Storage",
			Description: "Identity-based alternative: the table endpoint, `https://<account>.table.core.windows.net`. Needs *Storage Table Data Contributor*."},
		{Name: EnvBaselineStorageClient, Default: "", Scope: ScopeHandler, Group: "Storage",
			Description: "Client id of the user-assigned managed identity used with `" + EnvBaselineStorageURI + "`; without it the azidentity default credential chain is used."},
		{Name: EnvWebJobsStorage, Local: true, Default: "", Scope: ScopeHandler, Group: "Storage", Secret: true, Sample: "UseDevelopmentStorage=true",
			Description: "The Functions host's storage. Used for the baseline only when no `BaselineStorage` form is set (also its `__tableServiceUri`, `__accountName` and `__clientId` forms)."},
		{Name: EnvWebJobsStorageURI, Default: "", Scope: ScopeHandler, Group: "Storage",
			Description: "Identity form of the host storage's table endpoint (used when no `BaselineStorage` form is set)."},
		{Name: EnvWebJobsStorageAccount, Default: "", Scope: ScopeHandler, Group: "Storage",
			Description: "Identity form of the host storage: the account name, meaning `https://<name>.table.core.windows.net`."},
		{Name: EnvWebJobsStorageClient, Default: "", Scope: ScopeHandler, Group: "Storage",
			Description: "Client id of the user-assigned identity for the host-storage identity forms."},
		{Name: EnvBaselineTable, Local: true, Default: DefaultBaselineTable, Scope: ScopeHandler, Group: "Storage", Sample: DefaultBaselineTable,
			Description: "Table holding one row per (user, resource tenant) pair and the learning start."},
		{Name: EnvAlertsTable, Local: true, Default: DefaultAlertsTable, Scope: ScopeHandler, Group: "Storage", Sample: DefaultAlertsTable,
			Description: "Table holding one row per alert (the outbox)."},
		{Name: EnvCreateTables, Local: true, Default: "true", Scope: ScopeHandler, Group: "Storage", Sample: "true",
			Description: "Create the tables when missing. Set `false` when the identity may not create tables."},

		// Alerts.
		{Name: EnvWebhookURL, Local: true, Default: "none: alerts are logged", Scope: ScopeHandler, Group: "Alerts", Secret: true, Sample: "",
			Description: "Where alerts are posted: a Teams Workflows webhook URL or any HTTPS endpoint (http only on loopback). A secret: the Workflows URL embeds its signature."},
		{Name: EnvWebhookFormat, Local: true, Default: DefaultFormat, Scope: ScopeHandler, Group: "Alerts", Sample: DefaultFormat,
			Description: "`json` posts a Standard Webhooks message; `teams` posts one Adaptive Card to a Teams Workflows webhook."},
		{Name: EnvWebhookSecret, Local: true, Default: "none: unsigned", Scope: ScopeHandler, Group: "Alerts", Secret: true, Sample: "",
			Description: "Standard Webhooks signing secret(s), `whsec_<base64>`; several separated by spaces while rotating (one signature each)."},
		{Name: EnvRetrySchedule, Local: true, Default: DefaultRetrySchedule, Scope: ScopeHandler, Group: "Alerts", Sample: DefaultRetrySchedule,
			Description: "Delays between delivery attempts after the first, each counted from the previous attempt (±20 % jitter). After the last the alert is marked failed."},
		{Name: EnvMaxPerHour, Local: true, Default: DefaultMaxPerHour, Scope: ScopeHandler, Group: "Alerts", Sample: DefaultMaxPerHour,
			Description: "Teams only: cards per wall-clock hour before the rest of the hour's alerts are sent as digests. `0` = no limit."},
		{Name: EnvAlertLease, Local: true, Default: DefaultAlertLease, Scope: ScopeHandler, Group: "Alerts", Sample: DefaultAlertLease,
			Description: "How long one instance holds an alert while delivering it, so two never send it at once."},

		// Runtime.
		{Name: EnvLogLevel, Local: true, Default: "info", Scope: ScopeHandler, Group: "Runtime", Sample: "info",
			Description: "`debug`, `info`, `warn` or `error`. Logs are JSON lines on stdout."},
		{Name: EnvPort, Default: "set by the Functions host", Scope: ScopeHost, Group: "Runtime",
			Description: "Port the handler listens on, on 127.0.0.1 only."},

		// Event Hub trigger (read by the Functions host through function.json).
		{Name: EnvEventHubName, Local: true, Default: DefaultEventHubName, Scope: ScopeBinding, Group: "Event Hub trigger", Sample: DefaultEventHubName,
			Description: "Event Hub the Entra diagnostic setting streams sign-in logs to (`insights-logs-signinlogs` when the setting names no hub)."},
		{Name: EnvEventHubConsumerGroup, Local: true, Default: DefaultConsumerGroup, Scope: ScopeBinding, Group: "Event Hub trigger", Sample: DefaultConsumerGroup,
			Description: "Consumer group dedicated to Tenantwatch."},
		{Name: EnvEventHubConnection, Local: true, Default: "", Scope: ScopeBinding, Group: "Event Hub trigger", Secret: true,
			Sample:      "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;",
			Description: "Event Hubs connection string (listen rights). In Azure prefer the identity form below."},
		{Name: EnvEventHubNamespace, Default: "", Scope: ScopeBinding, Group: "Event Hub trigger",
			Description: "Identity form: `<namespace>.servicebus.windows.net`. Needs *Azure Event Hubs Data Receiver*."},
		{Name: EnvEventHubCredential, Default: "", Scope: ScopeBinding, Group: "Event Hub trigger",
			Description: "`managedidentity` with a user-assigned identity."},
		{Name: EnvEventHubClientID, Default: "", Scope: ScopeBinding, Group: "Event Hub trigger",
			Description: "Client id of the user-assigned identity for the Event Hub trigger."},
	}
}
