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
	// passing says that each keeps neither the entry it is handed nor its
	// Attrs map (only strings, and value lists it copies): the entries of
	// a page are then decoded into one Entry, one map, instead of a new
	// one each (a map per entry was 40% of what reading 100,000 people
	// allocated).
	passing bool
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
	got := limitSeen{}
	counted := func(e *Entry) error {
		got.page++
		return each(e)
	}
	for n := 0; ; n++ {
		var controls []byte
		if paged {
			controls = pagingControl(s.pageSize, cookie)
		}
		got.total += got.page
		got.page = 0
		p, err := s.conn.searchPage(req, controls, counted, q.passing)
		if err != nil {
			return referrals, s.searchErr(q, s.explainLimit(err, paged, n, got))
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

// limitSeen counts the entries a search had received when a limit stopped
// it: on the page under way, and on the pages before it.
type limitSeen struct{ page, total int }

// explainLimit says how to get past a size limit, from what slapd and
// 389-ds answer (the tests meet both):
//   - OpenLDAP refuses a page over size.pr (adminLimitExceeded, "illegal
//     pagedResults page size"), and paging itself where size.prtotal is
//     "disabled" ("pagedResults control not allowed").
//   - OpenLDAP limits the whole paged result to size.prtotal, or to
//     size.hard where that is unset (the default: 500 for any account
//     without a limits rule), and answers sizeLimitExceeded where the
//     total is reached, on any page. A smaller page never helps.
//   - 389-ds limits each page (nsslapd-sizelimit, an account's
//     nsSizeLimit) and answers sizeLimitExceeded on the first page: a
//     smaller page is the fix.
//
// Active Directory caps pages silently instead.
func (s *session) explainLimit(err error, paged bool, page int, got limitSeen) error {
	var re *ResultError
	if !errors.As(err, &re) || (re.Code != resultSizeLimit && re.Code != resultAdminLimit) {
		return err
	}
	switch {
	case !paged && re.Code == resultSizeLimit:
		return fmt.Errorf("%w (the search was not paged: set page_size to page it)", err)
	case !paged:
		return err
	case re.Code == resultAdminLimit && strings.Contains(re.Diag, "not allowed"):
		return fmt.Errorf("%w: the server does not let syncd's account page its searches (OpenLDAP size.prtotal=disabled); allow it in a limits rule for the account (size.prtotal=unlimited)", err)
	case re.Code == resultAdminLimit:
		return fmt.Errorf("%w: the server allows fewer entries per page than page_size (%d) asks for (OpenLDAP size.pr); a smaller page_size fixes it, or raise size.pr for syncd's account", err, s.pageSize)
	case page > 0:
		return fmt.Errorf("%w on page %d, after %d entries: the server limits the whole result of a paged search for syncd's account (OpenLDAP size.prtotal, or size.hard where size.prtotal is unset; slapd's default is 500); raise it in a limits rule for the account (size.prtotal=unlimited)",
			err, page+1, got.total+got.page)
	}
	return fmt.Errorf("%w after %d entries, on the first page (page_size %d): on 389-ds the limit is per page (nsslapd-sizelimit, or the account's nsSizeLimit), and a smaller page_size fixes it (below %d); on OpenLDAP it is on the whole paged result (size.prtotal, or size.hard where size.prtotal is unset), and a limits rule for the account must raise it (size.prtotal=unlimited)",
		err, got.page, s.pageSize, max(got.page, 1))
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
