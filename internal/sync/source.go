// Package sync is syncd's engine: it builds the desired state from the
// directory and the config, plans the changes against Teams, applies the
// policies and executes the plan at one apply point. The name collides with
// the standard library's sync; callers alias one of the two imports.
package sync

import (
	"context"

	"github.com/syncd/syncd/internal/directory"
)

// Source reads one directory. A returned error means nothing from the source
// can be trusted (every group it feeds is unknown); a group that could not be
// read completely is returned with Group.Err set instead.
type Source interface {
	Name() string
	Read(ctx context.Context) (*directory.Directory, error)
}
