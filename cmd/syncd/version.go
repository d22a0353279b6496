package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/syncd/syncd/internal/version"
)

// cmdVersion prints "syncd <version> (<go version>, <os>/<arch>)".
func cmdVersion(_ context.Context, e env, args []string) error {
	if err := parse(newFlagSet("version"), args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "syncd %s (%s, %s/%s)\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
