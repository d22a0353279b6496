#!/usr/bin/env bash
# Proves the README's promise that `go test ./...` passes on a fresh clone
# with nothing but Go: clones the committed HEAD into a new directory with
# no ../shared beside it, runs the suite with a PATH that holds only `go`
# (no slapd, Samba, 389-ds, node, promtool, chromium... reachable that
# way), and checks that it passes and that what could not run said so in
# one skip line each. Prints those reasons, counted.
#
#   scripts/fresh-clone-test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
gobin=$(command -v go)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/syncd"
mkdir "$work/bin"
ln -s "$gobin" "$work/bin/go"
cd "$work/syncd"
status=0
env -i HOME="$HOME" PATH="$work/bin" GOPROXY="$(go env GOPROXY)" GOFLAGS="$(go env GOFLAGS)" \
	go test -count=1 -v ./... >"$work/log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
	grep -E -B 20 '^(--- FAIL|FAIL)' "$work/log" | tail -n 80 >&2
	echo "fresh-clone-test: go test ./... failed on a fresh clone (exit $status)" >&2
	exit 1
fi
# A skip's reason is the line just before its "--- SKIP".
reasons=$(grep -B1 -- '--- SKIP' "$work/log" | grep -v -E '^[[:space:]]*(--- |=== |--$)' |
	sed -E 's/^[[:space:]]*[A-Za-z0-9_]+\.go:[0-9]+: //' | cut -c1-160 | sort | uniq -c | sort -rn)
echo "fresh clone: go test ./... passed; skipped, with the reason given:"
echo "$reasons"
if ! grep -q 'spectest: the Teams API OpenAPI document is not available' <<<"$reasons"; then
	echo "fresh-clone-test: no test said it skipped for want of openapi.json" >&2
	exit 1
fi
