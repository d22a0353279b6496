//go:build !unix

package state

// OwnLikeDir does nothing where files have no Unix owner.
func OwnLikeDir(string) {}
