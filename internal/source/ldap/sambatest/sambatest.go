// Package sambatest runs a real Active Directory domain controller (Samba
// 4 as an AD DC) for tests, loaded with the directory of Fixture. The
// domain is provisioned and loaded once into a cache directory (servertest
// .Cached); each test binary copies it and starts its own samba on a
// loopback address of its own (Samba's LDAP ports cannot be moved: 389,
// 636, 3268, 3269), with a certificate from a CA made for the domain.
// Nothing listens beyond that address; no systemd is involved.
package sambatest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/source/ldap/servertest"
)

// The domain.
const (
	Realm    = "CORP.EXAMPLE.ORG"
	Domain   = "CORP"
	BaseDN   = "DC=corp,DC=example,DC=org"
	AdminUPN = "Administrator@corp.example.org"
	AdminPW  = "Adm1n-Secret-2024!"
)

// The account syncd reads with: an ordinary domain user, no rights beyond
// those every authenticated user has.
const (
	ServiceDN        = "CN=svc-syncd,OU=Service Accounts," + BaseDN
	ServiceUPN       = "svc-syncd@corp.example.org"
	ServiceDownLevel = `CORP\svc-syncd`
	ServicePW        = "Syncd-Reader-2024!"
)

// Install is what to install when Samba is missing.
const Install = "apt-get install samba samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind ldb-tools"

// harnessVersion changes when the way the domain is built changes.
const harnessVersion = "sambatest 3" // 2: a CA valid for ten years, not one day; 3: passwords never expire

// Server is a running domain controller.
type Server struct {
	IP       string
	URL      string // ldap://IP (a simple bind needs StartTLS here)
	LDAPSURL string // ldaps://IP
	GCURL    string // ldap://IP:3268, the global catalog
	GCSURL   string // ldaps://IP:3269
	CAFile   string // PEM of the CA that signed the server's certificate
	Dir      string

	proc  *servertest.Process
	samba string // the program, for Restart
}

// Require returns the paths of samba and samba-tool, or skips the test
// (fails it under SYNCD_REQUIRE_SERVERS).
func Require(tb testing.TB) map[string]string {
	tb.Helper()
	paths := servertest.Require(tb, "Samba (Active Directory domain controller)", Install, "samba", "samba-tool")
	// samba-tool comes without the files it provisions a domain from.
	if _, err := os.Stat("/usr/share/samba/setup/ad-schema"); err != nil {
		servertest.Missing(tb, "Samba's provisioning files (/usr/share/samba/setup/ad-schema) not installed: "+Install)
	}
	return paths
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the test binary's domain controller, starting it on first
// use. It runs until StopShared (call it from TestMain) or until the test
// binary ends. Tests must not change what it holds.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	paths := Require(tb)
	shared.once.Do(func() { shared.srv, shared.err = start(paths) })
	if shared.err != nil {
		tb.Fatalf("sambatest: %v", shared.err)
	}
	return shared.srv
}

// Start starts a server of the test's own, stopped when the test ends,
// for test binaries without a TestMain to stop a shared one.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start(Require(tb))
	if err != nil {
		tb.Fatalf("sambatest: %v", err)
	}
	tb.Cleanup(s.stop)
	return s
}

// StopShared stops the shared server, if one was started, and removes its
// copy of the domain.
func StopShared() {
	if s := shared.srv; s != nil {
		s.stop()
	}
}

func (s *Server) stop() {
	s.proc.Stop(10 * time.Second)
	os.RemoveAll(filepath.Dir(s.Dir))
}

// Log returns what samba wrote so far.
func (s *Server) Log() string { return s.proc.Log() }

func start(paths map[string]string) (*Server, error) {
	version, err := exec.Command(paths["samba"], "-V").Output()
	if err != nil {
		return nil, fmt.Errorf("samba -V: %w", err)
	}
	tmpl, err := servertest.Cached("samba", servertest.Key(harnessVersion, string(version), fixtureKey()),
		func(dir string) error { return build(paths, dir) })
	if err != nil {
		return nil, fmt.Errorf("prepare the domain: %w", err)
	}
	dir, err := servertest.TempDir("samba")
	if err != nil {
		return nil, err
	}
	dir = filepath.Join(dir, "dc")
	if err := servertest.CopyTree(tmpl, dir); err != nil {
		return nil, err
	}
	s, err := run(paths["samba"], dir)
	if err != nil {
		os.RemoveAll(filepath.Dir(dir))
	}
	return s, err
}

// build provisions a domain into dir, starts it once to load the fixture,
// and stops it.
func build(paths map[string]string, dir string) error {
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		return err
	}
	if err := servertest.Run(paths["samba-tool"], "domain", "provision", "--configfile="+empty,
		"--targetdir="+dir, "--realm="+Realm, "--domain="+Domain, "--host-name=dc1",
		"--server-role=dc", "--dns-backend=SAMBA_INTERNAL", "--adminpass="+AdminPW,
		"--use-rfc2307", "--host-ip=127.0.0.1", "--option=interfaces=127.0.0.1/8",
		"--option=bind interfaces only=yes"); err != nil {
		return err
	}
	// Passwords never expire: the domain is cached for as long as its
	// fixture stays the same, and a provisioned domain lets a password live
	// 42 days, after which every bind fails.
	if err := servertest.Run(paths["samba-tool"], "domain", "passwordsettings", "set", "--max-pwd-age=0",
		"-H", filepath.Join(dir, "private", "sam.ldb"), "--configfile="+filepath.Join(dir, "etc", "smb.conf")); err != nil {
		return err
	}
	if err := writeConfTemplate(dir); err != nil {
		return err
	}
	if err := writeCA(dir); err != nil {
		return err
	}
	s, err := run(paths["samba"], dir)
	if err != nil {
		return err
	}
	defer s.proc.Stop(30 * time.Second)
	if err := load(s); err != nil {
		return fmt.Errorf("load the fixture: %w", err)
	}
	s.proc.Stop(30 * time.Second)
	if !s.proc.Exited() {
		return errors.New("samba did not stop")
	}
	return os.RemoveAll(filepath.Join(dir, "run"))
}

// writeConfTemplate turns the smb.conf the provisioning wrote into
// etc/smb.conf.in, with @DIR@ for the domain's directory and @IP@ for the
// loopback address: only LDAP runs (389, 636, 3268, 3269), on that address
// alone, with the domain's own certificate, and every runtime file stays
// inside the directory.
func writeConfTemplate(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "etc", "smb.conf"))
	if err != nil {
		return err
	}
	conf := regexp.MustCompile(`(?m)^\s*(interfaces|dns forwarder|bind interfaces only)\s*=.*\n`).ReplaceAllString(string(data), "")
	conf = strings.Replace(conf, "[global]\n", "[global]\n"+strings.Join([]string{
		"interfaces = @IP@/8", "bind interfaces only = yes", "server services = ldap",
		"pid directory = @DIR@/run", "ncalrpc dir = @DIR@/run/ncalrpc",
		"tls enabled = yes", "tls keyfile = @DIR@/tls/server.key", "tls certfile = @DIR@/tls/server.pem",
		"tls cafile = @DIR@/tls/ca.pem", "ldap server require strong auth = yes",
	}, "\n")+"\n", 1)
	conf = strings.ReplaceAll(conf, dir, "@DIR@")
	return os.WriteFile(filepath.Join(dir, "etc", "smb.conf.in"), []byte(conf), 0o600)
}

// writeCA makes the domain's CA (tls/ca.pem, tls/ca.key); each copy of the
// domain gets a server certificate from it for its own address.
func writeCA(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
		return err
	}
	return servertest.WriteCA(filepath.Join(dir, "tls"), "syncd test CA for "+Realm)
}

// run starts samba from dir on a leased loopback address.
func run(samba, dir string) (*Server, error) {
	ip, err := servertest.LeaseLoopback(portsFree)
	if err != nil {
		return nil, err
	}
	tlsDir := filepath.Join(dir, "tls")
	if err := servertest.WriteServerCert(tlsDir, filepath.Join(tlsDir, "server.pem"), filepath.Join(tlsDir, "server.key"), "localhost", ip); err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	tmpl, err := os.ReadFile(filepath.Join(dir, "etc", "smb.conf.in"))
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	text := strings.NewReplacer("@DIR@", dir, "@IP@", ip).Replace(string(tmpl))
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		return nil, err
	}
	s := &Server{IP: ip, URL: "ldap://" + ip, LDAPSURL: "ldaps://" + ip, GCURL: "ldap://" + ip + ":3268",
		GCSURL: "ldaps://" + ip + ":3269", CAFile: filepath.Join(dir, "tls", "ca.pem"), Dir: dir, samba: samba}
	if err := s.serve(); err != nil {
		return nil, err
	}
	return s, nil
}

// serve starts samba on the server's address and waits until it answers.
func (s *Server) serve() error {
	proc, err := servertest.Start(s.samba, "-i", "-M", "single", "--debug-stdout", "-d", "0", "-s", filepath.Join(s.Dir, "etc", "smb.conf"))
	if err != nil {
		return err
	}
	s.proc = proc
	if err := proc.WaitFor(60*time.Second, s.ready); err != nil {
		proc.Stop(5 * time.Second)
		return err
	}
	return nil
}

// StopServer stops the server process and keeps its data: Restart starts
// it again.
func (s *Server) StopServer() { s.proc.Stop(30 * time.Second) }

// Restart stops the domain controller and starts it again on the same
// address with the same data, as an administrator restarting it would:
// clients connected to it lose their connections.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.proc.Stop(30 * time.Second)
	var err error
	for range 20 { // the old process's ports may take a moment to free
		if err = s.serve(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.Fatalf("sambatest: restart: %v", err)
}

// portsFree checks that nothing else listens on the address's LDAP ports.
func portsFree(ip string) error {
	for _, port := range []string{"389", "636", "3268", "3269"} {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, port))
		if err != nil {
			return err
		}
		l.Close()
	}
	return nil
}

// ready reads the root DSE over every listener samba should open.
func (s *Server) ready() error {
	for _, u := range []string{s.URL, s.LDAPSURL, s.GCURL, s.GCSURL} {
		c, err := s.Dial(u)
		if err != nil {
			return err
		}
		_, err = c.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"namingContexts"}, nil))
		c.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Dial connects with go-ldap, trusting the domain's CA.
func (s *Server) Dial(url string) (*goldap.Conn, error) {
	cfg, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	return goldap.DialURL(url, goldap.DialWithTLSConfig(cfg),
		goldap.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}))
}

// AdminConn returns a connection bound as the domain's Administrator.
func (s *Server) AdminConn() (*goldap.Conn, error) {
	c, err := s.Dial(s.LDAPSURL)
	if err != nil {
		return nil, err
	}
	if err := c.Bind(AdminUPN, AdminPW); err != nil {
		c.Close()
		return nil, err
	}
	c.SetTimeout(60 * time.Second)
	return c, nil
}

// tlsConfig trusts the domain's CA for the server's address.
func (s *Server) tlsConfig() (*tls.Config, error) {
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(s.CAFile)
	if err != nil {
		return nil, err
	}
	pool.AppendCertsFromPEM(ca)
	return &tls.Config{RootCAs: pool, ServerName: s.IP, MinVersion: tls.VersionTLS12}, nil
}
