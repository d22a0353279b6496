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

// RangeLimited serves the domain controller on a free loopback port,
// cutting every attribute of a search result entry to its first max values
// as Active Directory does. Clients speak plain LDAP to it (a simple bind
// to loopback needs no TLS); it speaks LDAPS to the domain controller.
// cuts counts the attributes it cut short.
func (s *Server) RangeLimited(tb testing.TB, max int) (url string, cuts *atomic.Int64) {
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
	cuts = new(atomic.Int64)
	backend := net.JoinHostPort(s.IP, "636")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go limitRanges(c, backend, cfg, max, cuts)
		}
	}()
	return "ldap://" + l.Addr().String(), cuts
}

// limitRanges passes one client's requests to the domain controller as
// they are, and its answers back with every attribute cut to max values.
func limitRanges(client net.Conn, backend string, cfg *tls.Config, max int, cuts *atomic.Int64) {
	defer client.Close()
	server, err := tls.Dial("tcp", backend, cfg)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(server, client); server.Close() }()
	for {
		p, err := ber.ReadPacket(server)
		if err != nil {
			return
		}
		if _, err := client.Write(cutEntry(p, max, cuts).Bytes()); err != nil {
			return
		}
	}
}

// cutEntry returns p with each attribute of a search result entry cut to
// its first max values; any other message as it is.
func cutEntry(p *ber.Packet, max int, cuts *atomic.Int64) *ber.Packet {
	if len(p.Children) < 2 {
		return p
	}
	op := p.Children[1]
	if op.ClassType != ber.ClassApplication || op.Tag != goldap.ApplicationSearchResultEntry || len(op.Children) != 2 {
		return p
	}
	attrs := op.Children[1]
	newAttrs := ber.Encode(attrs.ClassType, attrs.TagType, attrs.Tag, nil, attrs.Description)
	cut := false
	for _, a := range attrs.Children {
		if len(a.Children) == 2 && len(a.Children[1].Children) > max {
			a, cut = cutAttribute(a, max), true
			cuts.Add(1)
		}
		newAttrs.AppendChild(a)
	}
	if !cut {
		return p
	}
	newOp := ber.Encode(op.ClassType, op.TagType, op.Tag, nil, op.Description)
	newOp.AppendChild(op.Children[0])
	newOp.AppendChild(newAttrs)
	out := ber.Encode(p.ClassType, p.TagType, p.Tag, nil, p.Description)
	out.AppendChild(p.Children[0])
	out.AppendChild(newOp)
	for _, c := range p.Children[2:] { // controls
		out.AppendChild(c)
	}
	return out
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
