package adtest

import (
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap"
)

// decodeSearch reads a SearchRequest and its paging control from the raw
// LDAP message.
func decodeSearch(raw []byte) (*request, error) {
	p, err := ber.DecodePacketErr(raw)
	if err != nil {
		return nil, err
	}
	if len(p.Children) < 2 || len(p.Children[1].Children) < 8 {
		return nil, errors.New("not a search request")
	}
	id, _ := p.Children[0].Value.(int64)
	op := p.Children[1].Children
	scope, _ := op[1].Value.(int64)
	req := &request{id: id, base: op[0].Data.String(), scope: int(scope), filter: op[6]}
	for _, a := range op[7].Children {
		req.attrs = append(req.attrs, a.Data.String())
	}
	if len(p.Children) > 2 {
		for _, c := range p.Children[2].Children {
			ctrl, err := goldap.DecodeControl(c)
			if err != nil {
				return nil, err
			}
			if pc, ok := ctrl.(*goldap.ControlPaging); ok {
				req.paged, req.pageSize, req.cookie = true, int(pc.PagingSize), string(pc.Cookie)
			}
		}
	}
	return req, nil
}

// responder writes search responses straight to the connection: the
// ldapserver ResponseWriter cannot attach response controls.
type responder struct {
	conn net.Conn
	id   int64
}

func (r *responder) envelope(op *ber.Packet, controls []goldap.Control) {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, r.id, "MessageID"))
	p.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, c := range controls {
			cs.AppendChild(c.Encode())
		}
		p.AppendChild(cs)
	}
	_, _ = r.conn.Write(p.Bytes())
}

func (r *responder) entry(dn string, attrs map[string][]string) {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationSearchResultEntry, nil, "Entry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "DN"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		a := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attribute")
		a.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, n, "Type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "Values")
		for _, v := range attrs[n] {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "Value"))
		}
		a.AppendChild(set)
		list.AppendChild(a)
	}
	op.AppendChild(list)
	r.envelope(op, nil)
}

func (r *responder) referral(url string) {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationSearchResultReference, nil, "Reference")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, url, "URI"))
	r.envelope(op, nil)
}

func (r *responder) done(code int, diag string, controls []goldap.Control) {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationSearchResultDone, nil, "Done")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "Code"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "MatchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "Diagnostic"))
	r.envelope(op, controls)
}

// matcher evaluates one request's filter with AD's extensible rules.
type matcher struct {
	s      *Server
	c      *ldap.Matcher
	chains map[string]map[string]bool // group -> everything reachable from it
}

func newMatcher(s *Server, filter *ber.Packet) (*matcher, error) {
	f, err := goldap.DecompileFilter(withoutDNAttributes(filter))
	if err != nil {
		return nil, err
	}
	c, err := ldap.CompileMatcher(f)
	if err != nil {
		return nil, err
	}
	m := &matcher{s: s, c: c, chains: map[string]map[string]bool{}}
	c.Extensible = m.extensible
	return m, nil
}

func (m *matcher) match(e *ldap.Entry) bool { return m.c.Match(e) }

func (m *matcher) extensible(rule, attr, value string, e *ldap.Entry) bool {
	switch {
	case rule == RuleInChain && strings.EqualFold(attr, "memberOf"):
		return m.chain(m.dn(value))[directory.CanonicalDN(e.DN)]
	case rule == RuleInChain && strings.EqualFold(attr, "member"):
		return m.chain(directory.CanonicalDN(e.DN))[m.dn(value)]
	case rule == RuleBitAnd:
		want, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return false
		}
		for _, v := range e.Values(attr) {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n&want == want {
				return true
			}
		}
	}
	return false
}

// dn returns the canonical DN a filter value names: a DN, or the
// <SID=S-1-5-...> form Active Directory also accepts.
func (m *matcher) dn(value string) string {
	sid, ok := strings.CutPrefix(value, "<SID=")
	if !ok {
		return directory.CanonicalDN(value)
	}
	sid = strings.TrimSuffix(sid, ">")
	for i, e := range m.s.entries {
		if raw := e.First("objectsid"); raw != "" && SID(raw) == sid {
			return m.s.canon[i]
		}
	}
	return ""
}

// SID renders a binary objectSid as S-R-A-S1-S2-... (tests build binary
// values with SIDBytes).
func SID(raw string) string {
	b := []byte(raw)
	if len(b) < 8 || len(b) != 8+4*int(b[1]) {
		return ""
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	out := "S-" + strconv.Itoa(int(b[0])) + "-" + strconv.FormatUint(auth, 10)
	for i := 8; i < len(b); i += 4 {
		out += "-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[i:i+4])), 10)
	}
	return out
}

// SIDBytes encodes a SID S-1-5-sub-sub-... in objectSid's binary form.
func SIDBytes(sid string) string {
	parts := strings.Split(strings.TrimPrefix(sid, "S-"), "-")
	if len(parts) < 2 {
		return ""
	}
	rev, _ := strconv.Atoi(parts[0])
	auth, _ := strconv.ParseUint(parts[1], 10, 48)
	b := []byte{byte(rev), byte(len(parts) - 2), 0, 0, 0, 0, 0, 0}
	for i := 7; i >= 2; i-- {
		b[i] = byte(auth)
		auth >>= 8
	}
	for _, p := range parts[2:] {
		n, _ := strconv.ParseUint(p, 10, 32)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
	}
	return string(b)
}

// chain returns every DN reachable from group through member attributes,
// at any depth (cycles tolerated).
func (m *matcher) chain(group string) map[string]bool {
	if c, ok := m.chains[group]; ok {
		return c
	}
	seen := map[string]bool{}
	queue := []string{group}
	for len(queue) > 0 {
		g := m.s.byDN[queue[0]]
		queue = queue[1:]
		if g == nil {
			continue
		}
		for _, v := range g.Values("member") {
			if c := directory.CanonicalDN(v); !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	m.chains[group] = seen
	return seen
}

// withoutDNAttributes drops the dnAttributes flags the proxy spelled out:
// go-ldap's DecompileFilter cannot read them back, and AD's rules ignore them.
func withoutDNAttributes(p *ber.Packet) *ber.Packet {
	if p.TagType != ber.TypeConstructed {
		return p
	}
	out := ber.Encode(p.ClassType, p.TagType, p.Tag, nil, p.Description)
	for _, c := range p.Children {
		if p.Tag == goldap.FilterExtensibleMatch && c.ClassType == ber.ClassContext && c.Tag == 4 {
			continue
		}
		out.AppendChild(withoutDNAttributes(c))
	}
	return out
}
