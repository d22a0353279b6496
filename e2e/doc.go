// Package e2e runs the syncd binary end to end against a real OpenLDAP
// slapd and the Teams API v3 emulator (in the test process, on a real
// loopback HTTP server), the way an admin would run it.
//
// The tests build ./cmd/syncd once (TestMain) and skip when slapd is not
// installed, unless SYNCD_REQUIRE_SERVERS is set (CI), where they fail.
package e2e
