package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

const testSeed = `{"smeEnabled":true,
 "tokens":[{"token":"t1","admin":true,"write":true,"team":"acme"},{"token":"main","admin":true,"write":true,"team":""}],
 "users":[{"id":2,"name":"Alice","email":"alice@example.com","externalId":null,"role":"Registered","reputation":1}],
 "userGroups":[{"id":1,"name":"Platform","description":"","userIds":[2]}],
 "tags":[{"id":1,"name":"kubernetes","smeUserIds":[],"smeGroupIds":[]}]}`

func writeSeed(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(p, []byte(testSeed), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// started is an emulator run in-process: its base address and a stop
// function returning the exit code.
type started struct {
	addr string
	stop func() int
}

// start runs run() in a goroutine and waits for the "listening on" line.
func start(t *testing.T, args ...string) started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, args, pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no listening line (exit %d): %v; stderr: %s", <-code, err, stderr.String())
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("first line %q", line)
	}
	go io.Copy(io.Discard, pr)
	return started{addr: addr, stop: func() int { cancel(); return <-code }}
}

// checked returns a client whose exchanges are validated against
// openapi.json, going through base (nil: http.DefaultTransport).
func checked(t *testing.T, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: spectest.Transport(t, base)}
}

func get(t *testing.T, client *http.Client, url, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := checked(t, client.Transport).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func TestRunServesAndStops(t *testing.T) {
	s := start(t, "--listen", "127.0.0.1:0", "--seed", writeSeed(t))
	if !strings.HasPrefix(s.addr, "http://127.0.0.1:") {
		t.Errorf("address %q", s.addr)
	}
	if res := get(t, http.DefaultClient, s.addr+"/v3/teams/acme/users/me", "t1"); res.StatusCode != 200 {
		t.Errorf("GET me: %d", res.StatusCode)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("exit %d after cancel, want 0", code)
	}
}

func TestRunFlags(t *testing.T) {
	s := start(t, "--listen", "127.0.0.1:0", "--seed", writeSeed(t), "--burst-limit", "1", "--sme", "off")
	defer s.stop()
	get(t, http.DefaultClient, s.addr+"/api/v3/tags/1", "main")
	if res := get(t, http.DefaultClient, s.addr+"/api/v3/tags/1", "main"); res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Errorf("second call with --burst-limit 1: %d", res.StatusCode)
	}
	// The built-in seed serves when --seed is absent.
	d := start(t, "--listen", "127.0.0.1:0")
	defer d.stop()
	if res := get(t, http.DefaultClient, d.addr+"/api/v3/users/me", "demo-admin"); res.StatusCode != 200 {
		t.Errorf("built-in seed: %d", res.StatusCode)
	}
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"}, {"extra"}, {"--tls-cert", "x"}, {"--sme", "maybe"}, {"--empty-total-pages", "3"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	var out, errb bytes.Buffer
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"users":[{"id":2},{"id":2}]}`), 0o600)
	if code := run(context.Background(), []string{"--seed", bad, "--listen", "127.0.0.1:0"}, &out, &errb); code != exitError ||
		!strings.Contains(errb.String(), "duplicate user id 2") || out.Len() != 0 {
		t.Errorf("bad seed: exit %d, stderr %q, stdout %q", code, errb.String(), out.String())
	}
}

func TestRunStatePersists(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	s := start(t, "--listen", "127.0.0.1:0", "--seed", writeSeed(t), "--state", state)
	req, _ := http.NewRequest("POST", s.addr+"/api/v3/user-groups", strings.NewReader(`{"name":"Kept"}`))
	req.Header.Set("Authorization", "Bearer main")
	req.Header.Set("Content-Type", "application/json")
	res, err := checked(t, nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create: %d", res.StatusCode)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	seed, err := emulator.LoadSeed(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(seed.UserGroups) != 2 || seed.UserGroups[1].Name != "Kept" {
		t.Errorf("saved state: %+v", seed.UserGroups)
	}
	// The next run starts from the state, not the seed.
	s2 := start(t, "--listen", "127.0.0.1:0", "--seed", writeSeed(t), "--state", state)
	defer s2.stop()
	if res := get(t, http.DefaultClient, s2.addr+"/api/v3/user-groups/2", "main"); res.StatusCode != 200 {
		t.Errorf("group after restart: %d", res.StatusCode)
	}
}

func TestRunTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	s := start(t, "--listen", "127.0.0.1:0", "--seed", writeSeed(t), "--tls-cert", certFile, "--tls-key", keyFile)
	defer s.stop()
	if !strings.HasPrefix(s.addr, "https://") {
		t.Fatalf("address %q, want https", s.addr)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if res := get(t, client, s.addr+"/api/v3/teams/acme/users/me", "t1"); res.StatusCode != 200 {
		t.Errorf("GET over TLS: %d", res.StatusCode)
	}
}

// TestBinarySIGTERM builds the real command, starts it, and stops it with
// SIGTERM: it must print one line and exit 0.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "teams-emulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--seed", writeSeed(t))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	rd := bufio.NewReader(stdout)
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v; stderr %s", err, stderr.String())
	}
	addr := strings.TrimPrefix(strings.TrimSpace(line), "listening on ")
	if _, _, err := net.SplitHostPort(strings.TrimPrefix(addr, "http://")); err != nil || !strings.HasPrefix(line, "listening on http://") {
		t.Fatalf("line %q", line)
	}
	if res := get(t, http.DefaultClient, addr+"/api/v3/users/me", "main"); res.StatusCode != 200 {
		t.Errorf("GET me: %d", res.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(rd)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30 s after SIGTERM")
	}
	if len(rest) != 0 {
		t.Errorf("more than one line on stdout: %q", rest)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "teams-emulator test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
