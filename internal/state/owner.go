//go:build unix

package state

import (
	"os"
	"path/filepath"
	"syscall"
)

// OwnLikeDir gives a file syncd just created in the state dir the owner of
// that dir, when syncd runs as root and the dir belongs to someone else.
// Why: an operator running `syncd sync --apply` as root beside the daemon
// (which runs as its own user, e.g. systemd's DynamicUser) must not leave
// files the daemon can no longer open. Errors are ignored: the file works
// for this process either way.
func OwnLikeDir(path string) {
	if os.Geteuid() != 0 {
		return
	}
	st, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || sys.Uid == 0 {
		return
	}
	_ = os.Lchown(path, int(sys.Uid), int(sys.Gid))
}

// unlock releases bbolt's flock on a file whose Open failed half way: its
// memory map still refers to the file, so closing the descriptor alone
// would keep the lock until the process exits.
func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
