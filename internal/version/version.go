// Package version holds the build version of syncd, set at link time with
// -ldflags "-X github.com/syncd/syncd/internal/version.Version=v1.2.3".
package version

import "runtime/debug"

// Version is the release version; "dev" for local builds.
var Version = "dev"

// String returns the version, falling back to the module version recorded by
// the Go toolchain when no -X flag was given.
func String() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}

// UserAgent is the default User-Agent sent to the Teams API.
func UserAgent() string { return "syncd/" + String() }
