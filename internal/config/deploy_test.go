package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/internal/config"
	"github.com/tenantwatch/tenantwatch/internal/pack"
)

// The deployment templates cannot be compiled here (no Bicep compiler, no
// Azure), so these tests read them as text and hold them to config.Settings:
// every setting the handler needs in Azure is set, every setting set is one
// the handler, its trigger binding or the Functions host reads, and secrets
// only ever arrive as Key Vault references.

const (
	mainTemplate  = "infra/main.bicep"
	paramFile     = "infra/main.bicepparam"
	entraTemplate = "infra/entra-diagnostic-setting.bicep"
	deployDoc     = "README.md"
	localSample   = "local.settings.sample.json"
)

// appSetting is one { name, value } entry of main.bicep's appSettings
// block; Value is the Bicep expression as written.
type appSetting struct {
	Name, Value string
	Line        int
}

var (
	settingNameRE  = regexp.MustCompile(`^name:\s*'([^']*)'\s*$`)
	settingValueRE = regexp.MustCompile(`^value:\s*(\S.*?)\s*$`)
)

// parseAppSettings extracts the entries of the block that starts with the
// line "var appSettings = [" and ends with a line holding only "]". Each
// entry must be written as a name line followed by a value line.
func parseAppSettings(bicep string) ([]appSetting, error) {
	lines := strings.Split(bicep, "\n")
	start := slices.IndexFunc(lines, func(l string) bool {
		return strings.TrimSpace(l) == "var appSettings = ["
	})
	if start < 0 {
		return nil, fmt.Errorf("no line %q", "var appSettings = [")
	}
	var out []appSetting
	seen := make(map[string]int)
	for i := start + 1; i < len(lines); i++ {
		raw := strings.TrimRight(lines[i], " \t\r")
		if raw == "]" {
			if len(out) > 0 && out[len(out)-1].Value == "" {
				return nil, fmt.Errorf("line %d: setting %s has no value", out[len(out)-1].Line, out[len(out)-1].Name)
			}
			return out, nil
		}
		l := strings.TrimSpace(raw)
		if m := settingNameRE.FindStringSubmatch(l); m != nil {
			if len(out) > 0 && out[len(out)-1].Value == "" {
				return nil, fmt.Errorf("line %d: setting %s has no value", out[len(out)-1].Line, out[len(out)-1].Name)
			}
			if first, dup := seen[m[1]]; dup {
				return nil, fmt.Errorf("line %d: setting %s already set on line %d", i+1, m[1], first)
			}
			seen[m[1]] = i + 1
			out = append(out, appSetting{Name: m[1], Line: i + 1})
			continue
		}
		if m := settingValueRE.FindStringSubmatch(l); m != nil {
			if len(out) == 0 || out[len(out)-1].Value != "" {
				return nil, fmt.Errorf("line %d: value without a name", i+1)
			}
			out[len(out)-1].Value = m[1]
			continue
		}
		if strings.HasPrefix(l, "name:") || strings.HasPrefix(l, "value:") {
			return nil, fmt.Errorf("line %d: write %q as name: '<literal>' or value: <expression> on one line", i+1, l)
		}
	}
	return nil, fmt.Errorf("appSettings block opened on line %d is never closed by a line holding only ]", start+1)
}

func TestParseAppSettings(t *testing.T) {
	tests := []struct {
		name    string
		bicep   string
		want    []appSetting
		wantErr string
	}{
		{
			name: "entries with comments",
			bicep: "param x string\nvar appSettings = [\n  // Storage.\n  {\n    name: 'A__b'\n    value: storage.name\n  }\n" +
				"  {\n    name: 'KV'\n    value: '@Microsoft.KeyVault(SecretUri=${kv.properties.vaultUri}secrets/s/)'\n  }\n]\nresource r 'x@1' = {}\n",
			want: []appSetting{
				{Name: "A__b", Value: "storage.name", Line: 5},
				{Name: "KV", Value: "'@Microsoft.KeyVault(SecretUri=${kv.properties.vaultUri}secrets/s/)'", Line: 9},
			},
		},
		{name: "no block", bicep: "var other = []\n", wantErr: "no line"},
		{name: "never closed", bicep: "var appSettings = [\n  {\n    name: 'A'\n    value: 'x'\n  }\n", wantErr: "never closed"},
		{name: "missing value", bicep: "var appSettings = [\n  {\n    name: 'A'\n  }\n  {\n    name: 'B'\n    value: 'x'\n  }\n]\n", wantErr: "A has no value"},
		{name: "last value missing", bicep: "var appSettings = [\n  {\n    name: 'A'\n  }\n]\n", wantErr: "A has no value"},
		{name: "duplicate", bicep: "var appSettings = [\n  {\n    name: 'A'\n    value: 'x'\n  }\n  {\n    name: 'A'\n    value: 'y'\n  }\n]\n", wantErr: "already set"},
		{name: "computed name", bicep: "var appSettings = [\n  {\n    name: prefix\n    value: 'x'\n  }\n]\n", wantErr: "on one line"},
		{name: "value on next line", bicep: "var appSettings = [\n  {\n    name: 'A'\n    value:\n  }\n]\n", wantErr: "on one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAppSettings(tt.bicep)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// templateSettings parses main.bicep's app settings, in template order.
func templateSettings(t *testing.T) ([]appSetting, string) {
	t.Helper()
	bicep := string(readRepoFile(t, mainTemplate))
	list, err := parseAppSettings(bicep)
	if err != nil {
		t.Fatalf("%s: %v", mainTemplate, err)
	}
	return list, bicep
}

func byName(list []appSetting) map[string]appSetting {
	m := make(map[string]appSetting, len(list))
	for _, s := range list {
		m[s.Name] = s
	}
	return m
}

func settingsByName() map[string]config.Setting {
	m := make(map[string]config.Setting)
	for _, s := range config.Settings() {
		m[s.Name] = s
	}
	return m
}

const keyVaultRef = "'@Microsoft.KeyVault("

// keyVaultOnly reports whether a Bicep value expression can only ever be a
// Key Vault reference: either the reference itself, or a condition choosing
// between the reference and an empty string.
func keyVaultOnly(v string) bool {
	isRef := func(lit string) bool {
		return strings.HasPrefix(lit, keyVaultRef) && strings.HasSuffix(lit, ")'") && strings.Count(lit, "'") == 2
	}
	if isRef(v) {
		return true
	}
	cond, branches, ok := strings.Cut(v, " ? ")
	if !ok || cond == "" || strings.Contains(cond, keyVaultRef) {
		return false
	}
	ref, empty, ok := strings.Cut(branches, " : ")
	return ok && isRef(ref) && empty == "''"
}

func TestKeyVaultOnly(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"'@Microsoft.KeyVault(SecretUri=${kv.properties.vaultUri}secrets/a/)'", true},
		{"format == 'json' ? '@Microsoft.KeyVault(SecretUri=${kv.properties.vaultUri}secrets/a/)' : ''", true},
		{"format == 'json' ? '@Microsoft.KeyVault(SecretUri=x)' : 'whsec_abc'", false},
		{"format == 'json' ? 'whsec_abc' : '@Microsoft.KeyVault(SecretUri=x)'", false},
		{"'@Microsoft.KeyVault(SecretUri=x)' ? 'a' : ''", false},
		{"'@Microsoft.KeyVault(SecretUri=x)${'y'}'", false},
		{"'https://example.invalid/hook'", false},
		{"webhookUrl", false},
		{"''", false},
	}
	for _, tt := range tests {
		if got := keyVaultOnly(tt.value); got != tt.want {
			t.Errorf("keyVaultOnly(%s) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestTemplateSetsEverySettingTheHandlerNeedsInAzure(t *testing.T) {
	list, _ := templateSettings(t)
	set := byName(list)
	nonEmpty := func(v string) error {
		if v == "''" {
			return fmt.Errorf("is empty")
		}
		return nil
	}
	literal := func(want string) func(string) error {
		return func(v string) error {
			if v != "'"+want+"'" {
				return fmt.Errorf("= %s, want '%s'", v, want)
			}
			return nil
		}
	}
	contains := func(want string) func(string) error {
		return func(v string) error {
			if !strings.Contains(v, want) {
				return fmt.Errorf("= %s, want an expression containing %q", v, want)
			}
			return nil
		}
	}
	keyVault := func(v string) error {
		if !strings.Contains(v, keyVaultRef) || !keyVaultOnly(v) {
			return fmt.Errorf("= %s, want a Key Vault reference %s...", v, keyVaultRef)
		}
		return nil
	}
	// What the handler, its trigger and the host need to run on Flex
	// Consumption with a user-assigned identity and no keys.
	required := []struct {
		name  string
		check func(string) error
	}{
		{"AzureWebJobsStorage__accountName", nonEmpty},
		{"AzureWebJobsStorage__credential", literal("managedidentity")},
		{config.EnvWebJobsStorageClient, contains("clientId")},
		{"APPLICATIONINSIGHTS_CONNECTION_STRING", nonEmpty},
		{config.EnvEventHubNamespace, contains(".servicebus.windows.net")},
		{config.EnvEventHubCredential, literal("managedidentity")},
		{config.EnvEventHubClientID, contains("clientId")},
		{config.EnvEventHubName, nonEmpty},
		{config.EnvEventHubConsumerGroup, nonEmpty},
		{config.EnvBaselineStorageURI, contains(".table.")},
		{config.EnvBaselineStorageClient, contains("clientId")},
		{config.EnvWebhookURL, keyVault},
		{config.EnvWebhookSecret, keyVault},
		{config.EnvWebhookFormat, nonEmpty},
	}
	for _, r := range required {
		s, ok := set[r.name]
		if !ok {
			t.Errorf("%s does not set %s", mainTemplate, r.name)
			continue
		}
		if err := r.check(s.Value); err != nil {
			t.Errorf("%s:%d: %s %v", mainTemplate, s.Line, r.name, err)
		}
	}
}

func TestTemplateSetsOnlySettingsSomeoneReads(t *testing.T) {
	list, _ := templateSettings(t)
	known := settingsByName()
	for _, s := range list {
		name := s.Name
		if ks, ok := known[name]; ok {
			if ks.Scope == config.ScopeHost {
				t.Errorf("%s:%d: %s is set by the Functions host at run time; a template must not set it", mainTemplate, s.Line, name)
			}
			continue
		}
		h, ok := config.LookupHostSetting(name)
		switch {
		case !ok:
			t.Errorf("%s:%d: %s is neither in config.Settings() nor a host setting in config.HostSettings()", mainTemplate, s.Line, name)
		case h.LocalOnly:
			t.Errorf("%s:%d: %s belongs in local.settings.json only: %s", mainTemplate, s.Line, name, h.Description)
		}
	}
}

func TestTemplateKeepsSecretsInKeyVault(t *testing.T) {
	list, bicep := templateSettings(t)
	known := settingsByName()
	for _, s := range list {
		if known[s.Name].Secret && !keyVaultOnly(s.Value) {
			t.Errorf("%s:%d: secret %s = %s; secrets may only be Key Vault references", mainTemplate, s.Line, s.Name, s.Value)
		}
	}
	// No template reads a key or a connection string: they would end up in
	// app settings, outputs or the deployment history.
	for _, name := range []string{mainTemplate, entraTemplate, paramFile} {
		text := string(readRepoFile(t, name))
		if name == mainTemplate {
			text = bicep
		}
		for _, bad := range []string{"listKeys(", "listkeys(", "listConnectionStrings(", "AccountKey=", "SharedAccessKey=", "primaryKey", "InstrumentationKey="} {
			if strings.Contains(text, bad) {
				t.Errorf("%s reads or writes a key (%q): use the managed identity or a Key Vault reference", name, bad)
			}
		}
	}
}

func TestTemplateWiresTheSettingsBlockIntoTheApp(t *testing.T) {
	_, bicep := templateSettings(t)
	if n := strings.Count(bicep, "appSettings: appSettings"); n != 1 {
		t.Errorf("%s uses the appSettings block %d times, want once (siteConfig.appSettings)", mainTemplate, n)
	}
	if n := strings.Count(bicep, "appSettings:"); n != 1 {
		t.Errorf("%s sets appSettings %d times: every app setting belongs in the one appSettings block", mainTemplate, n)
	}
	if strings.Contains(bicep, "Microsoft.Web/sites/config") {
		t.Errorf("%s sets app settings through a sites/config resource: keep them in the appSettings block", mainTemplate)
	}
}

var placeholderRE = regexp.MustCompile(`%([A-Za-z0-9_]+)%`)

// TestTemplateSetsWhatFunctionJSONRefersTo follows every function.json: the
// %SETTING% expressions it uses and the identity settings of its
// connections must be set by the template.
func TestTemplateSetsWhatFunctionJSONRefersTo(t *testing.T) {
	list, _ := templateSettings(t)
	set := byName(list)
	root := repoRoot(t)
	functions, err := pack.FunctionDirs(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(functions) == 0 {
		t.Fatal("no function folders at the repository root")
	}
	for _, fn := range functions {
		name := filepath.ToSlash(filepath.Join(fn, pack.FunctionJSON))
		raw := readRepoFile(t, name)
		for _, m := range placeholderRE.FindAllSubmatch(raw, -1) {
			if _, ok := set[string(m[1])]; !ok {
				t.Errorf("%s refers to %%%s%%, which %s does not set", name, m[1], mainTemplate)
			}
		}
		var def struct {
			Bindings []struct {
				Connection string `json:"connection"`
			} `json:"bindings"`
		}
		if err := json.Unmarshal(raw, &def); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, b := range def.Bindings {
			if b.Connection == "" {
				continue
			}
			if _, ok := set[b.Connection]; ok {
				t.Errorf("%s sets %s, a connection string; use the identity form %s__*", mainTemplate, b.Connection, b.Connection)
			}
			for _, suffix := range []string{"__fullyQualifiedNamespace", "__credential", "__clientId"} {
				if _, ok := set[b.Connection+suffix]; !ok {
					t.Errorf("%s uses connection %s, but %s does not set %s%s", name, b.Connection, mainTemplate, b.Connection, suffix)
				}
			}
		}
	}
}

var (
	paramDeclRE = regexp.MustCompile(`(?m)^param (\w+) (\w+)(.*)$`)
	paramSetRE  = regexp.MustCompile(`(?m)^param (\w+) =`)
	outputRE    = regexp.MustCompile(`(?m)^output (\w+) `)
)

// templateParams returns a template's parameters and whether each has a
// default value.
func templateParams(bicep string) map[string]bool {
	params := make(map[string]bool)
	for _, m := range paramDeclRE.FindAllStringSubmatch(bicep, -1) {
		params[m[1]] = strings.Contains(m[3], "=")
	}
	return params
}

func TestParamFileSetsOnlyTemplateParameters(t *testing.T) {
	params := templateParams(string(readRepoFile(t, mainTemplate)))
	file := string(readRepoFile(t, paramFile))
	if !strings.Contains(file, "using 'main.bicep'") {
		t.Errorf("%s does not start with using 'main.bicep'", paramFile)
	}
	setInFile := make(map[string]bool)
	for _, m := range paramSetRE.FindAllStringSubmatch(file, -1) {
		setInFile[m[1]] = true
		if _, ok := params[m[1]]; !ok {
			t.Errorf("%s sets %s, which %s does not declare", paramFile, m[1], mainTemplate)
		}
	}
	for p, hasDefault := range params {
		if !hasDefault && !setInFile[p] {
			t.Errorf("%s has no default for %s and %s does not set it", mainTemplate, p, paramFile)
		}
	}
}

// TestTemplatesFitTogether checks the hand-offs between the two templates
// and the deploy guide: the tenant template's required parameters are
// outputs of main.bicep, and every output the guide queries exists.
func TestTemplatesFitTogether(t *testing.T) {
	main := string(readRepoFile(t, mainTemplate))
	outputs := make(map[string]bool)
	for _, m := range outputRE.FindAllStringSubmatch(main, -1) {
		outputs[m[1]] = true
	}
	for p, hasDefault := range templateParams(string(readRepoFile(t, entraTemplate))) {
		if !hasDefault && !outputs[p] {
			t.Errorf("%s requires %s, which %s does not output", entraTemplate, p, mainTemplate)
		}
	}

	doc := string(readRepoFile(t, deployDoc))
	for _, m := range regexp.MustCompile(`outputs\.(\w+)\.value`).FindAllStringSubmatch(doc, -1) {
		if !outputs[m[1]] {
			t.Errorf("%s queries output %s, which %s does not have", deployDoc, m[1], mainTemplate)
		}
	}
	for _, v := range []string{"webhookUrlSecretName", "webhookSecretSecretName"} {
		m := regexp.MustCompile(`(?m)^var ` + v + ` = '([^']+)'`).FindStringSubmatch(main)
		if m == nil {
			t.Errorf("%s has no var %s", mainTemplate, v)
			continue
		}
		if !strings.Contains(doc, "--name "+m[1]) {
			t.Errorf("%s never sets the Key Vault secret %s (--name %s)", deployDoc, m[1], m[1])
		}
	}
}

func TestHostSettingsAreNotTenantwatchSettings(t *testing.T) {
	known := settingsByName()
	for _, h := range config.HostSettings() {
		if _, ok := known[h.Name]; ok {
			t.Errorf("%s is both a Tenantwatch setting and a host setting", h.Name)
		}
		if h.Description == "" {
			t.Errorf("host setting %s has no description", h.Name)
		}
	}
	tests := []struct {
		name string
		want bool
	}{
		{"APPLICATIONINSIGHTS_CONNECTION_STRING", true},
		{"AzureFunctionsJobHost__logging__logLevel__default", true},
		{"AzureFunctionsJobHost__", false},
		{"AzureWebJobsStorage__credential", true},
		{"ALERT_WEBHOOK_URL", false},
		{"applicationinsights_connection_string", false},
	}
	for _, tt := range tests {
		if _, got := config.LookupHostSetting(tt.name); got != tt.want {
			t.Errorf("LookupHostSetting(%q) found = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// sampleJSON renders local.settings.sample.json from Settings: every Local
// setting with its Sample, in Settings order, after FUNCTIONS_WORKER_RUNTIME.
func sampleJSON(t *testing.T) []byte {
	t.Helper()
	type kv struct{ k, v string }
	values := []kv{{"FUNCTIONS_WORKER_RUNTIME", "custom"}}
	for _, s := range config.Settings() {
		if s.Local {
			values = append(values, kv{s.Name, s.Sample})
		}
	}
	if !slices.ContainsFunc(values, func(e kv) bool { return e.k == config.EnvWebJobsStorage }) {
		values = append(values, kv{config.EnvWebJobsStorage, "UseDevelopmentStorage=true"})
	}
	quote := func(s string) string {
		var q bytes.Buffer
		enc := json.NewEncoder(&q)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(q.String(), "\n")
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"IsEncrypted\": false,\n  \"Values\": {\n")
	for i, e := range values {
		sep := ","
		if i == len(values)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "    %s: %s%s\n", quote(e.k), quote(e.v), sep)
	}
	b.WriteString("  }\n}\n")
	return b.Bytes()
}

// emulatorSecret reports whether a secret setting's sample value is one of
// the local emulators' published, non-secret connection strings.
func emulatorSecret(v string) bool {
	switch {
	case v == "", v == "UseDevelopmentStorage=true":
		return true
	case strings.Contains(v, "UseDevelopmentEmulator=true") && strings.Contains(v, "SharedAccessKey=SAS_KEY_VALUE"):
		return true
	}
	return false
}

func TestLocalSettingsSample(t *testing.T) {
	path := filepath.Join(repoRoot(t), localSample)
	if *update {
		if err := os.WriteFile(path, sampleJSON(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./internal/config -run TestLocalSettingsSample -update)", err)
	}
	var file struct {
		IsEncrypted *bool
		Values      map[string]string
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("%s: %v", localSample, err)
	}
	if file.IsEncrypted == nil || *file.IsEncrypted {
		t.Errorf("%s: IsEncrypted must be present and false", localSample)
	}
	if got := file.Values["FUNCTIONS_WORKER_RUNTIME"]; got != "custom" {
		t.Errorf("%s: FUNCTIONS_WORKER_RUNTIME = %q, want \"custom\"", localSample, got)
	}

	known := settingsByName()
	for _, s := range config.Settings() {
		if !s.Local {
			continue
		}
		got, ok := file.Values[s.Name]
		switch {
		case !ok:
			t.Errorf("%s lacks %s (sample %q)", localSample, s.Name, s.Sample)
		case got != s.Sample:
			t.Errorf("%s: %s = %q, want the sample %q", localSample, s.Name, got, s.Sample)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(file.Values)) {
		v := file.Values[name]
		s, isSetting := known[name]
		if _, isHost := config.LookupHostSetting(name); !isSetting && !isHost {
			t.Errorf("%s sets %s, which is neither in config.Settings() nor a host setting", localSample, name)
		}
		if s.Secret && !emulatorSecret(v) {
			t.Errorf("%s: secret %s holds a value that is not an emulator placeholder", localSample, name)
		}
		for _, bad := range []string{"AccountKey=", "sig=", "whsec_", "://prod", ".logic.azure.com", ".environment.api.powerplatform.com"} {
			if strings.Contains(v, bad) {
				t.Errorf("%s: %s looks like a real credential or webhook (%q)", localSample, name, bad)
			}
		}
	}
}
