// The Microsoft Entra ID diagnostic setting that streams sign-in logs to
// Tenantwatch's Event Hub. It belongs to the tenant, not to a subscription,
// so it is deployed at tenant scope:
//
//   az deployment tenant create --name tenantwatch-entra --location <region> \
//     -f infra/entra-diagnostic-setting.bicep \
//     -p eventHubAuthorizationRuleId=<output of main.bicep> eventHubName=<output of main.bicep>
//
// Who may create it: an Entra ID Security Administrator (or Global
// Administrator) who can also list the keys of the authorization rule
// (Microsoft.EventHub/namespaces/authorizationRules/listKeys/action, for
// example as Contributor on the resource group). A tenant-scope deployment
// additionally needs deployment rights at the root scope "/"; without them,
// create the same setting with the az rest call in docs/deploy.md.
// Exporting sign-in logs needs an Entra ID P1 or P2 licence.

targetScope = 'tenant'

@description('Name of the diagnostic setting.')
param name string = 'tenantwatch'

@description('Resource id of the namespace authorization rule to send with (output eventHubAuthorizationRuleId of main.bicep).')
param eventHubAuthorizationRuleId string

@description('Event Hub that receives the logs (output eventHubName of main.bicep).')
param eventHubName string = 'insights-logs-signinlogs'

@description('Also stream NonInteractiveUserSignInLogs (token refreshes; often 5 to 10 times the interactive volume). Add the category to SIGNIN_CATEGORIES too.')
param includeNonInteractive bool = false

var categories = concat([
  'SignInLogs'
], includeNonInteractive ? [
  'NonInteractiveUserSignInLogs'
] : [])

// The published type of this resource lists only AuditLogs and SignInLogs as
// categories, so Bicep may warn about NonInteractiveUserSignInLogs; the
// service accepts every category the portal offers.
resource setting 'microsoft.aadiam/diagnosticSettings@2017-04-01' = {
  name: name
  properties: {
    eventHubAuthorizationRuleId: eventHubAuthorizationRuleId
    eventHubName: eventHubName
    logs: [for category in categories: {
      category: category
      enabled: true
    }]
  }
}

output name string = setting.name
output categories array = categories
