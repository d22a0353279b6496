package exitcode

import "testing"

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
