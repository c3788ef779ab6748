// Tenantwatch: everything the Function App needs, in one resource group.
//
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
//
// Creates an Event Hubs namespace (Standard) with the sign-in hub, a consumer
// group for Tenantwatch and the authorization rule the Entra diagnostic
// setting sends with; a storage account (host storage, deployment container,
// the baseline tables); a Flex Consumption Function App running the custom
// handler; one user-assigned managed identity holding exactly the roles the
// app needs; a Key Vault for the webhook URL and signing secret; Log Analytics
// and Application Insights.
//
// No key or connection string reaches an app setting: the host, the trigger
// and the handler authenticate with the managed identity, and the two secrets
// are Key Vault references.
//
// The Entra diagnostic setting is tenant-scoped and lives in
// entra-diagnostic-setting.bicep; this template outputs what it needs.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- parameters

@description('Region of every resource. It must offer the Flex Consumption plan: az functionapp list-flexconsumption-locations.')
param location string = resourceGroup().location

@description('Short name used in resource names: lowercase letters and digits.')
@minLength(2)
@maxLength(11)
param appName string = 'tenantwatch'

@description('Suffix that makes the global names (storage, Key Vault, Function App) unique.')
@minLength(5)
@maxLength(13)
param nameSuffix string = uniqueString(resourceGroup().id)

@description('Tags applied to every resource.')
param tags object = {
  application: 'tenantwatch'
}

@description('Version of the Flex Consumption "custom" runtime. Check: az functionapp list-flexconsumption-runtimes --location <region> --runtime custom')
param customRuntimeVersion string = '1.0'

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to. The Event Hub trigger never uses more instances than the hub has partitions.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Throughput units of the Event Hubs namespace (1 TU: 1 MB/s or 1,000 events/s in).')
@minValue(1)
@maxValue(40)
param eventHubThroughputUnits int = 1

@description('Upper bound for auto-inflate; 0 turns auto-inflate off. Auto-inflate never scales back down by itself.')
@minValue(0)
@maxValue(40)
param eventHubMaxThroughputUnits int = 4

@description('Event Hub the Entra diagnostic setting streams to. insights-logs-signinlogs is the name Entra uses when a setting names no hub.')
param eventHubName string = 'insights-logs-signinlogs'

@description('Partitions of the hub: the most instances that read it at once. Fixed once the hub exists.')
@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 4

@description('Days the hub keeps events, so a stopped app catches up (Standard: at most 7).')
@minValue(1)
@maxValue(7)
param eventHubRetentionDays int = 7

@description('Consumer group dedicated to Tenantwatch.')
param consumerGroupName string = 'tenantwatch'

@description('Table of the per-user baseline.')
param baselineTableName string = 'CrossTenantBaseline'

@description('Table of the alert outbox.')
param alertsTableName string = 'CrossTenantAlerts'

@description('Log categories Tenantwatch reads: SignInLogs, and NonInteractiveUserSignInLogs when the diagnostic setting streams them too.')
param signInCategories array = [
  'SignInLogs'
]

@description('Which sightings may alert: both, outbound or inbound.')
@allowed([
  'both'
  'outbound'
  'inbound'
])
param crossTenantDirection string = 'both'

@description('Comma list of riskLevelAggregated values that alert; empty means every level except none.')
param alertRiskLevels string = ''

@description('Comma list of tenant ids that never alert; empty means none.')
param allowedTenants string = ''

@description('No alert until the store has seen this much history (Go duration or Nd); empty means the baseline window, 0 alerts at once.')
param learningPeriod string = ''

@description('teams posts an Adaptive Card to a Teams Workflows webhook; json posts a signed Standard Webhooks message.')
@allowed([
  'teams'
  'json'
])
param alertWebhookFormat string = 'teams'

@description('Handler log level.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@description('Object id of whoever sets the Key Vault secrets; receives Key Vault Secrets Officer on the vault. Empty grants nothing.')
param deployerPrincipalId string = ''

@description('Kind of principal deployerPrincipalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

@description('Days Log Analytics keeps the app logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// ------------------------------------------------------------------- names

var identityName = 'id-${appName}-${nameSuffix}'
var storageAccountName = toLower('st${take(appName, 9)}${nameSuffix}')
var keyVaultName = 'kv-${take(appName, 6)}-${nameSuffix}'
var eventHubNamespaceName = 'evhns-${appName}-${nameSuffix}'
var planName = 'plan-${appName}-${nameSuffix}'
var functionAppName = 'func-${appName}-${nameSuffix}'
var workspaceName = 'log-${appName}-${nameSuffix}'
var appInsightsName = 'appi-${appName}-${nameSuffix}'
var deploymentContainerName = 'app-package'

// Key Vault secret names behind ALERT_WEBHOOK_URL and ALERT_WEBHOOK_SECRET
// (the signing secret is used with the json format only).
var webhookUrlSecretName = 'alert-webhook-url'
var webhookSecretSecretName = 'alert-webhook-secret'

// Built-in role definition ids.
var roles = {
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ----------------------------------------------------------------- identity

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

// --------------------------------------------------------------- Event Hubs

resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: eventHubNamespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: eventHubThroughputUnits
  }
  properties: {
    isAutoInflateEnabled: eventHubMaxThroughputUnits > 0
    maximumThroughputUnits: eventHubMaxThroughputUnits > 0 ? max(eventHubMaxThroughputUnits, eventHubThroughputUnits) : 0
    minimumTlsVersion: '1.2'
    // Entra diagnostic settings send with a shared access rule, so local
    // (SAS) authentication stays on. The Function App never uses a key.
    disableLocalAuth: false
  }
}

resource eventHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: eventHubNamespace
  name: eventHubName
  properties: {
    partitionCount: eventHubPartitionCount
    messageRetentionInDays: eventHubRetentionDays
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: eventHub
  name: consumerGroupName
  properties: {}
}

// The rule the Entra diagnostic setting streams with. Azure Monitor asks for
// Manage, Send and Listen on a namespace rule; whoever creates the setting
// needs the listKeys action on it. Its keys never leave Azure Monitor.
resource diagnosticsRule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: eventHubNamespace
  name: 'entra-diagnostics'
  properties: {
    rights: [
      'Manage'
      'Send'
      'Listen'
    ]
  }
}

// ------------------------------------------------------------------ storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // Everything reaches this account with the managed identity.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource baselineTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: baselineTableName
}

resource alertsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: alertsTableName
}

// ---------------------------------------------------------------- Key Vault

// The secrets themselves are set after deployment (az keyvault secret set),
// so their values never pass through a template or its deployment history.
resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Enabled'
  }
}

// ----------------------------------------------------------------- monitoring

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Telemetry is accepted only with an Entra token (the managed identity).
    DisableLocalAuth: true
  }
}

// ------------------------------------------------------------ role assignments

// Read the sign-in hub (the trigger), and nothing else in the namespace.
resource eventHubReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHub.id, identity.id, roles.eventHubsDataReceiver)
  scope: eventHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Host storage: keys, timer and trigger leases, Event Hub checkpoints, and
// the deployment container the platform pulls the package from.
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The handler's baseline and alert tables.
resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Resolve the Key Vault references of the two webhook settings.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Send telemetry to Application Insights with an Entra token.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Lets the deployer write the two secrets after deployment.
resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(keyVault.id, deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

// ------------------------------------------------------------- app settings

// Every app setting of the Function App, one { name, value } entry each.
// internal/config's tests read this block: each name must be a setting in
// config.Settings() or one of the host's (config.HostSettings()), every
// setting the handler needs in Azure must be here, and a secret may only be a
// Key Vault reference (or, under a condition, empty). Keep one entry per
// setting, its name a literal and its value on one line.
var appSettings = [
  // Host storage, with the managed identity.
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storage.name
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identity.properties.clientId
  }
  // Monitoring, with the managed identity.
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  }
  // Event Hub trigger (CrossTenantSignIns/function.json).
  {
    name: 'SignInEventHub__fullyQualifiedNamespace'
    value: '${eventHubNamespace.name}.servicebus.windows.net'
  }
  {
    name: 'SignInEventHub__credential'
    value: 'managedidentity'
  }
  {
    name: 'SignInEventHub__clientId'
    value: identity.properties.clientId
  }
  {
    name: 'SIGNIN_EVENTHUB_NAME'
    value: eventHub.name
  }
  {
    name: 'SIGNIN_EVENTHUB_CONSUMER_GROUP'
    value: consumerGroup.name
  }
  // Baseline storage, with the managed identity.
  {
    name: 'BaselineStorage__tableServiceUri'
    value: 'https://${storage.name}.table.${environment().suffixes.storage}'
  }
  {
    name: 'BaselineStorage__clientId'
    value: identity.properties.clientId
  }
  {
    name: 'BASELINE_TABLE'
    value: baselineTable.name
  }
  {
    name: 'ALERTS_TABLE'
    value: alertsTable.name
  }
  // Detection.
  {
    name: 'SIGNIN_CATEGORIES'
    value: join(signInCategories, ',')
  }
  {
    name: 'CROSS_TENANT_DIRECTION'
    value: crossTenantDirection
  }
  {
    name: 'ALERT_RISK_LEVELS'
    value: alertRiskLevels
  }
  {
    name: 'ALLOWED_TENANTS'
    value: allowedTenants
  }
  {
    name: 'LEARNING_PERIOD'
    value: learningPeriod
  }
  // Alerts: the webhook URL and signing secret come from Key Vault.
  {
    name: 'ALERT_WEBHOOK_FORMAT'
    value: alertWebhookFormat
  }
  {
    name: 'ALERT_WEBHOOK_URL'
    value: '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${webhookUrlSecretName}/)'
  }
  // Only json requests are signed: a Teams Workflows webhook cannot verify a
  // signature, and the handler refuses a signing secret with the teams format.
  {
    name: 'ALERT_WEBHOOK_SECRET'
    value: alertWebhookFormat == 'json' ? '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${webhookSecretSecretName}/)' : ''
  }
  {
    name: 'LOG_LEVEL'
    value: logLevel
  }
]

// -------------------------------------------------------------- Function App

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: customRuntimeVersion
      }
    }
  }
  // Start only once the identity may reach what the app needs.
  dependsOn: [
    eventHubReceiver
    blobOwner
    tableContributor
    secretsUser
    metricsPublisher
  ]
}

// ------------------------------------------------------------------ outputs

output functionAppName string = functionApp.name
output keyVaultName string = keyVault.name
output storageAccountName string = storage.name
output eventHubNamespaceName string = eventHubNamespace.name
output eventHubName string = eventHub.name
output identityClientId string = identity.properties.clientId
output appInsightsName string = appInsights.name

@description('Resource id (not a key) of the rule the Entra diagnostic setting sends with: pass it to entra-diagnostic-setting.bicep.')
output eventHubAuthorizationRuleId string = diagnosticsRule.id
