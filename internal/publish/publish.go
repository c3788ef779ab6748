// Package publish sends sign-in log events to an Event Hub, exactly as an
// Entra diagnostic setting would (one {"records":[...]} body per event), so
// a developer can drive a real Functions host: against the Event Hubs
// emulator locally, or a test hub in Azure.
package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// Target says where events go, read from the same settings the Functions
// host's trigger uses.
type Target struct {
	// ConnectionString is SignInEventHub (the emulator's included); empty
	// when the identity form is used.
	ConnectionString string
	// Namespace is SignInEventHub__fullyQualifiedNamespace.
	Namespace string
	// ClientID is SignInEventHub__clientId (a user-assigned identity).
	ClientID string
	// Hub is SIGNIN_EVENTHUB_NAME.
	Hub string
}

// TargetFromEnv reads the target from the trigger's settings.
func TargetFromEnv(getenv func(string) string, defaultHub string) (Target, error) {
	t := Target{
		ConnectionString: strings.TrimSpace(getenv("SignInEventHub")),
		Namespace:        strings.TrimSpace(getenv("SignInEventHub__fullyQualifiedNamespace")),
		ClientID:         strings.TrimSpace(getenv("SignInEventHub__clientId")),
		Hub:              strings.TrimSpace(getenv("SIGNIN_EVENTHUB_NAME")),
	}
	if t.Hub == "" {
		t.Hub = defaultHub
	}
	if t.ConnectionString == "" && t.Namespace == "" {
		return t, errors.New("set SignInEventHub (a connection string, such as the emulator's) or SignInEventHub__fullyQualifiedNamespace")
	}
	return t, nil
}

// Producer opens a producer client. It makes no network call; the first
// send does.
func (t Target) Producer() (*azeventhubs.ProducerClient, error) {
	if t.ConnectionString != "" {
		p, err := azeventhubs.NewProducerClientFromConnectionString(t.ConnectionString, t.Hub, nil)
		if err != nil {
			// The SDK's parse errors can quote the string, which holds a key.
			return nil, errors.New("SignInEventHub is not a valid Event Hubs connection string")
		}
		return p, nil
	}
	var cred azcore.TokenCredential
	var err error
	if t.ClientID != "" {
		cred, err = azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(t.ClientID)})
	} else {
		cred, err = azidentity.NewDefaultAzureCredential(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	return azeventhubs.NewProducerClient(t.Namespace, t.Hub, cred, nil)
}

// Batcher is the part of *azeventhubs.ProducerClient Send needs.
type Batcher interface {
	NewEventDataBatch(ctx context.Context, options *azeventhubs.EventDataBatchOptions) (*azeventhubs.EventDataBatch, error)
	SendEventDataBatch(ctx context.Context, batch *azeventhubs.EventDataBatch, options *azeventhubs.SendEventDataBatchOptions) error
}

// Send sends each body as one event, packing events into as few batches as
// the hub accepts, in order. It returns how many batches it sent.
func Send(ctx context.Context, p Batcher, bodies [][]byte) (int, error) {
	sent := 0
	var batch *azeventhubs.EventDataBatch
	flush := func() error {
		if batch == nil || batch.NumEvents() == 0 {
			return nil
		}
		if err := p.SendEventDataBatch(ctx, batch, nil); err != nil {
			return fmt.Errorf("send batch %d: %w", sent+1, err)
		}
		sent++
		batch = nil
		return nil
	}
	for i, body := range bodies {
		ev := &azeventhubs.EventData{Body: body, ContentType: ptr("application/json")}
		for {
			if batch == nil {
				b, err := p.NewEventDataBatch(ctx, nil)
				if err != nil {
					return sent, fmt.Errorf("new batch: %w", err)
				}
				batch = b
			}
			err := batch.AddEventData(ev, nil)
			if err == nil {
				break
			}
			if !errors.Is(err, azeventhubs.ErrEventDataTooLarge) {
				return sent, fmt.Errorf("event %d: %w", i, err)
			}
			if batch.NumEvents() == 0 {
				return sent, fmt.Errorf("event %d (%d bytes) is larger than the hub accepts", i, len(body))
			}
			if err := flush(); err != nil {
				return sent, err
			}
		}
	}
	return sent, flush()
}

func ptr[T any](v T) *T { return &v }
