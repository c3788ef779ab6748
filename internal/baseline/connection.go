package baseline

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Connection says how to reach Table Storage: exactly one of
// ConnectionString and TableServiceURL is set.
type Connection struct {
	// ConnectionString holds an account key or SAS token: never log it.
	ConnectionString string
	// TableServiceURL, e.g. https://account.table.core.windows.net, is
	// used with a Microsoft Entra credential: the managed identity
	// ClientID when set, else the azidentity default chain.
	TableServiceURL string
	ClientID        string
	// Source names the setting the connection came from, for messages.
	Source string
}

// Development storage (Azurite) account, as UseDevelopmentStorage=true
// means it. The key is public and only opens the local emulator.
const (
	devAccountName   = "devstoreaccount1"
	devAccountKey    = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devTableEndpoint = "http://127.0.0.1:10002/devstoreaccount1"
)

// DevelopmentConnectionString is what UseDevelopmentStorage=true expands to.
const DevelopmentConnectionString = "DefaultEndpointsProtocol=http;AccountName=" + devAccountName +
	";AccountKey=" + devAccountKey + ";TableEndpoint=" + devTableEndpoint + ";"

var accountNameRE = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

// ResolveConnection finds the storage connection in the Functions settings,
// in this order:
//
//	BaselineStorage                          a connection string
//	BaselineStorage__tableServiceUri         (+ BaselineStorage__clientId)
//	AzureWebJobsStorage                      a connection string
//	AzureWebJobsStorage__tableServiceUri     (+ AzureWebJobsStorage__clientId)
//	AzureWebJobsStorage__accountName         https://<name>.table.core.windows.net (+ __clientId)
//
// UseDevelopmentStorage=true expands to the Azurite account on
// 127.0.0.1:10002. Errors name the setting at fault but never show its
// value, which may hold a key.
func ResolveConnection(getenv func(string) string) (Connection, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	for _, prefix := range []string{"BaselineStorage", "AzureWebJobsStorage"} {
		if cs := get(prefix); cs != "" {
			c := Connection{ConnectionString: cs, Source: prefix}
			if isDevelopmentStorage(cs) {
				c.ConnectionString = DevelopmentConnectionString
			}
			if _, err := parseConnectionString(c.ConnectionString); err != nil {
				return Connection{}, fmt.Errorf("%s: %w", prefix, err)
			}
			return c, nil
		}
		clientID := get(prefix + "__clientId")
		if u := get(prefix + "__tableServiceUri"); u != "" {
			name := prefix + "__tableServiceUri"
			if err := validateServiceURL(u); err != nil {
				return Connection{}, fmt.Errorf("%s: %w", name, err)
			}
			return Connection{TableServiceURL: u, ClientID: clientID, Source: name}, nil
		}
		if prefix == "AzureWebJobsStorage" {
			if a := get(prefix + "__accountName"); a != "" {
				name := prefix + "__accountName"
				if !accountNameRE.MatchString(a) {
					return Connection{}, fmt.Errorf("%s: not a storage account name (3-24 lower-case letters and digits)", name)
				}
				return Connection{TableServiceURL: "https://" + a + ".table.core.windows.net", ClientID: clientID, Source: name}, nil
			}
		}
		if clientID != "" {
			// A client id alone is almost certainly a typo in the URI
			// setting's name; falling through to the next setting would
			// silently use another account.
			return Connection{}, fmt.Errorf("%s__clientId is set but %s__tableServiceUri is not", prefix, prefix)
		}
	}
	return Connection{}, errors.New("no table storage connection: set BaselineStorage (a connection string) or " +
		"BaselineStorage__tableServiceUri (managed identity), or the same forms of AzureWebJobsStorage")
}

// validate checks the connection's shape without contacting Azure.
func (c Connection) validate() error {
	src := c.Source
	if src == "" {
		src = "connection"
	}
	switch {
	case c.ConnectionString != "" && c.TableServiceURL != "":
		return fmt.Errorf("%s: both a connection string and a table service URL are set", src)
	case c.ConnectionString != "":
		if _, err := parseConnectionString(c.ConnectionString); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
	case c.TableServiceURL != "":
		if err := validateServiceURL(c.TableServiceURL); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
	default:
		return fmt.Errorf("%s: neither a connection string nor a table service URL is set", src)
	}
	return nil
}

// isDevelopmentStorage reports UseDevelopmentStorage=true, in any case, with
// an optional trailing ';' and an optional DevelopmentStorageProxyUri
// (ignored: Azurite needs no proxy).
func isDevelopmentStorage(cs string) bool {
	dev := false
	for _, part := range strings.Split(cs, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return false
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case strings.EqualFold(k, "UseDevelopmentStorage") && strings.EqualFold(v, "true"):
			dev = true
		case strings.EqualFold(k, "DevelopmentStorageProxyUri"):
		default:
			return false
		}
	}
	return dev
}

// endpoint is a parsed connection string: the table service URL (with a
// SAS query when the string carries one) and the shared key, if any.
type endpoint struct {
	serviceURL string
	cred       *aztables.SharedKeyCredential
}

// parseConnectionString understands the key and SAS forms of an Azure
// Storage connection string, and UseDevelopmentStorage=true. aztables has a
// parser, but it ignores TableEndpoint for SAS strings and requires an
// AccountName the portal's SAS strings do not carry. Errors describe the
// problem, never the content.
func parseConnectionString(cs string) (endpoint, error) {
	if isDevelopmentStorage(cs) {
		cs = DevelopmentConnectionString
	}
	fields := map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return endpoint{}, errors.New("connection string is not a list of key=value pairs separated by ';'")
		}
		k = canonicalField(strings.TrimSpace(k))
		if _, dup := fields[k]; dup {
			return endpoint{}, fmt.Errorf("connection string sets %s twice", k)
		}
		fields[k] = strings.TrimSpace(v)
	}

	name, key, sas := fields["AccountName"], fields["AccountKey"], fields["SharedAccessSignature"]
	if key != "" && sas != "" {
		return endpoint{}, errors.New("connection string has both AccountKey and SharedAccessSignature")
	}
	if key == "" && sas == "" {
		return endpoint{}, errors.New("connection string has neither AccountKey nor SharedAccessSignature")
	}

	base := fields["TableEndpoint"]
	if base != "" {
		if err := validateEndpointURL(base); err != nil {
			return endpoint{}, fmt.Errorf("connection string TableEndpoint: %w", err)
		}
	} else {
		if name == "" {
			return endpoint{}, errors.New("connection string has neither TableEndpoint nor AccountName")
		}
		if !accountNameRE.MatchString(name) {
			return endpoint{}, errors.New("connection string AccountName is not a storage account name")
		}
		proto := strings.ToLower(fields["DefaultEndpointsProtocol"])
		if proto == "" {
			proto = "https"
		}
		if proto != "https" && proto != "http" {
			return endpoint{}, errors.New("connection string DefaultEndpointsProtocol is neither https nor http")
		}
		suffix := fields["EndpointSuffix"]
		if suffix == "" {
			suffix = "core.windows.net"
		}
		base = proto + "://" + name + ".table." + suffix
		if err := validateEndpointURL(base); err != nil {
			return endpoint{}, fmt.Errorf("connection string EndpointSuffix: %w", err)
		}
	}
	base = strings.TrimRight(base, "/")

	if sas != "" {
		sas = strings.TrimPrefix(sas, "?")
		if _, err := url.ParseQuery(sas); err != nil {
			return endpoint{}, errors.New("connection string SharedAccessSignature is not a query string")
		}
		return endpoint{serviceURL: base + "/?" + sas}, nil
	}
	if name == "" {
		return endpoint{}, errors.New("connection string has an AccountKey but no AccountName")
	}
	cred, err := aztables.NewSharedKeyCredential(name, key)
	if err != nil {
		// The error may quote the key's decoding position; say less.
		return endpoint{}, errors.New("connection string AccountKey is not valid base64")
	}
	return endpoint{serviceURL: base, cred: cred}, nil
}

// canonicalField spells known connection-string keys canonically: the
// Azure SDKs match them case-insensitively.
func canonicalField(k string) string {
	for _, known := range []string{"AccountName", "AccountKey", "SharedAccessSignature", "TableEndpoint",
		"DefaultEndpointsProtocol", "EndpointSuffix"} {
		if strings.EqualFold(k, known) {
			return known
		}
	}
	return k
}

func validateEndpointURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return errors.New("scheme is neither https nor http")
	}
	if u.Host == "" {
		return errors.New("URL has no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errors.New("URL has a query or fragment")
	}
	return nil
}

// validateServiceURL checks a URL used with an Entra credential: azcore
// refuses to send tokens over plain http, so only https is accepted.
func validateServiceURL(s string) error {
	if err := validateEndpointURL(s); err != nil {
		return err
	}
	if u, _ := url.Parse(s); u.Scheme != "https" {
		return errors.New("must be an https URL (tokens are never sent over http)")
	}
	return nil
}
