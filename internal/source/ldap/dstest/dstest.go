// Package dstest runs a real 389 Directory Server for tests, laid out as
// FreeIPA lays out its directory and loaded with Fixture. The instance is
// created once into a cache directory (servertest.Cached) with dscreate in a
// prefix of its own, since dscreate otherwise writes into /etc, /var and
// /run and expects systemd; each test binary copies its configuration,
// imports the data offline (ldif2db) and starts ns-slapd on free loopback
// ports. TLS (LDAPS and StartTLS) uses a certificate from a CA made for
// the instance, and simple binds need TLS (nsslapd-require-secure-binds).
package dstest

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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/source/ldap/servertest"
)

// Install is what to install when 389-ds is missing.
const Install = "apt-get install 389-ds-base (certutil comes with libnss3-tools)"

// RootDN and RootPW are the instance's Directory Manager.
const (
	RootDN = "cn=Directory Manager"
	RootPW = "Directory-Manager-2024"
)

const (
	instance       = "syncd"
	harnessVersion = "dstest 3" // 3: certificates valid for ten years, not one day
)

// Server is a running 389 Directory Server.
type Server struct {
	URL      string // ldap://127.0.0.1:PORT (a simple bind needs StartTLS here)
	LDAPSURL string // ldaps://127.0.0.1:PORT
	CAFile   string
	Dir      string

	proc    *servertest.Process
	nsSlapd string // the program, for Restart
}

// Require returns the paths of the programs the server needs, or skips the
// test (fails it under SYNCD_REQUIRE_SERVERS).
func Require(tb testing.TB) map[string]string {
	tb.Helper()
	return servertest.Require(tb, "389 Directory Server", Install, "dscreate", "ns-slapd", "certutil")
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the test binary's server, starting it on first use. It
// runs until StopShared (call it from TestMain) or until the test binary
// ends. Tests must not change what it holds.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	paths := Require(tb)
	shared.once.Do(func() { shared.srv, shared.err = start(paths) })
	if shared.err != nil {
		tb.Fatalf("dstest: %v", shared.err)
	}
	return shared.srv
}

// Start starts a server of the test's own, stopped when the test ends,
// for test binaries without a TestMain to stop a shared one.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start(Require(tb))
	if err != nil {
		tb.Fatalf("dstest: %v", err)
	}
	tb.Cleanup(s.stop)
	return s
}

// StopShared stops the shared server, if one was started, and removes its
// files.
func StopShared() {
	if s := shared.srv; s != nil {
		s.stop()
	}
}

func (s *Server) stop() {
	s.proc.Stop(10 * time.Second)
	os.RemoveAll(s.Dir)
}

// Log returns what ns-slapd wrote so far.
func (s *Server) Log() string { return s.proc.Log() }

func start(paths map[string]string) (*Server, error) {
	version, _ := exec.Command(paths["ns-slapd"], "-v").CombinedOutput()
	key := servertest.Key(harnessVersion, string(version), Schema, LDIF())
	tmpl, err := servertest.Cached("389ds", key, func(dir string) error { return build(paths, dir) })
	if err != nil {
		return nil, fmt.Errorf("prepare the instance: %w", err)
	}
	dir, err := servertest.TempDir("389ds")
	if err != nil {
		return nil, err
	}
	s, err := run(paths["ns-slapd"], tmpl, dir)
	if err != nil {
		os.RemoveAll(dir)
	}
	return s, err
}

// configDir is where an instance's configuration lives under a prefix.
func configDir(prefix string) string {
	return filepath.Join(prefix, "etc", "dirsrv", "slapd-"+instance)
}

// build creates the instance in dir (a prefix install), gives it TLS, the
// schema and the data, starts it once to check it, and keeps its
// configuration as dse.ldif.in with @DIR@, @PORT@ and @TLSPORT@ for what
// each copy sets.
func build(paths map[string]string, dir string) error {
	if err := prefixInstall(dir); err != nil {
		return err
	}
	inf := filepath.Join(dir, "instance.inf")
	if err := os.WriteFile(inf, []byte(fmt.Sprintf(`[general]
start = False
systemd = False
selinux = False
strict_host_checking = False
[slapd]
instance_name = %s
port = 38900
secure_port = 63600
root_password = %s
self_sign_cert = False
[backend-userroot]
suffix = %s
create_suffix_entry = False
`, instance, RootPW, Suffix)), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(paths["dscreate"], "from-file", inf)
	// LMDB, not Berkeley DB: each copy imports its data, and LMDB imports
	// this directory in a third of the time.
	cmd.Env = append(os.Environ(), "PREFIX="+dir, "NSSLAPD_DB_LIB=mdb")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dscreate: %v\n%s", err, out)
	}
	conf := configDir(dir)
	if err := serverTLS(paths["certutil"], dir, conf); err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	if err := os.WriteFile(filepath.Join(conf, "schema", "99syncd-freeipa.ldif"), []byte(Schema), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "data.ldif"), []byte(LDIF()), 0o600); err != nil {
		return err
	}
	if err := templateDSE(dir, conf); err != nil {
		return err
	}
	// A trial run proves the template before it is kept.
	trial, err := servertest.TempDir("389ds")
	if err != nil {
		return err
	}
	defer os.RemoveAll(trial)
	s, err := run(paths["ns-slapd"], dir, trial)
	if err != nil {
		return fmt.Errorf("trial run: %w", err)
	}
	s.proc.Stop(30 * time.Second)
	// Each copy makes its own database, logs and runtime files.
	for _, d := range []string{"share", "db", "log", "lock", "run", "tmp", "var"} {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			return err
		}
	}
	return nil
}

// prefixInstall sets up what dscreate reads under a prefix: the defaults
// (every path under the prefix, no systemd, running as the current user)
// and a template that listens on 127.0.0.1 only.
func prefixInstall(dir string) error {
	for src, dst := range map[string]string{"/usr/share/dirsrv": "share/dirsrv", "/etc/dirsrv": "etc/dirsrv"} {
		if err := servertest.CopyTree(src, filepath.Join(dir, dst)); err != nil {
			return err
		}
	}
	for _, d := range []string{"tmp", "run", "lock", "log", "db"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	defaults := filepath.Join(dir, "share", "dirsrv", "inf", "defaults.inf")
	data, err := os.ReadFile(defaults)
	if err != nil {
		return err
	}
	text := string(data)
	set := func(key, val string) {
		text = regexp.MustCompile(`(?m)^`+key+` = .*$`).ReplaceAllLiteralString(text, key+" = "+val)
	}
	user := "root"
	if u := os.Getenv("USER"); u != "" && os.Geteuid() != 0 {
		user = u
	}
	i := "slapd-{instance_name}"
	for key, val := range map[string]string{
		"with_systemd": "0", "user": user, "group": user, "sysconf_dir": dir + "/etc",
		"initconfig_dir": dir + "/etc/default", "config_dir": dir + "/etc/dirsrv/" + i,
		"schema_dir": dir + "/etc/dirsrv/" + i + "/schema", "cert_dir": dir + "/etc/dirsrv/" + i,
		"local_state_dir": dir + "/var", "run_dir": dir + "/run", "ldapi": dir + "/run/" + i + ".socket",
		"pid_file": dir + "/run/" + i + ".pid", "inst_dir": dir + "/lib/dirsrv/" + i,
		"system_schema_dir": dir + "/share/dirsrv/schema", "tmpfiles_d": dir + "/etc/tmpfiles.d",
		"lock_dir": dir + "/lock/" + i, "log_dir": dir + "/log/" + i,
		"access_log": dir + "/log/" + i + "/access", "audit_log": dir + "/log/" + i + "/audit",
		"error_log": dir + "/log/" + i + "/errors", "security_log": dir + "/log/" + i + "/security",
		"db_dir": dir + "/db/" + i + "/db", "db_home_dir": dir + "/db/" + i + "/db",
		"backup_dir": dir + "/db/" + i + "/bak", "ldif_dir": dir + "/db/" + i + "/ldif",
		"tmp_dir": dir + "/tmp", "data_dir": dir + "/share",
	} {
		set(key, val)
	}
	if err := os.WriteFile(defaults, []byte(text), 0o600); err != nil {
		return err
	}
	return servertest.Replace(filepath.Join(dir, "share", "dirsrv", "data", "template-dse.ldif"),
		"nsslapd-port: %ds_port%\n", "nsslapd-port: %ds_port%\nnsslapd-listenhost: 127.0.0.1\nnsslapd-securelistenhost: 127.0.0.1\n")
}

// serverTLS gives the instance a key made in its NSS database and a
// certificate for 127.0.0.1 and localhost from a CA of the instance's own
// (tls/ca.pem), under the name the server uses (Server-Cert).
func serverTLS(certutil, dir, conf string) error {
	tlsDir := filepath.Join(dir, "tls")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		return err
	}
	if err := servertest.WriteCA(tlsDir, "syncd test CA for 389-ds"); err != nil {
		return err
	}
	db, pw := "sql:"+conf, filepath.Join(conf, "pwdfile.txt")
	csr := filepath.Join(tlsDir, "server.csr")
	if err := servertest.Run(certutil, "-R", "-d", db, "-f", pw, "-z", filepath.Join(conf, "noise.txt"),
		"-s", "CN=localhost", "-k", "rsa", "-g", "2048", "-o", csr); err != nil {
		return err
	}
	req, err := os.ReadFile(csr)
	if err != nil {
		return err
	}
	der, err := servertest.SignCSR(tlsDir, req, "localhost", "127.0.0.1")
	if err != nil {
		return err
	}
	cert := filepath.Join(tlsDir, "server.der")
	if err := os.WriteFile(cert, der, 0o600); err != nil {
		return err
	}
	if err := servertest.Run(certutil, "-A", "-d", db, "-f", pw, "-n", "Server-Cert", "-t", ",,", "-i", cert); err != nil {
		return err
	}
	return servertest.Run(certutil, "-A", "-d", db, "-f", pw, "-n", "syncd test CA", "-t", "CT,,", "-a",
		"-i", filepath.Join(tlsDir, "ca.pem"))
}

// templateDSE turns the instance's dse.ldif into dse.ldif.in: TLS on,
// simple binds only over TLS, no LDAPI socket, and placeholders for the
// directory and ports.
func templateDSE(dir, conf string) error {
	data, err := os.ReadFile(filepath.Join(conf, "dse.ldif"))
	if err != nil {
		return err
	}
	// Unfolded first: a path folded across two lines would escape the
	// placeholder.
	text := setConfig(strings.ReplaceAll(string(data), "\n ", ""), map[string]string{
		"nsslapd-security": "on", "nsslapd-require-secure-binds": "on", "nsslapd-ldapilisten": "off",
		"nsslapd-port": "@PORT@", "nsslapd-securePort": "@TLSPORT@",
	})
	text = strings.ReplaceAll(text, dir, "@DIR@")
	for _, f := range []string{"dse.ldif", "dse.ldif.bak", "dse.ldif.startOK"} {
		os.Remove(filepath.Join(conf, f))
	}
	if err := os.WriteFile(filepath.Join(conf, "dse.ldif.in"), []byte(text), 0o600); err != nil {
		return err
	}
	return servertest.Replace(filepath.Join(conf, "pkcs11.txt"), dir, "@DIR@")
}

// setConfig sets attributes of the cn=config entry of a dse.ldif, replacing
// a value already there or adding one.
func setConfig(dse string, attrs map[string]string) string {
	start := strings.Index(dse, "\ndn: cn=config\n")
	if start < 0 {
		return dse
	}
	start++
	end := strings.Index(dse[start:], "\n\n")
	if end < 0 {
		end = len(dse) - start
	}
	lines := strings.Split(dse[start:start+end], "\n")
	for name, val := range attrs {
		found := false
		for i, l := range lines {
			if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
				lines[i], found = name+": "+val, true
			}
		}
		if !found {
			lines = append(lines, name+": "+val)
		}
	}
	return dse[:start] + strings.Join(lines, "\n") + dse[start+end:]
}

// run copies the configuration of the instance prepared in tmpl into dir,
// imports the data and starts ns-slapd on free ports.
func run(nsSlapd, tmpl, dir string) (*Server, error) {
	conf := configDir(dir)
	if err := servertest.CopyTree(configDir(tmpl), conf); err != nil {
		return nil, err
	}
	i := "slapd-" + instance
	for _, d := range []string{"db/" + i + "/db", "db/" + i + "/bak", "db/" + i + "/ldif", "log/" + i, "lock/" + i, "run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if err := servertest.Replace(filepath.Join(conf, "pkcs11.txt"), "@DIR@", dir); err != nil {
		return nil, err
	}
	if _, _, err := renderDSE(tmpl, dir); err != nil {
		return nil, err
	}
	if err := importData(nsSlapd, conf, filepath.Join(dir, "db", i, "db"), filepath.Join(tmpl, "data.ldif")); err != nil {
		return nil, err
	}
	var last error
	for range 3 { // a free port may be taken between probe and bind
		s, err := listen(nsSlapd, tmpl, dir)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

// importData loads the fixture offline into the copy's database. The LMDB
// import of 389-ds now and then crashes at random (389-ds-base #5545, in
// its import threads; seen here once in a CI run with three instances
// importing at once): a crash is retried on an emptied database, twice.
func importData(nsSlapd, conf, dbDir, ldif string) error {
	var err error
	for range 3 {
		err = servertest.Run(nsSlapd, "ldif2db", "-D", conf, "-n", "userroot", "-i", ldif)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !exit.Sys().(syscall.WaitStatus).Signaled() {
			return err
		}
		if err := os.RemoveAll(dbDir); err != nil {
			return err
		}
		if err := os.MkdirAll(dbDir, 0o700); err != nil {
			return err
		}
	}
	return err
}

// renderDSE writes the copy's dse.ldif with its directory and two free ports.
func renderDSE(tmpl, dir string) (port, tlsPort int, err error) {
	port, tlsPort = freePort(), freePort()
	if port == 0 || tlsPort == 0 {
		return 0, 0, fmt.Errorf("no free port")
	}
	in, err := os.ReadFile(filepath.Join(configDir(tmpl), "dse.ldif.in"))
	if err != nil {
		return 0, 0, err
	}
	text := strings.NewReplacer("@DIR@", dir, "@PORT@", strconv.Itoa(port), "@TLSPORT@", strconv.Itoa(tlsPort)).Replace(string(in))
	return port, tlsPort, os.WriteFile(filepath.Join(configDir(dir), "dse.ldif"), []byte(text), 0o600)
}

func listen(nsSlapd, tmpl, dir string) (*Server, error) {
	conf := configDir(dir)
	port, tlsPort, err := renderDSE(tmpl, dir)
	if err != nil {
		return nil, err
	}
	proc, err := servertest.Start(nsSlapd, "-D", conf, "-i", filepath.Join(dir, "run", "ns-slapd.pid"), "-d", "0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: fmt.Sprintf("ldap://127.0.0.1:%d", port), LDAPSURL: fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort),
		CAFile: filepath.Join(tmpl, "tls", "ca.pem"), Dir: dir, proc: proc, nsSlapd: nsSlapd}
	if err := proc.WaitFor(60*time.Second, s.ready); err != nil {
		proc.Stop(5 * time.Second)
		return nil, err
	}
	return s, nil
}

// StopServer stops the server process and keeps its data: Restart starts
// it again.
func (s *Server) StopServer() { s.proc.Stop(30 * time.Second) }

// Restart stops the server and starts it again on the same ports with
// the same data, as an administrator restarting the directory would:
// clients connected to it lose their connections.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.proc.Stop(30 * time.Second)
	var err error
	for range 20 { // the old process's ports may take a moment to free
		if err = s.rerun(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.Fatalf("dstest: restart: %v", err)
}

func (s *Server) rerun() error {
	proc, err := servertest.Start(s.nsSlapd, "-D", configDir(s.Dir), "-i", filepath.Join(s.Dir, "run", "ns-slapd.pid"), "-d", "0")
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

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ready binds as the reader account over LDAPS.
func (s *Server) ready() error {
	c, err := s.Dial(s.LDAPSURL)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Bind(ServiceDN, ServicePW)
}

// Dial connects with go-ldap, trusting the instance's CA.
func (s *Server) Dial(url string) (*goldap.Conn, error) {
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(s.CAFile)
	if err != nil {
		return nil, err
	}
	pool.AppendCertsFromPEM(ca)
	return goldap.DialURL(url, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}),
		goldap.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}))
}
