package sync

import "github.com/syncd/syncd/internal/directory"

// explainData keeps what a run learnt, for `syncd explain`.
type explainData struct {
	groups, tags []*target
	ids          *identities
	view         *teamsView
	ppl          map[personKey]*directory.User
}
