package servertest

import (
	"crypto/x509"
	"testing"
	"time"
)

// The CA and server certificates of a fixture are cached with it (Cached)
// and used for as long as the cache lives: they must outlive it by far.
// Certificates valid for one day made every Samba and 389-ds test fail
// on a machine whose cache was a day old.
func TestCertificatesOutliveTheCache(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCA(dir, "test CA"); err != nil {
		t.Fatal(err)
	}
	ca, _, err := readCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	der, _, err := IssueCert(dir, "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	server, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().AddDate(1, 0, 0)
	for name, c := range map[string]*x509.Certificate{"CA": ca, "server": server} {
		if c.NotAfter.Before(later) {
			t.Errorf("the %s certificate expires %s, within a year", name, c.NotAfter)
		}
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: pool(ca), CurrentTime: later}); err != nil {
		t.Errorf("a year from now the server certificate does not verify: %v", err)
	}
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
