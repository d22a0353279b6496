package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/version"
)

// cmdVersion prints "syncd <version> (<go version>, <os>/<arch>)".
func cmdVersion(_ context.Context, e env, args []string) int {
	if len(args) > 0 {
		fmt.Fprintf(e.stderr, "usage: syncd version (takes no arguments, got %q)\n", args[0])
		return exitcode.Usage
	}
	fmt.Fprintf(e.stdout, "syncd %s (%s, %s/%s)\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitcode.OK
}
