package probe

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/scimserver"
)

// Reader reads one directory source (the engine's Source).
type Reader interface {
	Read(ctx context.Context) (*directory.Directory, error)
}

// SourceRead is what reading one source found.
type SourceRead struct {
	Name string
	// NoPush: a scim_receiver no identity provider has pushed to yet. The
	// normal state of a new setup, not a failure: nothing was read.
	NoPush   bool
	LastPush time.Time            // a scim_receiver's last stored push; zero when unknown
	Dir      *directory.Directory // what was read; nil when nothing was
}

// Unknown lists the groups that could not be read completely.
func (r *SourceRead) Unknown() []*directory.Group {
	if r.Dir == nil {
		return nil
	}
	var out []*directory.Group
	for _, g := range r.Dir.Groups {
		if g.Unknown() {
			out = append(out, g)
		}
	}
	return out
}

// Source reads src once through the reader open builds (a scim_receiver
// from what its endpoint stored under stateDir). The error says why it
// could not, or joins the groups that could not be read completely.
func Source(ctx context.Context, src config.Source, stateDir string, open func(config.Source) (Reader, error)) (*SourceRead, error) {
	r := &SourceRead{Name: src.Name}
	reader, err := open(src)
	if err != nil {
		return r, err
	}
	if src.Kind() == config.KindSCIMReceiver {
		if err := receiverStatus(r, stateDir); err != nil || r.NoPush {
			return r, err
		}
	}
	if r.Dir, err = reader.Read(ctx); err != nil {
		return r, err
	}
	var errs []error
	for _, g := range r.Unknown() {
		errs = append(errs, fmt.Errorf("group %s could not be read completely: %w", g.Name, g.Err))
	}
	return r, errors.Join(errs...)
}

// receiverStatus finds out whether an identity provider ever pushed to the
// SCIM receiver, and when it last did. Before the first push there is
// nothing to read.
func receiverStatus(r *SourceRead, stateDir string) error {
	sum, err := scimserver.Inspect(stateDir, r.Name)
	switch {
	case errors.Is(err, scimserver.ErrNoData), err == nil && !sum.Received():
		r.NoPush = true
		return nil
	case err != nil:
		return err
	}
	r.LastPush = sum.LastChange
	return nil
}
