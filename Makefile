# The README's commands.


.PHONY: test build example bench

build:
	go build -o bin/planbot ./cmd/planbot

test:
	go vet ./...
	go test -count=1 -timeout 20m ./...

bench:
	go test -run '^$$' -bench . -benchmem ./...
