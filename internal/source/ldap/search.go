package ldap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
)

// query is one search to run.
type query struct {
	base    string
	scope   int
	filter  string
	attrs   []string
	paged   bool
	purpose string // "users", "groups", ... for messages
	// allowReferrals lets continuation references pass (returned to the
	// caller, which records them) instead of failing the search.
	allowReferrals bool
}

// SearchError says which search failed, where, and why. It never holds the
// bind password.
type SearchError struct {
	Purpose, Server, Base, Filter string
	Err                           error
}

func (e *SearchError) Error() string {
	return fmt.Sprintf("search %s on %s (base %q, filter %s): %v", e.Purpose, e.Server, e.Base, e.Filter, e.Err)
}

func (e *SearchError) Unwrap() error { return e.Err }

// search runs q and hands each entry to each as it arrives: only the
// entry being mapped is held, never a whole page or result. Every failure
// (size or time limit, a non-success result, a dropped connection, a
// referral where data was expected) is returned; the caller must then treat
// what it received as incomplete.
func (s *session) search(q query, each func(*Entry) error) (referrals []string, err error) {
	s.logSearch(q)
	filter, err := goldap.CompileFilter(q.filter)
	if err != nil {
		return nil, s.searchErr(q, err)
	}
	req := searchRequest(q.base, q.scope, s.timeLimit(), filter.Bytes(), q.attrs)
	paged := q.paged && s.pageSize > 0
	var cookie []byte
	for n := 0; ; n++ {
		var controls []byte
		if paged {
			controls = pagingControl(s.pageSize, cookie)
		}
		p, err := s.conn.searchPage(req, controls, each)
		if err != nil {
			return referrals, s.searchErr(q, s.explainLimit(err, paged, n))
		}
		if len(p.refs) > 0 {
			if !q.allowReferrals {
				return referrals, s.searchErr(q, fmt.Errorf("server answered with a continuation reference to %s, which syncd does not follow", strings.Join(p.refs, ", ")))
			}
			referrals = append(referrals, p.refs...)
		}
		if !paged || (!p.paged && n == 0) {
			// A server without RFC 2696 ignores the control (it is not
			// critical) and answers in full, or with a size limit error.
			return referrals, nil
		}
		if !p.paged {
			// Having paged once, a server that drops the control has
			// not said whether more entries follow.
			return referrals, s.searchErr(q, fmt.Errorf("page %d came back without the paged results control", n+1))
		}
		if len(p.cookie) == 0 {
			return referrals, nil
		}
		cookie = p.cookie
	}
}

// explainLimit says how to get past a size limit. Servers apply their
// limits per page to paged searches: 389-ds answers sizeLimitExceeded past
// nsslapd-sizelimit, OpenLDAP adminLimitExceeded ("illegal pagedResults
// page size") past size.pr, both on the first page. A limit met on a later
// page is on the whole result (OpenLDAP size.prtotal), which a smaller
// page does not help. Active Directory caps pages silently instead.
func (s *session) explainLimit(err error, paged bool, page int) error {
	var re *ResultError
	if !errors.As(err, &re) || (re.Code != resultSizeLimit && re.Code != resultAdminLimit) {
		return err
	}
	switch {
	case !paged && re.Code == resultSizeLimit:
		return fmt.Errorf("%w (the search was not paged: set page_size to page it)", err)
	case !paged:
		return err
	case page > 0:
		return fmt.Errorf("%w on page %d: the server limits the whole result of a paged search for syncd's account (OpenLDAP size.prtotal); raise that limit", err, page+1)
	}
	return fmt.Errorf("%w: the server allows fewer entries per page than page_size (%d) asks for; a smaller page_size fixes it (under the server's limit: 389-ds nsslapd-sizelimit, OpenLDAP size.pr), or raise that limit for syncd's account", err, s.pageSize)
}

func (s *session) timeLimit() int {
	return int(s.timeout.Seconds())
}

func (s *session) searchErr(q query, err error) error {
	return &SearchError{Purpose: q.purpose, Server: s.url, Base: q.base, Filter: q.filter, Err: err}
}

// logSearch logs the search as the ldapsearch command that reproduces it,
// so an admin can compare what syncd sees with what the server says. The
// password is asked for (-W), never printed.
func (s *session) logSearch(q query) {
	if ce := s.log.Check(zap.DebugLevel, "ldap search"); ce != nil {
		ce.Write(zap.String("purpose", q.purpose), zap.String("command", s.ldapsearchCommand(q)))
	}
}

func (s *session) ldapsearchCommand(q query) string {
	var args []string
	// libldap reads its TLS trust from the environment.
	if s.caFile != "" {
		args = append(args, "LDAPTLS_CACERT="+shellQuote(s.caFile))
	}
	if s.insecure {
		args = append(args, "LDAPTLS_REQCERT=never")
	}
	args = append(args, "ldapsearch", "-LLL", "-x", "-H", shellQuote(s.url))
	if s.startTLS {
		args = append(args, "-ZZ")
	}
	if s.bindDN != "" {
		args = append(args, "-D", shellQuote(s.bindDN), "-W")
	}
	args = append(args, "-b", shellQuote(q.base), "-s", scopeName(q.scope))
	if q.paged && s.pageSize > 0 {
		args = append(args, "-E", "pr="+strconv.Itoa(s.pageSize)+"/noprompt")
	}
	if t := s.timeLimit(); t > 0 {
		args = append(args, "-l", strconv.Itoa(t))
	}
	args = append(args, shellQuote(q.filter))
	for _, a := range q.attrs {
		args = append(args, shellQuote(a))
	}
	return strings.Join(args, " ")
}

func scopeName(scope int) string {
	switch scope {
	case goldap.ScopeBaseObject:
		return "base"
	case goldap.ScopeSingleLevel:
		return "one"
	}
	return "sub"
}

func parseScope(s string) (int, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "sub", "subtree":
		return goldap.ScopeWholeSubtree, nil
	case "one", "onelevel", "single":
		return goldap.ScopeSingleLevel, nil
	case "base":
		return goldap.ScopeBaseObject, nil
	}
	return 0, fmt.Errorf("scope %q: want sub or one", s)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
