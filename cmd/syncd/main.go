// Command syncd keeps Stack Overflow for Teams user groups and tag SMEs in
// step with a company directory. main only parses arguments, loads the
// configuration, wires the dependencies and turns the one error a command
// returns into one message and one exit code.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// env is what a command may touch of the outside world.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run runs the command args name and returns its exit code, having
// printed what the command returned (finish).
func run(ctx context.Context, args []string, e env) int {
	c, rest, err := lookup(args)
	if err == nil {
		err = c.run(ctx, e, rest)
	}
	return finish(e, c, err)
}
