package teams

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHost writes a /proc/self/cgroup and cgroup files under a temp dir.
func fakeHost(t *testing.T, goMemLimit int64, procCgroup string, files map[string]string) memoryLimits {
	t.Helper()
	dir := t.TempDir()
	m := memoryLimits{
		goMemLimit:  func() int64 { return goMemLimit },
		procCgroup:  filepath.Join(dir, "cgroup"),
		cgroupMount: filepath.Join(dir, "fs"),
	}
	if err := os.WriteFile(m.procCgroup, []byte(procCgroup), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(m.cgroupMount, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

const noGoMemLimit = int64(^uint64(0) >> 1) // math.MaxInt64: GOMEMLIMIT unset

func TestAnswerLimitFromMemoryLimits(t *testing.T) {
	cases := []struct {
		name       string
		goMemLimit int64
		proc       string
		files      map[string]string
		want       int64
		source     string
	}{
		{"nothing set", noGoMemLimit, "0::/\n", nil, 256 << 20, "the client's maximum"},
		{"GOMEMLIMIT", 128 << 20, "0::/\n", nil, 16 << 20, "1/8 of the 128 MiB memory limit set by GOMEMLIMIT; raise GOMEMLIMIT"},
		{"cgroup v2, limit on the pod above", noGoMemLimit, "0::/kubepods/pod1/c1\n", map[string]string{
			"kubepods/pod1/c1/memory.max": "max", "kubepods/pod1/memory.max": "268435456"}, 32 << 20, "256 MiB memory limit set by the container's memory limit (memory.max)"},
		{"cgroup v2 in its own namespace", noGoMemLimit, "0::/\n", map[string]string{"memory.max": "536870912"}, 64 << 20, "memory.max"},
		{"cgroup v1", noGoMemLimit, "12:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n", map[string]string{
			"memory/docker/abc/memory.limit_in_bytes": "4294967296"}, 256 << 20, "the client's maximum"},
		{"cgroup v1, smaller", noGoMemLimit, "4:memory:/docker/abc\n", map[string]string{
			"memory/docker/abc/memory.limit_in_bytes": "268435456"}, 32 << 20, "memory.limit_in_bytes"},
		{"cgroup v1 unlimited", noGoMemLimit, "4:memory:/docker/abc\n", map[string]string{
			"memory/docker/abc/memory.limit_in_bytes": "9223372036854771712"}, 256 << 20, "the client's maximum"},
		{"lower of both", 200 << 20, "0::/\n", map[string]string{"memory.max": "1073741824"}, 25 << 20, "GOMEMLIMIT"},
		{"tiny limit has a floor", 4 << 20, "0::/\n", nil, 1 << 20, "GOMEMLIMIT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := fakeHost(t, tc.goMemLimit, tc.proc, tc.files).limit()
			if got.bytes != tc.want || !strings.Contains(got.source, tc.source) {
				t.Errorf("limit = %d (%s), want %d (%s)", got.bytes, got.source, tc.want, tc.source)
			}
		})
	}
}
