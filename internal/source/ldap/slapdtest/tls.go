package slapdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certLife is how long test certificates stay valid. The Samba and 389-ds
// fixtures are built once and cached (servertest.Cached) with their CA and,
// for 389-ds, its server certificate: certificates that expired after a day
// made every test of those servers fail on a machine whose cache was older.
const certLife = 10 * 365 * 24 * time.Hour

// writeTLS makes a CA and a server certificate for 127.0.0.1 and localhost
// signed by it, and writes ca.pem, server.pem and server.key into dir.
func writeTLS(dir string) error {
	caCert, caKey, caDER, err := NewCA("slapdtest CA")
	if err != nil {
		return err
	}
	der, key, err := IssueServerCert(caCert, caKey, "localhost", "127.0.0.1")
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	files := map[string]*pem.Block{
		"ca.pem":     {Type: "CERTIFICATE", Bytes: caDER},
		"server.pem": {Type: "CERTIFICATE", Bytes: der},
		"server.key": {Type: "PRIVATE KEY", Bytes: keyDER},
	}
	for name, block := range files {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// IssueServerCert makes a server certificate signed by the CA for the given
// host names and IP addresses, and returns it (DER) with its key.
func IssueServerCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, names ...string) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := SignServerCert(ca, caKey, &key.PublicKey, names...)
	return der, key, err
}

// SignServerCert makes a server certificate for a public key, signed by the
// CA, for the given host names and IP addresses (DER).
func SignServerCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, pub any, names ...string) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(certLife),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
}

// NewCA makes a self-signed CA certificate (also used by tests that need a
// wrong CA).
func NewCA(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certLife),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, der, err
}

// WriteCAFile writes a fresh, unrelated CA certificate to path: a CA that
// must not be trusted for the server.
func WriteCAFile(path string) error {
	_, _, der, err := NewCA("unrelated CA")
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}
