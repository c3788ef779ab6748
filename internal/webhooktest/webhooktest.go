// Package webhooktest is a webhook receiver for tests and the local demo:
// it verifies Standard Webhooks signatures with the specification's own Go
// library, de-duplicates on webhook-id as a careful receiver would, counts
// every POST per id, and can be told to fail in the ways real endpoints do.
package webhooktest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Attempt is one POST the receiver saw.
type Attempt struct {
	ID        string
	At        time.Time
	Status    int // what the receiver answered
	Verified  bool
	Timestamp string // webhook-timestamp
	Signature string // webhook-signature
}

// Receiver is a running webhook endpoint.
type Receiver struct {
	URL string

	srv     *http.Server
	secrets []*standardwebhooks.Webhook
	mu      sync.Mutex
	// Respond decides the answer to the n-th POST (0-based) of an id; nil
	// or a 0 status means 204.
	respond  func(id string, n int) (status int, retryAfter string)
	attempts []Attempt
	all      [][]byte
	bodies   map[string][]byte
	order    []string
	ok       map[string]int
	bad      int
}

// Options configure a receiver.
type Options struct {
	// Secrets verify signatures; empty accepts unsigned messages (Teams).
	Secrets []string
	// Respond scripts the answers; see Receiver.
	Respond func(id string, n int) (status int, retryAfter string)
}

// Start listens on a loopback port.
func Start(opts Options) (*Receiver, error) {
	r := &Receiver{respond: opts.Respond, bodies: map[string][]byte{}, ok: map[string]int{}}
	for _, s := range opts.Secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return nil, err
		}
		r.secrets = append(r.secrets, wh)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.URL = "http://" + ln.Addr().String() + "/alerts"
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// NewSecret returns a fresh whsec_ secret.
func NewSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	id := req.Header.Get("webhook-id")
	verified := len(r.secrets) == 0
	for _, wh := range r.secrets {
		if wh.Verify(body, req.Header) == nil {
			verified = true
			break
		}
	}
	r.mu.Lock()
	n := 0
	for _, a := range r.attempts {
		if a.ID == id {
			n++
		}
	}
	status, retryAfter := http.StatusNoContent, ""
	if !verified {
		status = http.StatusUnauthorized
		r.bad++
	} else if r.respond != nil {
		if s, ra := r.respond(id, n); s != 0 {
			status, retryAfter = s, ra
		}
	}
	r.attempts = append(r.attempts, Attempt{ID: id, At: time.Now(), Status: status, Verified: verified,
		Timestamp: req.Header.Get("webhook-timestamp"), Signature: req.Header.Get("webhook-signature")})
	if status/100 == 2 {
		r.all = append(r.all, body)
		if r.ok[id] == 0 {
			r.order = append(r.order, id)
			r.bodies[id] = body
		}
		r.ok[id]++
	}
	r.mu.Unlock()
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
}

// Delivered returns the distinct delivered messages in arrival order,
// decoded into T-shaped JSON values by the caller.
func (r *Receiver) Delivered() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]byte, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, r.bodies[id])
	}
	return out
}

// Bodies returns every body answered 2xx, duplicates and id-less messages
// (Teams) included, in arrival order.
func (r *Receiver) Bodies() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all)
}

// DeliveredIDs returns the ids of delivered messages in arrival order.
func (r *Receiver) DeliveredIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.order)
}

// SuccessfulPosts counts the 2xx answers given per id.
func (r *Receiver) SuccessfulPosts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.ok {
		out[k] = v
	}
	return out
}

// Attempts returns every POST seen.
func (r *Receiver) Attempts() []Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts)
}

// Unverified counts POSTs whose signature did not verify.
func (r *Receiver) Unverified() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}

// Decode unmarshals a delivered body.
func Decode[T any](body []byte) (T, error) {
	var v T
	err := json.Unmarshal(body, &v)
	return v, err
}

// FailFirst answers status to the first n POSTs of every id.
func FailFirst(n, status int, retryAfter time.Duration) func(string, int) (int, string) {
	return func(_ string, i int) (int, string) {
		if i < n {
			ra := ""
			if retryAfter > 0 {
				ra = strconv.Itoa(int(retryAfter / time.Second))
			}
			return status, ra
		}
		return 0, ""
	}
}

// Close stops the receiver.
func (r *Receiver) Close() { r.srv.Close() }
