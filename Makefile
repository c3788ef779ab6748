# Tenantwatch. `make run` shows it working locally; `make test` runs every test.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
AZURITE := node_modules/.bin/azurite-table

.PHONY: all build run test race bench fuzz package tools clean

all: build

# The Function App's worker: a static Linux binary at the app root.
build:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o handler .

# Azurite, the Table Storage emulator, pinned in package-lock.json.
tools: $(AZURITE)
$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Replays the bundled samples through a real handler on Azurite and prints the alerts.
run: tools
	$(GO) build -ldflags '$(LDFLAGS)' -o .bin/handler .
	./.bin/handler demo

test: tools
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

# Every test with the race detector, the handler processes of the end-to-end tests included.
race: tools
	GOFLAGS=-race $(GO) test -race -count=1 -timeout 30m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Longer fuzzing of every parser of untrusted input (the seeds run in `make test`).
FUZZTIME ?= 30s
FUZZ := ./internal/signin:FuzzParseBody ./internal/signin:FuzzEventTime \
	./internal/funcs:FuzzEventBodies ./internal/funcs:FuzzDecodeRequest ./internal/funcs:FuzzUnquote \
	./internal/baseline:FuzzKeyRoundTrip ./internal/baseline:FuzzDecodeKey \
	./internal/alert:FuzzParseRetrySchedule ./internal/alert:FuzzTeamsMessage
fuzz:
	@for t in $(FUZZ); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 3s $$pkg || exit 1; \
	done

package: build
	$(GO) run ./internal/pack/packcmd -root . -out dist/tenantwatch.zip

clean:
	rm -rf handler .bin dist
