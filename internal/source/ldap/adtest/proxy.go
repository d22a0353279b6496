package adtest

import (
	"io"
	"net"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// The goldap decoder under ldapserver cannot read an extensible match
// without its optional dnAttributes flag (it reads past the end), and
// go-ldap, like most clients, leaves the flag out when false. A small proxy
// in front of ldapserver adds the flag, spelled out as FALSE, to each
// extensible match of a search filter; everything else passes unchanged.

func proxyConn(client net.Conn, backend string) {
	defer client.Close()
	server, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(client, server); client.Close() }()
	for {
		p, err := ber.ReadPacket(client)
		if err != nil {
			return
		}
		if _, err := server.Write(rebuild(p, false).Bytes()); err != nil {
			return
		}
	}
}

// rebuild re-encodes p, completing extensible matches inside search
// filters (inFilter tells whether p lies within one).
func rebuild(p *ber.Packet, inFilter bool) *ber.Packet {
	if p.TagType != ber.TypeConstructed {
		return p
	}
	out := ber.Encode(p.ClassType, p.TagType, p.Tag, nil, p.Description)
	for i, c := range p.Children {
		// The filter is the 7th element of a SearchRequest [APPLICATION 3].
		child := inFilter || (p.ClassType == ber.ClassApplication && p.Tag == goldap.ApplicationSearchRequest && i == 6)
		out.AppendChild(rebuild(c, child))
	}
	if inFilter && p.ClassType == ber.ClassContext && p.Tag == goldap.FilterExtensibleMatch && !hasDNAttributes(p) {
		out.AppendChild(ber.NewBoolean(ber.ClassContext, ber.TypePrimitive, 4, false, "dnAttributes"))
	}
	return out
}

func hasDNAttributes(p *ber.Packet) bool {
	for _, c := range p.Children {
		if c.ClassType == ber.ClassContext && c.Tag == 4 {
			return true
		}
	}
	return false
}
