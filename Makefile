# The README's commands.


.PHONY: test build example bench fuzz idle-rss

# FUZZTIME is how long `make fuzz` runs each fuzz target. FUZZMINIMIZETIME
# is how long the fuzzer may shrink an input it keeps: a short run spends
# it better on new inputs, since some seeds are captured webhook payloads
# of tens of kilobytes.
FUZZTIME ?= 5s
FUZZMINIMIZETIME ?= 0s

build:
	go build -tags nomsgpack -o bin/planbot ./cmd/planbot
	go build -o bin/planbot-sandbox ./cmd/planbot-sandbox

test:
	go vet ./...
	$(MAKE) fuzz
	go test -count=1 -timeout 20m ./...

# fuzz runs every fuzz target for FUZZTIME, in turn (see .ci/fuzz).
fuzz:
	FUZZTIME=$(FUZZTIME) FUZZMINIMIZETIME=$(FUZZMINIMIZETIME) bash .ci/fuzz

bench:
	go test -run '^$$' -bench . -benchmem -timeout 60m ./...


# idle-rss builds planbot as `go build` does and as the Dockerfile does,
# starts `planbot server` from each and reports its memory 5 s later
# (docs/performance.md). `make bench` runs it too.
idle-rss:
	go test -run '^$$' -bench IdleRSS -benchtime=1x ./cmd/planbot
