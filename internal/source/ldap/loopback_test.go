package ldap_test

import (
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/source/ldap/dstest"
	"github.com/syncd/syncd/internal/source/ldap/sambatest"
)

// The real servers the tests start listen on loopback only: their ports
// are closed on every other address of this machine.
func TestServersListenOnLoopbackOnly(t *testing.T) {
	samba, ds := sambatest.Shared(t), dstest.Shared(t)
	var ports []string
	for _, u := range []string{samba.URL, samba.LDAPSURL, samba.GCURL, samba.GCSURL, ds.URL, ds.LDAPSURL} {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		port := p.Port()
		if port == "" {
			port = map[string]string{"ldap": "389", "ldaps": "636"}[p.Scheme]
		}
		ports = append(ports, port)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	others := 0
	for _, a := range addrs {
		ip, _, err := net.ParseCIDR(a.String())
		if err != nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			continue
		}
		others++
		for _, port := range ports {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip.String(), port), 2*time.Second); err == nil {
				c.Close()
				t.Errorf("%s:%s accepts connections", ip, port)
			}
		}
	}
	if others == 0 {
		t.Skip("this machine has no address but loopback to check")
	}
}
