package state

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An append the disk cuts short leaves no fragment: the audit log stays
// whole lines (a fragment would be an unreadable line, and the space it
// took is what the next append needs).
func TestAuditAppendCutShortLeavesNoFragment(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("SYNCD_REQUIRE_SERVERS") == "1" {
			t.Fatalf("mount a tmpfs: %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })

	first := []AuditLine{{RunID: "run-1", Kind: "add_members", Group: "Platform", Result: ResultApplied}}
	if err := appendAudit(dir, first); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	// Fill the disk: what is left is the rest of the log's one page.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := filler.Write(make([]byte, 512)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	filler.Close()
	big := []AuditLine{{RunID: "run-1", Kind: "add_members", Group: strings.Repeat("g", 8192), Result: ResultApplied}}
	if err := appendAudit(dir, big); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append to a full disk: %v, want ENOSPC", err)
	}
	after, err := os.ReadFile(filepath.Join(dir, AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, before) {
		t.Errorf("the log after an append cut short is %d bytes (%q...), want the %d it had", len(after), after[:min(len(after), 120)], len(before))
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if err := appendAudit(dir, first); err != nil {
		t.Fatal(err)
	}
	lines, err := ReadAudit(dir, 1<<20)
	if err != nil || len(lines) != 2 {
		t.Errorf("read back %d lines (%v), want 2 whole ones", len(lines), err)
	}
}
