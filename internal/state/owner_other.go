//go:build !unix

package state

import "os"

// OwnLikeDir does nothing where files have no Unix owner.
func OwnLikeDir(string) {}

func unlock(*os.File) {}
