package servertest

import (
	"testing"
)

// recorder stands in for a test, to see whether Require skips or fails.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                  {}
func (r *recorder) Skip(args ...any)         { r.skipped = args[0].(string) }
func (r *recorder) Fatal(args ...any)        { r.failed = args[0].(string) }
func (r *recorder) Fatalf(string, ...any)    { r.failed = "fatalf" }
func (r *recorder) Skipf(f string, _ ...any) { r.skipped = f }

func TestRequireSkipsOrFails(t *testing.T) {
	const install = "apt-get install no-such-package"
	t.Setenv(RequireEnv, "")
	r := &recorder{TB: t}
	Require(r, "Nothing", install, "sh", "syncd-no-such-program")
	if r.skipped == "" || r.failed != "" {
		t.Fatalf("without %s: skipped %q failed %q, want a skip", RequireEnv, r.skipped, r.failed)
	}
	want := "Nothing not installed (syncd-no-such-program missing): " + install
	if r.skipped != want {
		t.Errorf("skip message %q, want %q", r.skipped, want)
	}
	t.Setenv(RequireEnv, "1")
	r = &recorder{TB: t}
	Require(r, "Nothing", install, "syncd-no-such-program")
	if r.failed != want || r.skipped != "" {
		t.Errorf("with %s: failed %q skipped %q, want a failure", RequireEnv, r.failed, r.skipped)
	}
	r = &recorder{TB: t}
	if paths := Require(r, "A shell", install, "sh"); paths["sh"] == "" || r.failed != "" || r.skipped != "" {
		t.Errorf("sh: paths %v, failed %q skipped %q", paths, r.failed, r.skipped)
	}
}
