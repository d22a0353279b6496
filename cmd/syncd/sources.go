package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/scimserver"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldif"
	"github.com/syncd/syncd/internal/source/scim"
	engine "github.com/syncd/syncd/internal/sync"
)

// buildSource returns the reader of one configured source. A scim_receiver
// is read from what the daemon's SCIM endpoint stored under stateDir, so
// `sync` and `source dump` see it even while `syncd run` is serving.
func buildSource(src config.Source, stateDir string, logger *zap.Logger) (engine.Source, error) {
	logger = logger.Named("source")
	switch {
	case src.SCIMReceiver != nil:
		return scimserver.NewSource(src.Name, stateDir)
	case src.LDAP != nil:
		return ldap.New(src.Name, *src.LDAP, logger)
	case src.LDIF != nil:
		return ldif.New(src.Name, *src.LDIF, logger)
	case src.SCIM != nil:
		return scim.New(src.Name, *src.SCIM, logger)
	}
	return nil, fmt.Errorf("source %s: no reader for a %s source yet", src.Name, src.Kind())
}
