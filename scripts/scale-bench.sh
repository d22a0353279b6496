#!/usr/bin/env bash
# Runs the benchmarks behind docs/scaling.md and prints each figure beside
# its goal or its floor, measured in the same run: these machines are
# shared and noisy, so compare figures of one run with each other.
#
#   scripts/scale-bench.sh [SIZE]
#
# SIZE picks the companies of BenchmarkScale by the start of their name,
# e.g. "users=100000,groups=10000,memberships=1000000,mappings=10000"
# (default: every size, about eight minutes on two cores). The scale runs
# start cmd/teams-emulator as a process of their own (the benchmark builds
# it), so that syncd's CPU and memory are measured alone.
#
# Needs: go; for the source dump, OpenLDAP's slapd and ldap-utils.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-}
cd "$root"

bench() { # PACKAGE PATTERN
	go test -run '^$' -bench "$2" -benchtime 1x -timeout 60m "$1" | grep -E '^Benchmark'
}

echo "# the whole engine through HTTP (steady, first run without state, cold apply)"
bench ./internal/sync "^BenchmarkScale\$/${size}"
echo "# throttled cold sync under the documented limits, against the floor they impose"
bench ./internal/sync '^BenchmarkColdSyncPacing$'
echo "# mapping 10,000 from: names to directory groups"
bench ./internal/sync '^BenchmarkMappingResolution$'
echo "# the state store: caching 100,000 matches, reading them back"
bench ./internal/state '^(BenchmarkPutUsers|BenchmarkCachedUsers)$'
echo "# reading a page of 100 groups of 100 members (MB/s), against encoding/json"
go test -run '^$' -bench '^BenchmarkReadGroupsPage$' -benchtime 2s ./internal/teams | grep -E '^Benchmark'
echo "# syncd source dump (the whole command) against ldapsearch on slapd, 15 rounds; the read alone"
go test -run '^$' -bench '^BenchmarkSourceDumpVsLdapsearch$' -benchtime 15x -timeout 60m ./cmd/syncd | grep -E '^Benchmark' ||
	echo "(skipped: needs OpenLDAP's slapd and ldap-utils)"
go test -run '^$' -bench '^BenchmarkReadVsLdapsearch$' -benchtime 10x ./internal/source/ldap | grep -E '^Benchmark' ||
	echo "(skipped: needs OpenLDAP's slapd and ldap-utils)"
