# The README's commands.


.PHONY: test build example bench

build:
	go build -o bin/planbot ./cmd/planbot
	go build -o bin/planbot-sandbox ./cmd/planbot-sandbox

test:
	go vet ./...
	go test -count=1 -timeout 20m ./...

bench:
	go test -run '^$$' -bench . -benchmem ./...
