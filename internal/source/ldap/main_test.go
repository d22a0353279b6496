package ldap_test

import (
	"os"
	"testing"

	"github.com/syncd/syncd/internal/source/ldap/dstest"
	"github.com/syncd/syncd/internal/source/ldap/sambatest"
)

// TestMain stops the real directory servers the tests of this binary
// shared (each is started by the first test that needs it).
func TestMain(m *testing.M) {
	code := m.Run()
	sambatest.StopShared()
	dstest.StopShared()
	os.Exit(code)
}
