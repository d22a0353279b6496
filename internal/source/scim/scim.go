// Package scim reads users and groups from a SCIM 2.0 service provider
// (RFC 7643/7644) for syncd: /Users and /Groups, paged with startIndex and
// count, asking only for the attributes syncd needs.
//
// A read is all or nothing: a failed request, or a page that contradicts
// the totalResults the server announced, fails the whole read (every group
// is unknown); a member that cannot be resolved because a lookup failed makes
// the groups that list it unknown, never empty.
package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/backoff"
	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/tlsconfig"
)

// Defaults for what the configuration leaves open.
const (
	DefaultTimeout = config.DefaultSCIMTimeout // config is its one home
	// DefaultPageSize is the count asked for per page. Servers may return
	// fewer (itemsPerPage); the reader follows whatever they return.
	DefaultPageSize = 200
	maxRetries      = 2
)

// Attributes asked for; id is always returned (RFC 7643 §3.1).
const (
	userAttributes  = "userName,displayName,name.formatted,emails,active"
	groupAttributes = "displayName,members"
)

// Reader reads one configured SCIM source.
type Reader struct {
	name     string
	base     *url.URL
	token    string
	nested   bool
	pageSize int
	client   *http.Client
	logger   *zap.Logger
	sleep    func(ctx context.Context, d time.Duration) error
	calls    atomic.Int64
}

// New checks cfg and returns a reader. Nothing is contacted yet.
func New(name string, cfg config.SCIM, logger *zap.Logger) (*Reader, error) {
	if logger == nil {
		return nil, errors.New("scim source: nil logger")
	}
	base, err := parseBase(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("scim source %q: %w", name, err)
	}
	token := cfg.Token.Reveal()
	if token == "" {
		return nil, fmt.Errorf("scim source %q: no bearer token (token or token_file)", name)
	}
	transport, err := tlsconfig.Transport(cfg.CAFile, cfg.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("scim source %q: ca_file: %w", name, err)
	}
	timeout := cfg.Timeout.Std()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	logger = logger.Named("scim").With(zap.String("source", name))
	if cfg.InsecureSkipVerify {
		logger.Warn("insecure_skip_verify is set: the SCIM server's TLS certificate is not verified")
	}
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		logger.Warn("SCIM URL is plain http: the bearer token travels unencrypted", zap.String("url", base.Redacted()))
	}
	return &Reader{
		name:     name,
		base:     base,
		token:    token,
		nested:   cfg.Nested,
		pageSize: DefaultPageSize,
		client:   &http.Client{Transport: transport, Timeout: timeout},
		logger:   logger,
		sleep:    backoff.Sleep,
	}, nil
}

func parseBase(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("url is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("url %q: scheme must be https or http", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q: no host", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		// Every request sets its own query: this one would be dropped
		// unseen. It is not quoted: it may hold a key.
		return nil, errors.New("url: remove the ?query or #fragment (the token goes in token or token_file)")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// Name is the source's configured name.
func (r *Reader) Name() string { return r.name }

// Calls is the number of HTTP requests sent so far, retries included.
func (r *Reader) Calls() int { return int(r.calls.Load()) }

// Read reads the whole directory: all users and all groups, then resolves
// members, then expands nested groups when configured.
func (r *Reader) Read(ctx context.Context) (*directory.Directory, error) {
	start := time.Now()
	calls := r.Calls()
	users, groups, err := r.readBoth(ctx)
	if err != nil {
		return nil, fmt.Errorf("scim source %q: %w", r.name, err)
	}
	dir := r.build(ctx, users, groups)
	r.logger.Info("read SCIM directory",
		zap.Int("users", len(dir.Users)), zap.Int("groups", len(dir.Groups)),
		zap.Int("calls", r.Calls()-calls), zap.Duration("took", time.Since(start)))
	return dir, nil
}

// readBoth lists users and groups concurrently; either failing fails both.
func (r *Reader) readBoth(ctx context.Context) ([]resource, []resource, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		items []resource
		err   error
	}
	groupsCh := make(chan result, 1)
	go func() {
		items, err := r.listAll(ctx, "/Groups", groupAttributes)
		if err != nil {
			cancel()
		}
		groupsCh <- result{items, err}
	}()
	users, uerr := r.listAll(ctx, "/Users", userAttributes)
	if uerr != nil {
		cancel()
	}
	g := <-groupsCh
	// Report the root cause, not the cancellation it caused in the other list.
	switch {
	case uerr != nil && (g.err == nil || !errors.Is(uerr, context.Canceled)):
		return nil, nil, uerr
	case g.err != nil:
		return nil, nil, g.err
	}
	return users, g.items, nil
}
