package tlsconfig_test

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/syncd/syncd/internal/tlsconfig"
)

// caFileOf writes the test server's certificate as a PEM CA file.
func caFileOf(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTransportTrust(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	ca := caFileOf(t, srv)
	for _, c := range []struct {
		name     string
		caFile   string
		insecure bool
		ok       bool
	}{
		{"system CAs only", "", false, false},
		{"ca_file", ca, false, true},
		{"insecure_skip_verify", "", true, true},
		{"both", ca, true, true},
	} {
		tr, err := tlsconfig.Transport(c.caFile, c.insecure)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		res, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err == nil {
			res.Body.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: GET: %v, want success %v", c.name, err, c.ok)
		}
		tr.CloseIdleConnections()
	}
}

func TestClientSettings(t *testing.T) {
	c, err := tlsconfig.Client("", false)
	if err != nil {
		t.Fatal(err)
	}
	if c.MinVersion != tls.VersionTLS12 || c.InsecureSkipVerify || c.RootCAs != nil {
		t.Errorf("Client(\"\", false) = min %x, insecure %v, roots %v; want TLS 1.2, verified, the system's",
			c.MinVersion, c.InsecureSkipVerify, c.RootCAs)
	}
	if c, _ := tlsconfig.Client("", true); !c.InsecureSkipVerify {
		t.Error("insecure not carried")
	}
	tr, err := tlsconfig.Transport("", false)
	if err != nil || tr == http.DefaultTransport {
		t.Fatalf("Transport with nothing configured: %v, want a copy of the default", err)
	}
	if c := tr.TLSClientConfig; c != nil && (c.InsecureSkipVerify || c.RootCAs != nil) {
		t.Errorf("Transport with nothing configured: insecure %v, roots %v; want the default's", c.InsecureSkipVerify, c.RootCAs)
	}
}

func TestClientBadCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := tlsconfig.Client(notPEM, false)
	if !errors.Is(err, tlsconfig.ErrNoCertificate) || err.Error() != notPEM+" holds no PEM certificate" {
		t.Errorf("file without PEM: %v", err)
	}
	if _, err := tlsconfig.Transport(notPEM, true); !errors.Is(err, tlsconfig.ErrNoCertificate) {
		t.Errorf("Transport, file without PEM: %v", err)
	}
	if _, err := tlsconfig.Client(filepath.Join(dir, "missing.pem"), false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
