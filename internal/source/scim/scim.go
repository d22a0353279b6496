// Package scim reads users and groups for syncd. (Being built.)
package scim

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
)

// Reader reads one configured source.
type Reader struct{ name string }

// New checks cfg and returns a reader. Nothing is contacted yet.
func New(name string, cfg config.SCIM, logger *zap.Logger) (*Reader, error) {
	return nil, errors.New("scim source: not implemented yet")
}

// Name is the source's configured name.
func (r *Reader) Name() string { return r.name }

// Read reads the whole directory.
func (r *Reader) Read(ctx context.Context) (*directory.Directory, error) {
	return nil, errors.New("scim source: not implemented yet")
}
