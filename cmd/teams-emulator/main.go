// Command teams-emulator serves an in-memory Stack Overflow for Teams API
// v3 (users, user groups, tags, SMEs) for local trials, demos and tests.
//
//	teams-emulator --listen 127.0.0.1:8080 --seed seed.json [--tls-cert F --tls-key F]
//
// It prints one line, "listening on http(s)://ADDR", once it accepts
// connections, and stops cleanly on SIGTERM or SIGINT.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
