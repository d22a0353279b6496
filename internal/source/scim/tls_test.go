package scim

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/config"
)

// TestCAFile reaches the peer through a TLS proxy whose certificate only
// ca_file vouches for: verified with it, refused without it, accepted
// unverified only with insecure_skip_verify.
func TestCAFile(t *testing.T) {
	p := startPeer(t, genSeed(30, 3))
	target, _ := url.Parse(strings.TrimSuffix(p.URL, "/scim/v2"))
	proxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	defer proxy.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Certificate().Raw})
	if err := os.WriteFile(ca, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.SCIM{URL: proxy.URL + "/scim/v2", Token: peerToken, Timeout: config.Duration(5 * time.Second)}

	r, err := New("idp", cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Read without ca_file = %v, want a certificate error", err)
	}
	if r.Calls() > 2 { // /Users and /Groups are listed at the same time
		t.Errorf("%d calls: a certificate error must not be retried", r.Calls())
	}

	insecure := cfg
	insecure.InsecureSkipVerify = true
	r, err = New("idp", insecure, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if dir, err := r.Read(context.Background()); err != nil || len(dir.Groups) != 3 {
		t.Errorf("Read with insecure_skip_verify = %v, want success", err)
	}

	cfg.CAFile = ca
	r, err = New("idp", cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.Groups) != 3 {
		t.Errorf("%d groups through TLS, want 3", len(dir.Groups))
	}
}
