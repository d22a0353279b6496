package main

import (
	"context"
	"fmt"
)

// Stubs for commands still being built; each moves to its own file.

func notYet(e env, name string) int {
	fmt.Fprintf(e.stderr, "syncd %s: not implemented yet\n", name)
	return exitUsage
}

func cmdSource(_ context.Context, e env, _ []string) int { return notYet(e, "source") }
