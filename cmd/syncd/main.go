// Command syncd keeps Stack Overflow for Teams user groups and tag SMEs in
// step with a company directory. main only parses arguments and hands off.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/syncd/syncd/internal/exitcode"
)

// env is what a command may touch of the outside world.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

type command func(ctx context.Context, e env, args []string) int

var commands = map[string]command{
	"sync":        cmdSync,
	"apply":       cmdApply,
	"run":         cmdRun,
	"validate":    cmdValidate,
	"source":      cmdSource,
	"explain":     cmdExplain,
	"version":     cmdVersion,
	"healthcheck": cmdHealthcheck,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitcode.Usage
		}
		return exitcode.OK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "syncd: unknown command %q\n", args[0])
		usage(e.stderr)
		return exitcode.Usage
	}
	return cmd(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: syncd <command> [flags]

commands:
  sync         plan (and with --apply, apply) one sync; dry run by default
  apply        apply a plan saved with sync --plan-out, if Teams has not drifted
  run          daemon: sync on the configured schedule and serve HTTP
  validate     check the configuration (--connect also probes LDAP and the token)
  source dump  print what syncd reads from the directory
  explain      why a person is or is not in each managed group / SME list
  healthcheck  exit 0 when the daemon's /healthz answers
  version      print the version

Run 'syncd <command> -h' for the flags of a command.
`)
}
