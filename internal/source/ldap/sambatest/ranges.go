package sambatest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// Active Directory hands over at most MaxValRange values (1,500) of an
// attribute per entry: a larger member list comes back as
// "member;range=0-1499", and a client asks for "member;range=1500-*" and
// so on until a range ends in "*". Samba answers ranges a client asks
// for, but hands over every value of an attribute asked for by its plain
// name, so range retrieval is never needed against it. RangeLimited puts
// Active Directory's limit in front of the domain controller, so that
// what syncd asks for after the first range is answered by Samba itself.

// RangeProxy is the domain controller behind Active Directory's limit.
type RangeProxy struct {
	URL  string       // ldap://: clients speak plain LDAP to it (a simple bind to loopback needs no TLS)
	Cuts atomic.Int64 // attributes cut short
	// Lose drops every range asked for past the first from the answers,
	// as a server that stops handing a list over would.
	Lose atomic.Bool
}

// RangeLimited serves the domain controller on a free loopback port,
// cutting every attribute of a search result entry to its first max values
// as Active Directory does. It speaks LDAPS to the domain controller.
func (s *Server) RangeLimited(tb testing.TB, max int) *RangeProxy {
	tb.Helper()
	cfg, err := s.tlsConfig()
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	p := &RangeProxy{URL: "ldap://" + l.Addr().String()}
	backend := net.JoinHostPort(s.IP, "636")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.limit(c, backend, cfg, max)
		}
	}()
	return p
}

// limit passes one client's requests to the domain controller as they
// are, and its answers back with every attribute cut to max values.
func (p *RangeProxy) limit(client net.Conn, backend string, cfg *tls.Config, max int) {
	defer client.Close()
	server, err := tls.Dial("tcp", backend, cfg)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(server, client); server.Close() }()
	for {
		m, err := ber.ReadPacket(server)
		if err != nil {
			return
		}
		if _, err := client.Write(p.cutEntry(m, max).Bytes()); err != nil {
			return
		}
	}
}

// cutEntry returns m with each attribute of a search result entry cut to
// its first max values (and, with Lose, without the ranges asked for past
// the first); any other message as it is.
func (p *RangeProxy) cutEntry(m *ber.Packet, max int) *ber.Packet {
	if len(m.Children) < 2 {
		return m
	}
	op := m.Children[1]
	if op.ClassType != ber.ClassApplication || op.Tag != goldap.ApplicationSearchResultEntry || len(op.Children) != 2 {
		return m
	}
	attrs := op.Children[1]
	newAttrs := ber.Encode(attrs.ClassType, attrs.TagType, attrs.Tag, nil, attrs.Description)
	changed := false
	for _, a := range attrs.Children {
		switch {
		case len(a.Children) != 2:
		case p.Lose.Load() && laterRange(a.Children[0].Data.String()):
			changed = true
			continue
		case len(a.Children[1].Children) > max:
			a, changed = cutAttribute(a, max), true
			p.Cuts.Add(1)
		}
		newAttrs.AppendChild(a)
	}
	if !changed {
		return m
	}
	newOp := ber.Encode(op.ClassType, op.TagType, op.Tag, nil, op.Description)
	newOp.AppendChild(op.Children[0])
	newOp.AppendChild(newAttrs)
	out := ber.Encode(m.ClassType, m.TagType, m.Tag, nil, m.Description)
	out.AppendChild(m.Children[0])
	out.AppendChild(newOp)
	for _, c := range m.Children[2:] { // controls
		out.AppendChild(c)
	}
	return out
}

// laterRange tells an attribute answering a range asked for past the
// first ("member;range=500-*").
func laterRange(name string) bool {
	_, spec, ok := strings.Cut(name, ";range=")
	return ok && !strings.HasPrefix(spec, "0-")
}

// cutAttribute names the first max values of a (a PartialAttribute) as
// Active Directory does: "member;range=0-1499" for an attribute asked
// for by name, "member;range=1500-2999" for one asked for from 1500 on.
func cutAttribute(a *ber.Packet, max int) *ber.Packet {
	name := a.Children[0].Data.String()
	base, lo := name, 0
	if b, spec, ok := strings.Cut(name, ";range="); ok {
		from, _, _ := strings.Cut(spec, "-")
		if n, err := strconv.Atoi(from); err == nil {
			base, lo = b, n
		}
	}
	out := ber.Encode(a.ClassType, a.TagType, a.Tag, nil, a.Description)
	out.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString,
		fmt.Sprintf("%s;range=%d-%d", base, lo, lo+max-1), "type"))
	vals := a.Children[1]
	kept := ber.Encode(vals.ClassType, vals.TagType, vals.Tag, nil, vals.Description)
	for _, v := range vals.Children[:max] {
		kept.AppendChild(v)
	}
	out.AppendChild(kept)
	return out
}
