package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	engine "github.com/syncd/syncd/internal/sync"
	"github.com/syncd/syncd/internal/teams"
)

// slowTeams takes `took` for every write, or until its context ends.
type slowTeams struct {
	engine.Teams
	took   time.Duration
	writes int
}

func (s *slowTeams) AddUserGroupMembers(ctx context.Context, id int, ids []int) (*teams.UserGroup, error) {
	s.writes++
	select {
	case <-time.After(s.took):
		return &teams.UserGroup{ID: id}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *slowTeams) RemoveSMEUser(ctx context.Context, tagID, userID int) error {
	s.writes++
	return nil
}

func (s *slowTeams) ListUsers(ctx context.Context) ([]teams.User, error) { return nil, ctx.Err() }

func TestWriteGuardLetsAWriteUnderWayFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &slowTeams{took: time.Second}
		g := writeGuard{Teams: api, grace: 3 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel) // SIGTERM during the write
		start := time.Now()
		if _, err := g.AddUserGroupMembers(ctx, 10, []int{1}); err != nil {
			t.Errorf("write under way at the stop: %v, want it to finish", err)
		}
		if took := time.Since(start); took != time.Second {
			t.Errorf("write took %v, want its full 1s", took)
		}
		if err := g.RemoveSMEUser(ctx, 20, 1); !errors.Is(err, context.Canceled) {
			t.Errorf("write after the stop: %v, want context.Canceled", err)
		}
		if api.writes != 1 {
			t.Errorf("writes sent = %d, want 1: none may start after the stop", api.writes)
		}
		if _, err := g.ListUsers(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("read after the stop: %v, want it cancelled", err)
		}
	})
}

func TestWriteGuardBoundsAWriteByTheGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &slowTeams{took: time.Minute}
		g := writeGuard{Teams: api, grace: 3 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		if _, err := g.AddUserGroupMembers(ctx, 10, []int{1}); !errors.Is(err, context.Canceled) {
			t.Errorf("endless write: %v, want it cancelled after the grace", err)
		}
		if took := time.Since(start); took != 4*time.Second {
			t.Errorf("write cut after %v, want 1s + 3s grace", took)
		}
	})
}

func TestWriteGuardUncancelledWritesAreUntouched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &slowTeams{took: 10 * time.Second}
		g := writeGuard{Teams: api, grace: 3 * time.Second}
		if _, err := g.AddUserGroupMembers(context.Background(), 10, []int{1}); err != nil {
			t.Errorf("long write without a stop: %v", err)
		}
	})
}

// refusingTeams answers every write with err.
type refusingTeams struct {
	engine.Teams
	err error
}

func (r refusingTeams) RemoveSMEUser(context.Context, int, int) error { return r.err }

func TestWriteGuardNotesTokenRefusals(t *testing.T) {
	for _, c := range []struct {
		err    error
		refuse bool
	}{
		{fmt.Errorf("DELETE: %w", teams.ErrForbidden), true},
		{fmt.Errorf("DELETE: %w", teams.ErrUnauthorized), true},
		{fmt.Errorf("DELETE: %w", teams.ErrServer), false},
		{nil, false},
	} {
		r := &refusal{}
		g := writeGuard{Teams: refusingTeams{err: c.err}, grace: time.Second, refused: r}
		if err := g.RemoveSMEUser(context.Background(), 20, 1); !errors.Is(err, c.err) {
			t.Errorf("write error %v, want %v passed on", err, c.err)
		}
		got := r.take()
		if (got != nil) != c.refuse || (c.refuse && !errors.Is(got, c.err)) {
			t.Errorf("%v: noted %v, want a refusal noted: %v", c.err, got, c.refuse)
		}
		if again := r.take(); again != nil {
			t.Errorf("take did not forget the refusal: %v", again)
		}
	}
}
