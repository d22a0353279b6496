//go:build !unix

package lock

import (
	"errors"
	"os"
)

const noFollow = 0

// tryLock: writer locks need flock(2); elsewhere, applying refuses to start.
func tryLock(*os.File) (bool, error) {
	return false, errors.New("writer locks are not supported on this system")
}
