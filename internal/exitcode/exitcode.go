// Package exitcode is the one home of syncd's exit codes (DESIGN.md §4)
// and of what counts as a successful run: the command exits with them, the
// engine and the daemon report runs with them, metrics and the run history
// label runs from them.
package exitcode

import "errors"

// The exit codes of the contract.
const (
	OK      = 0 // success
	Failure = 1 // runtime failure: a source or the API failed, a change failed, the state dir is unusable
	Usage   = 2 // bad configuration or usage
	Pending = 3 // --check: changes are pending
	Held    = 4 // removals over a budget were held back
)

// The outcomes of a run, as metrics and logs label them.
const (
	ResultSuccess = "success" // the run did its job; nothing failed or was held
	ResultHeld    = "held"    // the run did its job, but a safety rule held removals back
	ResultFailure = "failure" // a source, the API, the state or the configuration failed
)

// Result is the outcome of a run that ended with code: success for 0 and
// 3 (--check found changes: the run itself worked), held for 4, failure
// for anything else.
func Result(code int) string {
	switch code {
	case OK, Pending:
		return ResultSuccess
	case Held:
		return ResultHeld
	}
	return ResultFailure
}

// Succeeded tells whether a run that ended with code did its job (success
// or held): the runs "last success" means.
func Succeeded(code int) bool { return Result(code) != ResultFailure }

// Of is the exit code of a command that returned err: OK for nil; else
// the code of the first error in err's chain that says which it ends
// with (a method ExitCode() int, found with errors.As); else Failure.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var c interface{ ExitCode() int }
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return Failure
}
