# RAFAEL: make demo runs the main job, make test runs the tests.
GO        ?= go
FUZZTIME  ?= 60s
BENCHCOUNT ?= 5

.PHONY: all test demo bench fuzz lint services

all: lint test

## test: vet and run every test with the race detector
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 10m ./...

## demo: run the walkthroughs (a placeholder until the examples issue lands)
demo:
	@echo "rafael demo: the walkthroughs (examples_test/) arrive with the examples issue."
	@echo "Until then, this runs the genome package's examples:"
	$(GO) test -run Example -v ./genome/ | grep -E '^(=== RUN|--- |ok|PASS|FAIL)'

## bench: side-by-side success-path benchmarks (nested bench/ module)
bench:
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) .

## fuzz: fuzz genome JSON decoding for $(FUZZTIME)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./genome/

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go vet, staticcheck (fetched through the module proxy)
lint:
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
