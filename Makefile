# RAFAEL: make demo runs the main job, make test runs the tests.
SHELL     := /bin/bash
GO        ?= go
FUZZTIME  ?= 60s
BENCHCOUNT ?= 5
APT_WAIT  ?= 120

.PHONY: all test demo bench fuzz fuzz-guardian lint services chromium report-html rafael install

all: lint test

## test: vet and run every test with the race detector: the root module's, and the nested
## modules' (examples_test/: the walkthroughs; clients/: real clients against the services;
## genome/genomegrpc, genome/genomeotel: the gRPC and OpenTelemetry adapters; faults/chaosmesh: the
## Chaos Mesh backend, tested with controller-runtime's fake client), which hold the
## clients, drivers and SDKs the library itself does not require; starts the services first
test: services chromium
	$(GO) vet ./...
	$(GO) test -race -timeout 10m ./...
	cd examples_test && $(GO) vet ./... && $(GO) test -race -timeout 10m ./...
	cd examples_test && $(GO) test -count=1 -timeout 5m -run '^(TestWorkersChampionRidesOutRealMemoryPressure|TestWorkersRideOutAKernelEnforcedLimit)$$' .
	cd clients && $(GO) vet ./... && $(GO) test -race -timeout 10m ./...
	cd genome/genomegrpc && $(GO) vet ./... && $(GO) test -race -timeout 5m ./...
	cd genome/genomeotel && $(GO) vet ./... && $(GO) test -race -timeout 5m ./...
	cd faults/chaosmesh && $(GO) vet ./... && $(GO) test -race -timeout 5m ./...

## rafael: build the rafael CLI (cmd/rafael) as ./rafael
rafael:
	$(GO) build -o rafael ./cmd/rafael

## install: install the rafael CLI into $(GOBIN) or $(GOPATH)/bin
install:
	$(GO) install ./cmd/rafael

DEMO := $(CURDIR)/rafael-out/demo

## demo: run the walkthroughs (examples_test/) with evolution shown per generation; leave the
## reports, a merged summary and a signed audit log in rafael-out/demo, and verify the log
demo: services
	@rm -rf $(DEMO) && mkdir -p $(DEMO)/guardian
	@$(GO) build -o $(DEMO)/rafael ./cmd/rafael
	@$(DEMO)/rafael keygen -o $(DEMO)/signing-key.pem >/dev/null
	@echo '{"rules": {"maxAttempts": 20}}' > $(DEMO)/guardian/guardian.json
	@echo "rafael demo: running the walkthroughs (about a minute); the approval walkthrough proposes, approves and adopts a change"
	@set -o pipefail; RAFAEL_OUT=$(DEMO)/reports RAFAEL_DIR=$(DEMO)/guardian RAFAEL_UPDATE=true \
		RAFAEL_SIGNING_KEY=$(DEMO)/signing-key.pem RAFAEL_AUDIT_KEYS=$(DEMO)/signing-key.pem.pub \
		$(GO) -C examples_test test -count=1 -v . 2>&1 \
		| grep -E 'rafael: .*(generation [0-9]+:|evolved in|score|guardian|approved|starting from the adopted|on the (simulated|wire) tier, seed|the adversary found|adversarial rounds ended|metastable)|^(--- |ok|FAIL)' \
		| sed -E 's/^ +//; s/^[a-z_]+\.go:[0-9]+: //'
	@echo; echo "rafael demo: the runs (merged reports in $(DEMO)/merged):"; $(DEMO)/rafael report merge $(DEMO)/reports -o $(DEMO)/merged -table
	@echo; echo "rafael demo: the merged HTML report: $(DEMO)/merged/summary.html"
	@echo; echo "rafael demo: pending proposals in $(DEMO)/guardian:"; $(DEMO)/rafael approve -dir $(DEMO)/guardian -trust $(DEMO)/signing-key.pem.pub | sed 's/^/  /'
	@echo; echo "rafael demo: audit log $(DEMO)/guardian/audit.jsonl:"; \
		$(DEMO)/rafael audit verify -dir $(DEMO)/guardian -key $(DEMO)/signing-key.pem.pub

## bench: side-by-side success-path benchmarks (nested bench/ module), then the harness's trials per second
bench:
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) .
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./internal/trial/ ./harness/

## fuzz: fuzz the guardian's parsers, genome JSON decoding, the vault's scanner and report JSON, for $(FUZZTIME) each
fuzz: fuzz-guardian
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./genome/
	$(GO) test -run '^$$' -fuzz '^FuzzScanner$$' -fuzztime $(FUZZTIME) ./vaultdata/
	$(GO) test -run '^$$' -fuzz '^FuzzReportJSON$$' -fuzztime $(FUZZTIME) ./report/

## fuzz-guardian: fuzz the audit log, checkpoint, approval, guardian.json and PEM key parsers for $(FUZZTIME) each
fuzz-guardian:
	for f in FuzzVerifyLog FuzzCheckpoint FuzzApproval FuzzConfig FuzzParseKeys; do \
		$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) ./guardian/ || exit 1; \
	done

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go vet, staticcheck (fetched through the module proxy), on every module
lint:
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	cd clients && $(GO) vet ./...
	cd examples_test && $(GO) vet ./...
	cd genome/genomegrpc && $(GO) vet ./...
	cd genome/genomeotel && $(GO) vet ./...
	cd faults/chaosmesh && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd clients && $(GO) run $(STATICCHECK) ./...
	cd examples_test && $(GO) run $(STATICCHECK) ./...
	cd genome/genomegrpc && $(GO) run $(STATICCHECK) ./...
	cd genome/genomeotel && $(GO) run $(STATICCHECK) ./...
	cd faults/chaosmesh && $(GO) run $(STATICCHECK) ./...

# up PORT: whether something listens on 127.0.0.1:PORT.
up = (exec 3<>/dev/tcp/127.0.0.1/$(1)) 2>/dev/null
# listening NAME PORT: wait (bounded, 30 s) for a service started in the background to listen.
listening = { for i in $$(seq 60); do if $(call up,$(2)); then echo "$(1): started"; exit 0; fi; sleep 0.5; done; \
	echo "$(1): started, but not listening on 127.0.0.1:$(2) after 30 s; its tests will skip"; }

## services: start PostgreSQL (5432), MariaDB (3306), Redis (6379) and NATS (4222) on 127.0.0.1
## when they are down; one line per service
services:
	@if $(call up,5432); then echo "postgresql: up"; \
	elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && echo "postgresql: started"; \
	else echo "postgresql: not installed here; its tests will skip"; fi
	@if $(call up,3306); then echo "mariadb: up"; \
	elif [ -x /usr/sbin/mariadbd ]; then \
		if [ ! -d /run/mysqld ] && id mysql >/dev/null 2>&1; then install -d -o mysql -g mysql /run/mysqld; fi; \
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd && $(call listening,mariadb,3306); \
	else echo "mariadb: not installed here; its tests will skip"; fi
	@if $(call up,6379); then echo "redis: up"; \
	elif command -v redis-server >/dev/null 2>&1; then \
		mkdir -p /var/lib/redis /var/log/redis; \
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
			--dir /var/lib/redis --logfile /var/log/redis/ci.log && echo "redis: started"; \
	else echo "redis: not installed here; its tests will skip"; fi
	@if $(call up,4222); then echo "nats: up"; \
	elif [ -x /usr/sbin/nats-server ]; then \
		mkdir -p /var/lib/nats-server; \
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
			-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log && $(call listening,nats,4222); \
	else echo "nats: not installed here; its tests will skip"; fi

## chromium: install headless Chromium from Debian when no chromium binary is found (report's HTML
## test uses it), waiting up to APT_WAIT seconds for an apt or dpkg lock another process holds
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then echo "chromium: present"; \
	elif ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ]; then \
		echo "chromium: not installed, and installing it needs apt-get as root; the HTML rendering test will skip"; \
	elif err=$$(APT_WAIT=$(APT_WAIT) .ci/apt-install chromium 2>&1 >/dev/null); then echo "chromium: installed"; \
	else echo "chromium: cannot be installed ($$err); the HTML rendering test will skip"; fi

## report-html: render the fixture report's HTML in headless Chromium, check its charts, keep the screenshot under rafael-out/
report-html: chromium
	@mkdir -p $(CURDIR)/rafael-out/_artifacts
	@set -o pipefail; $(GO) test -count=1 -v -run '^TestHTMLInChromium$$' -artifacts -outputdir=$(CURDIR)/rafael-out ./report/ \
		| grep -E 'screenshot|^ *(--- |ok|FAIL)' | sed -E 's/^ +//'
