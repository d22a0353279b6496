package ldap

import (
	"net/url"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
)

// unread records the subtrees that continuation references of a search
// point to: syncd does not follow them, so entries there are not read, and
// a group with a member there is unknown. Active Directory answers every
// subtree search from a domain root with references to its own partitions
// (configuration and DNS zones), which hold no people: those are logged at
// debug level, others as a warning, since they may make groups unknown.
func (r *Reader) unread(m *Mapper, q query, refs []string) {
	seen := map[string]bool{}
	for _, ref := range refs {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		base := referralBase(ref)
		m.Unread(base)
		level := zap.WarnLevel
		if isADPartition(base) {
			level = zap.DebugLevel
		}
		if ce := r.log.Check(level, "ldap continuation reference not followed: entries under it are not read, and a group with a member there is unknown"); ce != nil {
			ce.Write(zap.String("search", q.purpose), zap.String("base", q.base), zap.String("reference", ref))
		}
	}
}

// referralBase returns the DN a continuation reference points to
// (ldap://host/DN?attrs?scope...), or "" when it names none.
func referralBase(ref string) string {
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	dn, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "?")
	return dn
}

// isADPartition reports whether dn names one of the partitions every
// Active Directory forest has beside its domains: CN=Configuration,
// DC=DomainDnsZones and DC=ForestDnsZones.
func isADPartition(dn string) bool {
	parsed, err := goldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) != 1 {
		return false
	}
	a := parsed.RDNs[0].Attributes[0]
	switch strings.ToLower(a.Type) {
	case "cn":
		return strings.EqualFold(a.Value, "Configuration")
	case "dc":
		return strings.EqualFold(a.Value, "DomainDnsZones") || strings.EqualFold(a.Value, "ForestDnsZones")
	}
	return false
}
