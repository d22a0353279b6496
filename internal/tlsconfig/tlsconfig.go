// Package tlsconfig builds the TLS settings of syncd's clients (the Teams
// API, LDAP and SCIM sources) from their ca_file and insecure_skip_verify
// keys, the same way for each.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// ErrNoCertificate is returned for a CA file that holds no PEM
// certificate.
var ErrNoCertificate = errors.New("holds no PEM certificate")

// Client returns a client's TLS settings: TLS 1.2 at least; the system's
// CAs, plus those of caFile when it is given; verification skipped only
// when insecure says so (a setting the user names, never a fallback).
// Errors name the file but not the configuration key; callers add it.
func Client(caFile string, insecure bool) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // only when configured by name
	if caFile == "" {
		return c, nil // nil RootCAs: the system's
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %w", caFile, ErrNoCertificate)
	}
	c.RootCAs = pool
	return c, nil
}

// Transport returns a copy of http.DefaultTransport with Client's
// settings. With neither a CA file nor insecure it keeps the default's
// own TLS settings.
func Transport(caFile string, insecure bool) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if caFile == "" && !insecure {
		return t, nil
	}
	c, err := Client(caFile, insecure)
	if err != nil {
		return nil, err
	}
	t.TLSClientConfig = c
	return t, nil
}

// VerifyFailed tells a certificate that did not verify (an unknown CA, a
// name that does not match, an expired certificate): no retry mends it,
// and the fix is the configuration's (ca_file), not the network's.
func VerifyFailed(err error) bool {
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownAuth) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify)
}
