package probe

import (
	"errors"
	"fmt"

	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/scim"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
)

// SourceErr is the error one source's read ended with.
type SourceErr struct {
	Name string
	Err  error
}

// NotReady says why a run that ended with err, its sources' reads having
// ended with sources, leaves syncd not ready: the configuration or a
// credential is wrong, which no retry will fix. Transient failures (a
// directory or the API briefly down) give "".
func NotReady(err error, sources []SourceErr) string {
	switch {
	case errors.Is(err, teams.ErrUnauthorized):
		return "the Teams API rejected the token (invalid or expired)"
	case errors.Is(err, teams.ErrForbidden):
		return "the Teams token is read-only or lacks permission"
	case state.IsDamaged(err):
		// No run can succeed until someone restarts with --reset-state.
		return "the state dir is damaged: " + err.Error()
	}
	for _, s := range sources {
		switch {
		case errors.Is(s.Err, ldap.ErrTLSRequired):
			// Not the password: sending an admin to rotate it would be wrong.
			return fmt.Sprintf("source %s accepts syncd's bind only over TLS: use ldaps:// or start_tls: true", s.Name)
		case isCredentialError(s.Err):
			return fmt.Sprintf("source %s rejected syncd's credentials", s.Name)
		case errors.Is(s.Err, ldap.ErrInChainUnsupported):
			return fmt.Sprintf("source %s: in_chain_lookup is set, but the server does not implement the in-chain rule (remove it)", s.Name)
		}
	}
	return ""
}

// isCredentialError tells a source's refusal of syncd's credentials: an
// LDAP bind refused, a SCIM provider answering 401 or 403.
func isCredentialError(err error) bool {
	var bind *ldap.BindError
	return errors.As(err, &bind) || errors.Is(err, scim.ErrUnauthorized) || errors.Is(err, scim.ErrForbidden)
}
