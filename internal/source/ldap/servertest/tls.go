package servertest

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// WriteCA makes a CA for a test server and writes ca.pem and ca.key into
// dir; IssueCert signs server certificates with it.
func WriteCA(dir, name string) error {
	_, key, der, err := slapdtest.NewCA(name)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := WritePEM(filepath.Join(dir, "ca.pem"), "CERTIFICATE", der); err != nil {
		return err
	}
	return WritePEM(filepath.Join(dir, "ca.key"), "PRIVATE KEY", keyDER)
}

// IssueCert signs a server certificate for names (host names and IP
// addresses) with the CA in dir, and returns it (DER) with its key.
func IssueCert(dir string, names ...string) ([]byte, *ecdsa.PrivateKey, error) {
	ca, key, err := readCA(dir)
	if err != nil {
		return nil, nil, err
	}
	return slapdtest.IssueServerCert(ca, key, names...)
}

// SignCSR signs a certificate request (DER) from a server that made its
// own key (389-ds keeps its key in an NSS database) for names.
func SignCSR(dir string, csrDER []byte, names ...string) ([]byte, error) {
	ca, key, err := readCA(dir)
	if err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, err
	}
	return slapdtest.SignServerCert(ca, key, csr.PublicKey, names...)
}

func readCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("the CA files hold no PEM")
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("the CA key is not ECDSA")
	}
	return ca, key, nil
}

// WritePEM writes one PEM block, readable by the owner only.
func WritePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// WriteServerCert issues a certificate for names from the CA in caDir and
// writes it and its key as PEM to certFile and keyFile.
func WriteServerCert(caDir, certFile, keyFile string, names ...string) error {
	der, key, err := IssueCert(caDir, names...)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := WritePEM(certFile, "CERTIFICATE", der); err != nil {
		return err
	}
	return WritePEM(keyFile, "PRIVATE KEY", keyDER)
}
