package teams

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// The size limit of one answer. A page of 100 groups carries every member
// of each, so the limit is generous; it exists so that a runaway or
// hostile server cannot take the process past its memory limit (the
// container is killed, or the daemon swaps). encoding/json holds the
// value being decoded in a buffer that grows by doubling, so reading an
// answer of n bytes can hold up to 3n at once, and a listing keeps the
// pages read before: one answer may take an eighth of the process's
// memory limit, never more than maxAnswerLimit, never less than
// minAnswerLimit.
const (
	maxAnswerLimit = 256 << 20
	minAnswerLimit = 1 << 20
	answerShare    = 8
)

// answerLimit is the size limit of one answer and where it comes from.
type answerLimit struct {
	bytes  int64
	source string // for TooLargeError
}

// memoryLimits are where the process's memory limit is read from.
type memoryLimits struct {
	goMemLimit  func() int64 // debug.SetMemoryLimit(-1)
	procCgroup  string       // /proc/self/cgroup
	cgroupMount string       // /sys/fs/cgroup
}

var hostLimits = memoryLimits{
	goMemLimit:  func() int64 { return debug.SetMemoryLimit(-1) },
	procCgroup:  "/proc/self/cgroup",
	cgroupMount: "/sys/fs/cgroup",
}

// limit derives the answer limit from GOMEMLIMIT and the cgroup's memory
// limit, whichever is lower.
func (m memoryLimits) limit() answerLimit {
	l := answerLimit{bytes: maxAnswerLimit, source: "the client's maximum"}
	if g := m.goMemLimit(); g > 0 && g < math.MaxInt64 {
		l.consider(g, "GOMEMLIMIT", "raise GOMEMLIMIT")
	}
	if c, file := m.cgroupLimit(); c > 0 {
		l.consider(c, "the container's memory limit ("+file+")", "raise the container's memory limit")
	}
	return l
}

func (l *answerLimit) consider(memLimit int64, from, raise string) {
	b := max(memLimit/answerShare, minAnswerLimit)
	if b < l.bytes {
		l.bytes = b
		l.source = fmt.Sprintf("1/%d of the %s memory limit set by %s; %s to accept larger answers",
			answerShare, mib(memLimit), from, raise)
	}
}

// cgroupLimit reads the memory limit of the process's cgroup: the
// lowest cgroup v2 memory.max (or v1 memory.limit_in_bytes) of its cgroup
// and the cgroups above it; 0 when there is none.
func (m memoryLimits) cgroupLimit() (int64, string) {
	v2, v1 := m.cgroupPaths()
	best, file := lowestLimit(m.cgroupMount, v2, "memory.max")
	if v1 != "" {
		if n, f := lowestLimit(filepath.Join(m.cgroupMount, "memory"), v1, "memory.limit_in_bytes"); n > 0 && (best == 0 || n < best) {
			best, file = n, f
		}
	}
	return best, file
}

// lowestLimit is the lowest limit in name along dir, from the cgroup
// below mount up to the mount itself; 0 when none sets one.
func lowestLimit(mount, dir, name string) (int64, string) {
	var best int64
	for d := filepath.Clean("/" + dir); ; d = filepath.Dir(d) {
		if n, ok := readLimitFile(filepath.Join(mount, d, name)); ok && (best == 0 || n < best) {
			best = n
		}
		if d == "/" {
			return best, name
		}
	}
}

// cgroupPaths returns the process's cgroup v2 path and its v1 memory
// controller path ("" when it has none) from /proc/self/cgroup. Inside a
// container they may not exist under the mount: the mount's own files
// are the container's then.
func (m memoryLimits) cgroupPaths() (v2, v1 string) {
	f, err := os.Open(m.procCgroup)
	if err != nil {
		return "/", ""
	}
	defer f.Close()
	v2 = "/"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		switch {
		case len(parts) != 3:
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case v1 == "" && containsField(parts[1], "memory"):
			v1 = parts[2]
		}
	}
	return v2, v1
}

func containsField(list, name string) bool {
	for _, f := range strings.Split(list, ",") {
		if f == name {
			return true
		}
	}
	return false
}

// readLimitFile reads a limit in bytes; "max" or a value of 2^60 or more
// (v1's "unlimited") is no limit.
func readLimitFile(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 {
		return 0, false
	}
	return n, true
}

// mib formats a size in MiB, rounded.
func mib(n int64) string {
	return fmt.Sprintf("%d MiB", (n+(1<<19))>>20)
}
