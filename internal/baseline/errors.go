package baseline

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// ErrConflict reports that a conditional write lost: the row was created,
// changed or deleted since it was read. Re-read and decide again.
var ErrConflict = errors.New("conflict: the row changed since it was read")

// contentCodes are service error codes caused by what one entity holds.
var contentCodes = map[string]bool{
	string(aztables.InvalidInput):                 true,
	string(aztables.OutOfRangeInput):              true,
	string(aztables.PropertyValueTooLarge):        true,
	string(aztables.EntityTooLarge):               true,
	string(aztables.InvalidValueType):             true,
	string(aztables.PropertiesNeedValue):          true,
	string(aztables.PropertyNameInvalid):          true,
	string(aztables.PropertyNameTooLong):          true,
	string(aztables.TooManyProperties):            true,
	string(aztables.DuplicatePropertiesSpecified): true,
	string(aztables.InvalidDuplicateRow):          true,
	"RequestBodyTooLarge":                         true,
	"KeyValueTooLarge":                            true,
}

// ContentError reports an error caused by the content of one sighting or
// row (a key too long, a value out of range, a 400 from the service about
// an entity, an unreadable stored row). Retrying cannot fix it: the caller
// logs it and skips that sighting.
func ContentError(err error) bool {
	if err == nil {
		return false
	}
	for _, sentinel := range []error{ErrKeyTooLong, ErrEmptyKey, ErrMalformedKey, ErrInvalidValue, ErrCorrupt} {
		if errors.Is(err, sentinel) {
			return true
		}
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return contentCodes[re.ErrorCode]
		}
	}
	return false
}

// Transient reports an error after which the work must be retried later:
// the Event Hub batch is failed (non-2xx) so the host re-sends it. That is
// every error that is not a ContentError: transport failures, timeouts and
// cancellation, 5xx, 408, 429, 401/403 (an operator must fix RBAC or the
// key), a missing table, other unexpected service answers, and an
// ErrConflict that the caller did not resolve itself. Treating the unknown
// as transient holds the partition rather than losing sightings.
func Transient(err error) bool {
	return err != nil && !ContentError(err)
}

// hasCode reports a service error with one of the codes.
func hasCode(err error, codes ...aztables.TableErrorCode) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	for _, c := range codes {
		if re.ErrorCode == string(c) {
			return true
		}
	}
	return false
}

// isNotFound reports a missing entity. Services differ: Azure documents
// EntityNotFound, the SDK and Azurite answer ResourceNotFound. A missing
// table (TableNotFound) is not a missing entity.
func isNotFound(err error) bool {
	return hasCode(err, aztables.ResourceNotFound, aztables.EntityNotFound)
}

func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// conflictOnUpdate reports the answers to a conditional update that mean
// "someone else changed or deleted the row".
func conflictOnUpdate(err error) bool {
	if hasCode(err, aztables.TableNotFound) {
		return false
	}
	return statusOf(err) == http.StatusPreconditionFailed || isNotFound(err)
}

// secretRE matches the query of any URL (where a SAS token travels), and
// secrets written as key=value: a whole SharedAccessSignature (up to ';'),
// an AccountKey or a sig parameter.
var secretRE = regexp.MustCompile(`(?i)(https?://[^\s"'?]*)\?[^\s"']*|(sharedaccesssignature=)[^\s"';]*|((?:accountkey|sig)=)[^\s"';&]*`)

func redactSecrets(s string) string {
	return secretRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretRE.FindStringSubmatch(m)
		switch {
		case sub[1] != "":
			return sub[1] + "?REDACTED"
		case sub[2] != "":
			return sub[2] + "REDACTED"
		default:
			return sub[3] + "REDACTED"
		}
	})
}

// safeError carries an error whose text has been cleaned of secrets and
// trimmed to one line, while errors.Is/As still see the original.
type safeError struct {
	msg string
	err error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

// describe renders err for a message. A *azcore.ResponseError prints a
// multi-line dump; a compact "METHOD host/path: status code" is enough.
// Transport errors from net/http quote the whole URL, SAS query included,
// so every URL query is cut out.
func describe(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.RawResponse != nil {
		code := re.ErrorCode
		if code == "" {
			code = "no error code"
		}
		if req := re.RawResponse.Request; req != nil {
			return fmt.Sprintf("%s %s://%s%s: %d %s", req.Method, req.URL.Scheme, req.URL.Host, req.URL.EscapedPath(), re.StatusCode, code)
		}
		return fmt.Sprintf("%d %s", re.StatusCode, code)
	}
	return redactSecrets(err.Error())
}

// wrap names the operation and makes err safe to log. A conflict answer
// also matches ErrConflict.
func wrap(op string, err error, conflict bool) error {
	if err == nil {
		return nil
	}
	safe := &safeError{msg: describe(err), err: err}
	if conflict {
		return fmt.Errorf("baseline: %s: %w: %w", op, ErrConflict, safe)
	}
	return fmt.Errorf("baseline: %s: %w", op, safe)
}
