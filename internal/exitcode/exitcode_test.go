package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestResult(t *testing.T) {
	for code, want := range map[int]string{OK: ResultSuccess, Pending: ResultSuccess, Held: ResultHeld,
		Failure: ResultFailure, Usage: ResultFailure, 137: ResultFailure} {
		if got := Result(code); got != want {
			t.Errorf("Result(%d) = %q, want %q", code, got, want)
		}
		if Succeeded(code) != (want != ResultFailure) {
			t.Errorf("Succeeded(%d) = %v", code, Succeeded(code))
		}
	}
}

type coded struct{ code int }

func (c coded) Error() string { return "coded" }
func (c coded) ExitCode() int { return c.code }

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, OK},
		{errors.New("plain"), Failure},
		{coded{Usage}, Usage},
		{fmt.Errorf("wrapped: %w", coded{Held}), Held},
		{errors.Join(errors.New("first"), coded{Pending}), Pending},
	} {
		if got := Of(tc.err); got != tc.want {
			t.Errorf("Of(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
