package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/tlsconfig"
	"go.uber.org/zap"
)

// session is one bound connection to one server.
type session struct {
	conn     *wireConn
	url      string
	startTLS bool
	bindDN   string
	caFile   string // for the logged ldapsearch command
	insecure bool
	pageSize int
	timeout  time.Duration
	log      *zap.Logger
	stop     func() bool // detaches the context watcher
}

// BindError is a server's refusal of the bind (wrong DN or password, account
// locked, no TLS). Other servers of the list would refuse it too, so
// failover stops.
type BindError struct {
	URL, BindDN string
	TLS         bool // the connection was encrypted (ldaps:// or StartTLS)
	Err         error
}

// ErrTLSRequired is a bind refused because the connection is not
// encrypted: Active Directory answers strongerAuthRequired (8), 389-ds
// confidentialityRequired (13). The credentials may well be right.
var ErrTLSRequired = errors.New("the server accepts this bind only over TLS: use ldaps:// or start_tls: true (a refusal for want of TLS, not a wrong password)")

// Result codes of a bind refused for want of TLS.
const (
	resultStrongerAuthRequired    = 8
	resultConfidentialityRequired = 13
)

func (e *BindError) Error() string {
	msg := fmt.Sprintf("bind as %q to %s refused: %v", e.BindDN, e.URL, e.Err)
	if e.TLSRequired() {
		msg += ": " + ErrTLSRequired.Error()
	} else if hint := adBindHint(e.Err); hint != "" {
		msg += ": " + hint
	}
	return msg
}

// resultInvalidCredentials is the bind answer for a wrong name or
// password, and on Active Directory for an account that may not log in.
const resultInvalidCredentials = 49

// CredentialsRefused reports a bind refused for its name or password (or
// the account's state): trying again with the same ones only counts
// towards the account's lockout.
func (e *BindError) CredentialsRefused() bool {
	var re *ResultError
	return errors.As(e.Err, &re) && re.Code == resultInvalidCredentials
}

// adBindHint explains the "data" code Active Directory puts in the
// diagnostic message of an invalidCredentials answer
// ("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext
// error, data 52e, v4563").
func adBindHint(err error) string {
	var re *ResultError
	if !errors.As(err, &re) || re.Code != resultInvalidCredentials {
		return ""
	}
	_, rest, ok := strings.Cut(re.Diag, " data ")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, ",")
	switch strings.ToLower(strings.TrimSpace(code)) {
	case "525":
		return "Active Directory: no such account (check bind_dn)"
	case "52e":
		return "Active Directory: wrong password, or no such account (check bind_dn and the password)"
	case "530":
		return "Active Directory: the account may not log in at this time"
	case "531":
		return "Active Directory: the account may not log in from this workstation"
	case "532":
		return "Active Directory: the account's password has expired (set a new one)"
	case "533":
		return "Active Directory: the account is disabled"
	case "701":
		return "Active Directory: the account has expired"
	case "773":
		return "Active Directory: the account must change its password before it may bind (reset it, without \"must change at next logon\")"
	case "775":
		return "Active Directory: the account is locked out (too many wrong passwords; an administrator may unlock it)"
	}
	return ""
}

func (e *BindError) Unwrap() error { return e.Err }

// TLSRequired reports whether the server refused the bind because the
// connection was not encrypted.
func (e *BindError) TLSRequired() bool {
	var re *ResultError
	return !e.TLS && errors.As(e.Err, &re) &&
		(re.Code == resultStrongerAuthRequired || re.Code == resultConfidentialityRequired)
}

// Is makes errors.Is(err, ErrTLSRequired) true for a bind refused for
// want of TLS.
func (e *BindError) Is(target error) bool { return target == ErrTLSRequired && e.TLSRequired() }

// connect tries each URL in order and returns the first bound session.
func (r *Reader) connect(ctx context.Context) (*session, error) {
	var errs []error
	untrusted := false
	for _, u := range r.cfg.URLs {
		s, err := r.dial(ctx, u)
		if err == nil {
			return s, nil
		}
		var be *BindError
		if errors.As(err, &be) || ctx.Err() != nil {
			return nil, err
		}
		if tlsconfig.VerifyFailed(err) {
			// Reached, but not trusted: the fix is ca_file, not the network.
			err = fmt.Errorf("%w: the server's certificate does not verify; give the CA that issued it in ca_file (PEM), and use the name the certificate holds in the URL", err)
			untrusted = true
		}
		r.log.Warn("ldap server unreachable", zap.String("url", u), zap.Error(err))
		errs = append(errs, err)
	}
	if untrusted {
		return nil, fmt.Errorf("no LDAP server could be used: %w", errors.Join(errs...))
	}
	return nil, fmt.Errorf("no LDAP server reachable: %w", errors.Join(errs...))
}

// dial connects to one server, upgrades with StartTLS when asked, and binds.
// The connection is closed when ctx ends, which aborts any request on it.
func (r *Reader) dial(ctx context.Context, rawURL string) (*session, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	tc := r.tlsFor(rawURL)
	conn, err := dialWire(ctx, u, r.timeout, tc)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", rawURL, err)
	}
	s := &session{conn: conn, url: rawURL, startTLS: r.cfg.StartTLS, bindDN: r.cfg.BindDN,
		caFile: r.cfg.CAFile, insecure: r.cfg.InsecureSkipVerify,
		pageSize: r.cfg.PageSize, timeout: r.timeout, log: r.log}
	raw := conn.conn // closing the TCP connection also ends TLS on top of it
	s.stop = context.AfterFunc(ctx, func() { raw.Close() })
	if r.cfg.StartTLS {
		if err := conn.startTLS(ctx, tc); err != nil {
			s.close()
			return nil, fmt.Errorf("StartTLS with %s: %w", rawURL, ctxOr(ctx, err))
		}
	}
	if r.cfg.BindDN == "" {
		return s, nil
	}
	if err := conn.bind(r.cfg.BindDN, r.cfg.BindPassword.Reveal()); err != nil {
		s.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if isResultError(err) {
			return nil, &BindError{URL: rawURL, BindDN: r.cfg.BindDN, TLS: conn.tls, Err: err}
		}
		return nil, fmt.Errorf("bind to %s: %w", rawURL, err)
	}
	return s, nil
}

// ctxOr prefers the context's error: a cancelled read closes the
// connection, and "connection closed" would hide why.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// isResultError tells an answer of the server (a result code) from a
// transport failure, which another server of the list may not have.
func isResultError(err error) bool {
	var re *ResultError
	return errors.As(err, &re)
}

func (s *session) close() {
	s.stop()
	_ = s.conn.close()
}

// tlsFor returns the TLS settings for one URL: the certificate must name the
// URL's host (StartTLS does not infer it).
func (r *Reader) tlsFor(rawURL string) *tls.Config {
	c := r.tls.Clone()
	if u, err := url.Parse(rawURL); err == nil {
		c.ServerName = u.Hostname()
	}
	return c
}

// checkURL rejects URLs the reader cannot use.
func checkURL(raw string, startTLS bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q: %w", raw, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "ldap":
	case "ldaps":
		if startTLS {
			return fmt.Errorf("url %s: start_tls applies to ldap:// URLs, not ldaps://", raw)
		}
	default:
		return fmt.Errorf("url %q: scheme must be ldap:// or ldaps://", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("url %q: no host", raw)
	}
	return nil
}
