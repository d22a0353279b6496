package directory

import (
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// CanonicalDN returns a form of dn in which two spellings of the same name
// compare equal: attribute types and values lower-cased, spaces around
// separators dropped, escapes (`\,` and `\2C`) decoded and re-encoded one
// way, and the parts of a multi-valued RDN sorted. It is a map key, not a DN
// to send to a server. A DN that does not parse is returned lower-cased so
// that it still matches itself.
func CanonicalDN(dn string) string {
	if isCanonical(dn) { // the usual member value: one scan, no allocation
		return dn
	}
	if !strings.ContainsAny(dn, dnSpecials) {
		return fastCanonicalDN(dn)
	}
	return parsedCanonicalDN(dn)
}

// dnSpecials are the characters that send a DN down the full parse.
const dnSpecials = "\\\"+#;<>"

func parsedCanonicalDN(dn string) string {
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	var b strings.Builder
	for i, rdn := range parsed.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		parts := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			parts[j] = canonicalAVA(a.Type, a.Value)
		}
		slices.Sort(parts)
		b.WriteString(strings.Join(parts, "+"))
	}
	return b.String()
}

// fastCanonicalDN handles the common DN without escapes or multi-valued
// RDNs without the allocations of a full parse; it must agree with the slow
// path on every DN it accepts. A DN already in canonical form (the usual
// member value) is returned as is.
func fastCanonicalDN(dn string) string {
	if isCanonical(dn) {
		return dn
	}
	var b strings.Builder
	b.Grow(len(dn))
	rest := dn
	for i := 0; ; i++ {
		rdn, tail, more := strings.Cut(rest, ",")
		typ, val, ok := strings.Cut(rdn, "=")
		if !ok {
			return strings.ToLower(strings.TrimSpace(dn))
		}
		if strings.Trim(typ, " ") == "" {
			return parsedCanonicalDN(dn) // not a DN; whatever the parser makes of it
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(canonicalAVA(strings.Trim(typ, " "), strings.Trim(val, " ")))
		if !more {
			return b.String()
		}
		rest = tail
	}
}

// isCanonical reports whether a DN is already in canonical form:
// lower-case ASCII, no spaces, one "=" per RDN, none of dnSpecials.
func isCanonical(dn string) bool {
	eq := false
	for i := 0; i < len(dn); i++ {
		switch c := dn[i]; {
		case c == '=':
			if eq {
				return false
			}
			eq = true
		case c == ',':
			if !eq {
				return false
			}
			eq = false
		case c >= 'A' && c <= 'Z', c == ' ', c >= 0x80:
			return false
		case c == '\\', c == '"', c == '+', c == '#', c == ';', c == '<', c == '>': // dnSpecials
			return false
		}
	}
	return eq
}

// canonicalAVA encodes one attribute type and decoded value. Characters that
// separate DN parts are hex-escaped so the encoding stays unambiguous.
func canonicalAVA(typ, val string) string {
	val = strings.ToLower(val)
	if strings.ContainsAny(val, "\\,+=\"<>;#") {
		var b strings.Builder
		for i := 0; i < len(val); i++ {
			switch c := val[i]; c {
			case '\\', ',', '+', '=', '"', '<', '>', ';', '#':
				b.WriteString(`\` + hexByte(c))
			default:
				b.WriteByte(c)
			}
		}
		val = b.String()
	}
	return strings.ToLower(typ) + "=" + val
}

func hexByte(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}
