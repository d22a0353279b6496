package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/termsafe"
)

// A command returns one error; run prints it and exits with its code
// (exitcode.Of). An error of no type below is a runtime failure: exit 1.

// usageError is a command line syncd cannot run: exit 2, printed with the
// command's usage line.
type usageError struct{ msg string }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func (e *usageError) Error() string { return e.msg }
func (e *usageError) ExitCode() int { return exitcode.Usage }

// configError is a configuration syncd cannot use: exit 2. A file that
// does not load (path set) holds every problem found, printed one a line
// with its file:line:column.
type configError struct {
	err  error
	path string
}

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }
func (e *configError) ExitCode() int { return exitcode.Usage }

// exitError ends a command with code. Without err, what the command
// printed already says why (a report showing pending or held changes, or
// failures), and nothing more is printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// exitWith ends a command with code and no further message.
func exitWith(code int) error {
	if code == exitcode.OK {
		return nil
	}
	return &exitError{code: code}
}

// runFailed ends a command whose run wrote its report with the run's exit
// code and, for a failure or a hold, the one line on stderr the README
// promises: what went wrong, the report having the rest.
func runFailed(r *report.Report, code int) error {
	var msg string
	switch {
	case code == exitcode.Failure && len(r.Errors) > 0:
		msg = r.Errors[0]
		if n := len(r.Errors) - 1; n > 0 {
			msg += fmt.Sprintf(" (and %s more; the report lists them)", plural.Count(n, "error"))
		}
	case code == exitcode.Failure:
		msg = plural.Count(r.Summary.ChangesFailed, "change") + " failed; the report lists them"
	case code == exitcode.Held:
		msg = plural.Count(r.Summary.ChangesHeld, "change") + " held back by a safety rule (removals over a budget, or a group read empty): review with syncd approve --list"
	default:
		return exitWith(code)
	}
	return &exitError{code: code, err: errors.New(msg)}
}

// printError writes err for a person: each error it joins on a line of
// its own, after "syncd <command>: ". Messages may carry what a directory
// or the API said, so terminal controls in them are shown escaped.
func printError(w io.Writer, prefix string, err error) {
	var ce *configError
	var ee *exitError
	switch {
	case errors.As(err, &ee) && ee.err == nil:
	case errors.As(err, &ce) && ce.path != "":
		problems := config.Errors(ce.err)
		for _, p := range problems {
			fmt.Fprintln(w, termsafe.String(p.Error()))
		}
		fmt.Fprintf(w, "%s: %s: %s found\n", prefix, ce.path, plural.Count(len(problems), "problem"))
	default:
		for _, e := range config.Errors(err) {
			lines := strings.Split(e.Error(), "\n")
			for i, line := range lines {
				if i == 0 {
					line = prefix + ": " + line
				}
				fmt.Fprintln(w, termsafe.String(line))
			}
		}
	}
}
