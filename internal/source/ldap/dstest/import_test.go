package dstest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A crashed import is retried on an emptied database; a failure that is
// not a crash is not.
func TestImportRetriesACrash(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	// A stand-in for ns-slapd (shell builtins only: the fresh-clone run has
	// nothing but go on PATH): the first import leaves a file and crashes,
	// the second finds the database empty and succeeds.
	fake := filepath.Join(dir, "ns-slapd")
	script := "#!/bin/sh\nif [ -e " + db + "/half ]; then echo 'not emptied'; exit 3; fi\n" +
		"if [ -e " + dir + "/crashed ]; then exit 0; fi\n: > " + dir + "/crashed\n: > " + db + "/half\nkill -SEGV $$\n"
	if err := os.WriteFile(fake, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := importData(fake, dir, db, "data.ldif"); err != nil {
		t.Fatalf("importData after one crash: %v", err)
	}

	failing := filepath.Join(dir, "failing")
	if err := os.WriteFile(failing, []byte("#!/bin/sh\necho bad config >&2\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := importData(failing, dir, db, "data.ldif"); err == nil || !strings.Contains(err.Error(), "bad config") {
		t.Errorf("importData of a failing import = %v, want its error", err)
	}
}
