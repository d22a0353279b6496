package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldif"
	"github.com/syncd/syncd/internal/source/scim"
	engine "github.com/syncd/syncd/internal/sync"
)

// buildSource returns the reader of one configured source.
func buildSource(src config.Source, logger *zap.Logger) (engine.Source, error) {
	logger = logger.Named("source")
	switch {
	case src.LDAP != nil:
		return ldap.New(src.Name, *src.LDAP, logger)
	case src.LDIF != nil:
		return ldif.New(src.Name, *src.LDIF, logger)
	case src.SCIM != nil:
		return scim.New(src.Name, *src.SCIM, logger)
	}
	return nil, fmt.Errorf("source %s: no reader for a %s source yet", src.Name, src.Kind())
}
