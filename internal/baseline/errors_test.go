package baseline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// responseError builds the error azcore returns for a service answer.
func responseError(status int, code string) error {
	req, _ := http.NewRequest(http.MethodPut, "https://acct1.table.core.windows.net/T(PartitionKey='a',RowKey='b')?"+testSAS, nil)
	resp := &http.Response{
		StatusCode: status,
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header:     http.Header{},
		Body:       io.NopCloser(strings.NewReader(`{"odata.error":{"code":"` + code + `","message":{"value":"x"}}}`)),
		Request:    req,
	}
	if code != "" {
		resp.Header.Set("x-ms-error-code", code)
	}
	return runtime.NewResponseError(resp)
}

func TestClassification(t *testing.T) {
	urlErr := &url.Error{Op: "Put", URL: "https://acct1.table.core.windows.net/T?" + testSAS, Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	for _, tc := range []struct {
		name    string
		err     error
		content bool
	}{
		{"transport", urlErr, false},
		{"deadline", context.DeadlineExceeded, false},
		{"canceled", context.Canceled, false},
		{"500", responseError(500, "InternalError"), false},
		{"503", responseError(503, "ServerBusy"), false},
		{"408", responseError(408, ""), false},
		{"429", responseError(429, ""), false},
		{"401", responseError(401, "InvalidAuthenticationInfo"), false},
		{"403", responseError(403, "AuthorizationPermissionMismatch"), false},
		{"table not found", responseError(404, "TableNotFound"), false},
		{"table being deleted", responseError(409, "TableBeingDeleted"), false},
		{"400 unknown code", responseError(400, "InvalidHeaderValue"), false},
		{"conflict", fmt.Errorf("x: %w", ErrConflict), false},
		{"invalid input", responseError(400, "InvalidInput"), true},
		{"out of range", responseError(400, "OutOfRangeInput"), true},
		{"property too large", responseError(400, "PropertyValueTooLarge"), true},
		{"entity too large", responseError(400, "EntityTooLarge"), true},
		{"body too large", responseError(413, "RequestBodyTooLarge"), true},
		{"key too long", fmt.Errorf("x: %w", ErrKeyTooLong), true},
		{"empty key", ErrEmptyKey, true},
		{"invalid value", ErrInvalidValue, true},
		{"corrupt", ErrCorrupt, true},
		{"wrapped content", wrap("op", responseError(400, "InvalidInput"), false), true},
		{"wrapped transient", wrap("op", urlErr, false), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ContentError(tc.err); got != tc.content {
				t.Errorf("ContentError = %v; want %v", got, tc.content)
			}
			if got := Transient(tc.err); got != !tc.content {
				t.Errorf("Transient = %v; want %v", got, !tc.content)
			}
		})
	}
	if Transient(nil) || ContentError(nil) {
		t.Error("nil classified as an error")
	}
}

func TestWrapRedactsAndKeepsChain(t *testing.T) {
	urlErr := &url.Error{Op: "Put", URL: "https://acct1.table.core.windows.net/T?" + testSAS, Err: errors.New("connection reset by peer")}
	for _, err := range []error{
		wrap("save pair", urlErr, false),
		wrap("save pair", responseError(412, "UpdateConditionNotSatisfied"), true),
		wrap("save pair", fmt.Errorf("AccountKey=%s;SharedAccessSignature=%s", testKey, testSAS), false),
	} {
		msg := err.Error()
		for _, secret := range []string{"SECRETSIGNATURE", testKey, "se=2030"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%q leaks %q", msg, secret)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%q spans lines", msg)
		}
	}
	err := wrap("update pair", responseError(412, "UpdateConditionNotSatisfied"), true)
	if !errors.Is(err, ErrConflict) || !hasCode(err, "UpdateConditionNotSatisfied") {
		t.Errorf("wrap lost the chain: %v", err)
	}
	if want := "baseline: update pair: conflict: the row changed since it was read: PUT https://acct1.table.core.windows.net/T(PartitionKey='a',RowKey='b'): 412 UpdateConditionNotSatisfied"; err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
	var ue *url.Error
	if !errors.As(wrap("x", urlErr, false), &ue) {
		t.Error("wrap hides the *url.Error")
	}
}
