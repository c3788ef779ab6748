package config

import "strings"

// HostSetting describes an app setting that belongs to the Azure Functions
// host or the platform rather than to Tenantwatch: Tenantwatch never reads it,
// but a deployment template or local.settings.json may set it.
type HostSetting struct {
	// Name is the exact setting name, or a prefix followed by "*" for a
	// family of settings (AzureFunctionsJobHost__*).
	Name        string
	Description string
	// LocalOnly settings belong in local.settings.json only: the Flex
	// Consumption plan rejects or ignores them, so a template must not set
	// them.
	LocalOnly bool
}

// HostSettings returns the Functions host's own settings that Tenantwatch's
// templates and local settings may use.
func HostSettings() []HostSetting {
	return []HostSetting{
		{Name: "AzureWebJobsStorage__credential",
			Description: "`managedidentity`: the host reaches its storage with the identity named by `AzureWebJobsStorage__clientId`."},
		{Name: "AzureWebJobsStorage__blobServiceUri",
			Description: "Identity form of the host storage's blob endpoint (alternative to `AzureWebJobsStorage__accountName`)."},
		{Name: "AzureWebJobsStorage__queueServiceUri",
			Description: "Identity form of the host storage's queue endpoint (alternative to `AzureWebJobsStorage__accountName`)."},
		{Name: "APPLICATIONINSIGHTS_CONNECTION_STRING",
			Description: "Application Insights resource the host sends its telemetry and the handler's stdout to."},
		{Name: "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
			Description: "`ClientId=<id>;Authorization=AAD`: send telemetry with the managed identity (needs *Monitoring Metrics Publisher*)."},
		{Name: "AzureFunctionsJobHost__*",
			Description: "Overrides a host.json value, path separated by `__` (for example `AzureFunctionsJobHost__logging__logLevel__default`)."},
		{Name: "FUNCTIONS_WORKER_RUNTIME", LocalOnly: true,
			Description: "`custom` for Core Tools. Flex Consumption takes the runtime from the site's `functionAppConfig` and rejects the setting."},
		{Name: "FUNCTIONS_EXTENSION_VERSION", LocalOnly: true,
			Description: "Host major version; fixed by the Flex Consumption plan."},
		{Name: "WEBSITE_RUN_FROM_PACKAGE", LocalOnly: true,
			Description: "Package location on other plans; Flex Consumption deploys from its deployment container instead."},
		{Name: "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", LocalOnly: true,
			Description: "Azure Files content share of the Consumption and Premium plans; not used on Flex Consumption."},
		{Name: "WEBSITE_CONTENTSHARE", LocalOnly: true,
			Description: "Azure Files content share of the Consumption and Premium plans; not used on Flex Consumption."},
		{Name: "SCM_DO_BUILD_DURING_DEPLOYMENT", LocalOnly: true,
			Description: "Remote build switch of other plans; the package ships a built handler."},
	}
}

// LookupHostSetting returns the host setting that name is or belongs to.
func LookupHostSetting(name string) (HostSetting, bool) {
	for _, h := range HostSettings() {
		if prefix, family := strings.CutSuffix(h.Name, "*"); family {
			if strings.HasPrefix(name, prefix) && len(name) > len(prefix) {
				return h, true
			}
			continue
		}
		if h.Name == name {
			return h, true
		}
	}
	return HostSetting{}, false
}
