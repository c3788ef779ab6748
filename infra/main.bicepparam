// Parameters of infra/main.bicep. Edit, then deploy:
//
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
//
// Re-running the deployment resets the app settings to what main.bicep and
// this file say: change settings here, not in the portal.
using 'main.bicep'

// Object id of whoever will run `az keyvault secret set` (read from the
// environment so this file holds no personal id):
//   export TENANTWATCH_DEPLOYER_ID=$(az ad signed-in-user show --query id -o tsv)
param deployerPrincipalId = readEnvironmentVariable('TENANTWATCH_DEPLOYER_ID', '')

// Where alerts go: 'teams' (Teams Workflows webhook) or 'json' (Standard
// Webhooks). The URL and signing secret are Key Vault secrets, set after
// deployment.
param alertWebhookFormat = 'teams'

// Detection. Add 'NonInteractiveUserSignInLogs' here only when the Entra
// diagnostic setting streams that category too (includeNonInteractive).
param signInCategories = [
  'SignInLogs'
]
param crossTenantDirection = 'both'

// Empty: every riskLevelAggregated except none alerts (the Sentinel query's
// behaviour). Without Entra ID P2 every sign-in is 'hidden'.
param alertRiskLevels = ''

// Comma list of partner tenant ids that never alert.
param allowedTenants = ''

// Empty: no alert during the first 14 days (the baseline window) while the
// baseline fills. '0' alerts at once: useful for a trial, noisy in production.
param learningPeriod = ''

param logLevel = 'info'

// Capacity. One throughput unit carries about 1 MB/s of logs: enough for
// interactive sign-ins of a 100k-user tenant; auto-inflate covers peaks.
param eventHubThroughputUnits = 1
param eventHubMaxThroughputUnits = 4
param eventHubPartitionCount = 4
param instanceMemoryMB = 2048

// Check the custom runtime versions of your region first:
//   az functionapp list-flexconsumption-runtimes --location <region> --runtime custom
param customRuntimeVersion = '1.0'
