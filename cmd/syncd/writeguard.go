package main

import (
	"context"
	"errors"
	gosync "sync"
	"time"

	engine "github.com/syncd/syncd/internal/sync"
	"github.com/syncd/syncd/internal/teams"
)

// writeGrace is how long a write already under way may go on after the run
// was cancelled (SIGTERM). It stays below the daemon's shutdown grace.
const writeGrace = 3 * time.Second

// writeGuard gives `syncd run` its stop semantics: once the run is
// cancelled no new write starts, but a write already sent finishes (within
// writeGrace) instead of being cut off, so a stop never leaves a write whose
// outcome is unknown. Reads are cancelled at once: they change nothing.
type writeGuard struct {
	engine.Teams
	grace   time.Duration
	refused *refusal // optional: remembers a write the API refused for the token's sake
}

// CountUsers passes the client's optional user count through (a read), so
// the engine notices first sign-ins under the daemon too.
func (g writeGuard) CountUsers(ctx context.Context) (int, error) {
	if c, ok := g.Teams.(engine.UserCounter); ok {
		return c.CountUsers(ctx)
	}
	return 0, errors.ErrUnsupported
}

// refusal keeps the first write of a run that the Teams API refused
// because of the token (invalid, expired, read-only). The engine reports
// such writes as failed changes; the daemon needs the typed error to tell
// a credential problem (not ready) from a transient one.
type refusal struct {
	mu  gosync.Mutex
	err error
}

func (r *refusal) note(err error) {
	if r == nil || !(errors.Is(err, teams.ErrForbidden) || errors.Is(err, teams.ErrUnauthorized)) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// take returns the refusal noted since the last take, and forgets it.
func (r *refusal) take() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.err
	r.err = nil
	return err
}

// detach returns a context for one write: not cancelled with ctx, but
// writeGrace after it. It refuses to start a write once ctx is done.
func (g writeGuard) detach(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(g.grace, cancel) })
	return wctx, func() { stop(); cancel() }, nil
}

func guard[T any](g writeGuard, ctx context.Context, write func(context.Context) (T, error)) (T, error) {
	wctx, done, err := g.detach(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer done()
	v, err := write(wctx)
	g.refused.note(err)
	return v, err
}

func (g writeGuard) CreateUserGroup(ctx context.Context, r teams.UserGroupRequest) (*teams.UserGroup, error) {
	return guard(g, ctx, func(c context.Context) (*teams.UserGroup, error) { return g.Teams.CreateUserGroup(c, r) })
}

func (g writeGuard) ReplaceUserGroup(ctx context.Context, id int, r teams.UserGroupRequest) (*teams.UserGroup, error) {
	return guard(g, ctx, func(c context.Context) (*teams.UserGroup, error) { return g.Teams.ReplaceUserGroup(c, id, r) })
}

func (g writeGuard) AddUserGroupMembers(ctx context.Context, id int, userIDs []int) (*teams.UserGroup, error) {
	return guard(g, ctx, func(c context.Context) (*teams.UserGroup, error) { return g.Teams.AddUserGroupMembers(c, id, userIDs) })
}

func (g writeGuard) RemoveUserGroupMember(ctx context.Context, id, userID int) error {
	_, err := guard(g, ctx, func(c context.Context) (struct{}, error) {
		return struct{}{}, g.Teams.RemoveUserGroupMember(c, id, userID)
	})
	return err
}

func (g writeGuard) ReplaceSMEs(ctx context.Context, tagID int, r teams.SMERequest) (*teams.SMEs, error) {
	return guard(g, ctx, func(c context.Context) (*teams.SMEs, error) { return g.Teams.ReplaceSMEs(c, tagID, r) })
}

func (g writeGuard) AddSMEUsers(ctx context.Context, tagID int, userIDs []int) (*teams.SMEs, error) {
	return guard(g, ctx, func(c context.Context) (*teams.SMEs, error) { return g.Teams.AddSMEUsers(c, tagID, userIDs) })
}

func (g writeGuard) AddSMEGroups(ctx context.Context, tagID int, groupIDs []int) (*teams.SMEs, error) {
	return guard(g, ctx, func(c context.Context) (*teams.SMEs, error) { return g.Teams.AddSMEGroups(c, tagID, groupIDs) })
}

func (g writeGuard) RemoveSMEUser(ctx context.Context, tagID, userID int) error {
	_, err := guard(g, ctx, func(c context.Context) (struct{}, error) {
		return struct{}{}, g.Teams.RemoveSMEUser(c, tagID, userID)
	})
	return err
}

func (g writeGuard) RemoveSMEGroup(ctx context.Context, tagID, groupID int) error {
	_, err := guard(g, ctx, func(c context.Context) (struct{}, error) {
		return struct{}{}, g.Teams.RemoveSMEGroup(c, tagID, groupID)
	})
	return err
}
