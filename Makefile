# Developer tasks. Building, running and testing need only the go command (see README.md).

FUZZTIME ?= 30s

.PHONY: fuzz

# fuzz runs every fuzz target for FUZZTIME, one after another; FUZZ=regexp picks some.
fuzz:
	FUZZTIME=$(FUZZTIME) sh scripts/fuzz.sh
