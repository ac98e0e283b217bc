#!/bin/sh
# Runs every fuzz target of the module, one at a time, for FUZZTIME each (default 30s), with
# FUZZPARALLEL workers (default 1). FUZZ, a regular expression, picks targets by package or name.
# Exits non-zero when any target fails; a crashing input is saved under the package's
# testdata/fuzz/<Target>/ and then runs with every `go test`.
#
# Targets are found by their declarations rather than `go test -list`, which would build the tests
# of every package first.
set -eu
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}
parallel=${FUZZPARALLEL:-1}
pick=${FUZZ:-.}

targets=$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' cmd internal |
	sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#\1 \2#' | sort -u | grep -E -- "$pick" || true)
if [ -z "$targets" ]; then
	echo "no fuzz targets match $pick" >&2
	exit 1
fi

failed=""
n=0
start=$(date +%s)
while read -r dir name; do
	n=$((n + 1))
	echo "=== ./$dir $name ($fuzztime)"
	if ! go test "./$dir" -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -parallel "$parallel"; then
		failed="$failed ./$dir:$name"
	fi
done <<EOT
$targets
EOT

echo "fuzzed $n targets in $(($(date +%s) - start)) s"
if [ -n "$failed" ]; then
	echo "FAILED:$failed" >&2
	exit 1
fi
