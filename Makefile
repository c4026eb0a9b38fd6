# The README's commands.


.PHONY: test build example bench fuzz

build:
	go build -o bin/planbot ./cmd/planbot
	go build -o bin/planbot-sandbox ./cmd/planbot-sandbox

test:
	go vet ./...
	go test -count=1 -timeout 20m ./...

bench:
	go test -run '^$$' -bench . -benchmem ./...

# A few seconds of each fuzz target; `go test -fuzz` takes one target and
# one package at a time.
FUZZTIME ?= 10s
fuzz:
	go test -run '^$$' -fuzz '^FuzzParseRepo$$' -fuzztime $(FUZZTIME) ./config
