package state

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The audit log is rotated so that it does not grow for ever, and so that
// `syncd history` keeps its answer for the retention (sync.audit_retention):
//
//   - audit.jsonl, the live file, is only ever appended to. Once it is
//     larger than auditRotateSize, or its first line older than
//     auditRotateAge, it is renamed to audit-<time>.jsonl, <time> being the
//     rotation's (every line in it is older);
//   - a segment an hour old is compressed to audit-<time>.jsonl.gz (later,
//     not at once, so that an append that opened the file just before the
//     rename has long landed);
//   - a segment is deleted only once its <time> is older than the
//     retention: then every line in it is.
//
// Rotation runs at the start of an applying run, under the writer lock and
// after the writes an interrupted run left were settled (Recover reads the
// live file's tail), and not at all while any write is under way.

const (
	auditRotateSize  = 32 << 20
	auditRotateAge   = 31 * 24 * time.Hour
	auditCompressAge = time.Hour
	segmentPrefix    = "audit-"
	segmentLayout    = "20060102T150405Z"
)

// Rotation is what RotateAudit did.
type Rotation struct {
	Rotated    string   // the segment the live file became, if it was rotated
	Compressed []string // segments compressed
	Deleted    []string // segments past the retention
}

// RotateAudit rotates, compresses and deletes audit log files in the
// store's dir as described above. A store without a dir has no log.
func (s *Store) RotateAudit(now time.Time, retention time.Duration) (Rotation, error) {
	var r Rotation
	if s == nil || s.dir == "" {
		return r, nil
	}
	if s.ReadOnly() {
		return r, ErrReadOnly
	}
	if s.writesUnderWay() {
		return r, nil
	}
	var err error
	if r.Rotated, err = rotateLive(s.dir, now); err != nil {
		return r, err
	}
	segs, err := segments(s.dir)
	if err != nil {
		return r, err
	}
	for _, sg := range segs {
		switch {
		case sg.stamp.Add(retention).Before(now):
			if err := sg.remove(); err != nil {
				return r, err
			}
			r.Deleted = append(r.Deleted, sg.base())
		case sg.plain != "" && sg.stamp.Add(auditCompressAge).Before(now):
			if err := compress(sg); err != nil {
				return r, err
			}
			r.Compressed = append(r.Compressed, sg.base())
		}
	}
	return r, nil
}

func (s *Store) writesUnderWay() bool {
	n := 0
	_ = s.view(func(t kv) error {
		t.each(bucketJournal, func(string, []byte) { n++ })
		return nil
	})
	return n > 0
}

// rotateLive renames the live file to a segment when it is due.
func rotateLive(dir string, now time.Time) (string, error) {
	path := filepath.Join(dir, AuditFile)
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && st.Size() == 0) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if st.Size() < auditRotateSize {
		first, err := firstLineTime(path)
		if err != nil || first.IsZero() || now.Sub(first) < auditRotateAge {
			return "", err
		}
	}
	name := segmentPrefix + now.UTC().Format(segmentLayout) + ".jsonl"
	if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
		return "", nil // rotated this very second already
	}
	if err := os.Rename(path, filepath.Join(dir, name)); err != nil {
		return "", fmt.Errorf("rotate the audit log: %w", err)
	}
	return name, syncDir(dir)
}

func firstLineTime(path string) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l AuditLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && !l.Time.IsZero() {
			return l.Time, nil
		}
	}
	return time.Time{}, sc.Err()
}

// segment is one rotated file: plain, compressed, or both (a compression
// that stopped before removing the plain file; the compressed one is whole).
type segment struct {
	dir          string
	stamp        time.Time
	plain, gzip  string // file names, "" when absent
	stampDisplay string
}

func (sg segment) base() string { return segmentPrefix + sg.stampDisplay + ".jsonl" }

func (sg segment) remove() error {
	for _, f := range []string{sg.plain, sg.gzip} {
		if f == "" {
			continue
		}
		if err := os.Remove(filepath.Join(sg.dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// segments lists the rotated files of dir, newest first.
func segments(dir string) ([]segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	byStamp := map[string]*segment{}
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, segmentPrefix)
		if !ok {
			continue
		}
		stamp, gz := strings.CutSuffix(rest, ".jsonl.gz")
		if !gz {
			if stamp, ok = strings.CutSuffix(rest, ".jsonl"); !ok {
				continue
			}
		}
		t, err := time.Parse(segmentLayout, stamp)
		if err != nil {
			continue
		}
		sg := byStamp[stamp]
		if sg == nil {
			sg = &segment{dir: dir, stamp: t, stampDisplay: stamp}
			byStamp[stamp] = sg
		}
		if gz {
			sg.gzip = name
		} else {
			sg.plain = name
		}
	}
	out := make([]segment, 0, len(byStamp))
	for _, sg := range byStamp {
		out = append(out, *sg)
	}
	slices.SortFunc(out, func(a, b segment) int { return b.stamp.Compare(a.stamp) })
	return out, nil
}

// compress writes sg's plain file compressed, durably, then removes it.
func compress(sg segment) error {
	src := filepath.Join(sg.dir, sg.plain)
	dst := strings.TrimSuffix(src, ".jsonl") + ".jsonl.gz"
	if sg.gzip == "" {
		if err := writeGzip(src, dst); err != nil {
			return fmt.Errorf("compress %s: %w", sg.plain, err)
		}
	}
	if err := os.Remove(src); err != nil {
		return err
	}
	return syncDir(sg.dir)
}

func writeGzip(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	OwnLikeDir(tmp)
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// ReadAuditSince returns the audit lines of dir from since on, newest
// first, that keep accepts (nil: all), from the live file and every kept
// segment. Lines that are not JSON (torn by a crash) are skipped.
func ReadAuditSince(dir string, since time.Time, keep func(*AuditLine) bool) ([]AuditLine, error) {
	lines, _, err := ReadAuditCounting(dir, since, keep)
	return lines, err
}

// ReadAuditCounting is ReadAuditSince that also counts the lines it could
// not read (not JSON, or not an audit line): a history built from the rest
// must say it is incomplete.
func ReadAuditCounting(dir string, since time.Time, keep func(*AuditLine) bool) ([]AuditLine, int, error) {
	if dir == "" {
		return nil, 0, nil
	}
	segs, err := segments(dir)
	if err != nil {
		return nil, 0, err
	}
	unreadable := 0
	var out []AuditLine
	add := func(lines []AuditLine) {
		slices.Reverse(lines)
		out = append(out, lines...)
	}
	lines, bad, err := readLines(filepath.Join(dir, AuditFile), false, since, keep)
	if err != nil {
		return nil, 0, err
	}
	unreadable += bad
	add(lines)
	for _, sg := range segs {
		if sg.stamp.Before(since) {
			break // it and every older segment hold only older lines
		}
		name, gz := sg.plain, false
		if sg.gzip != "" {
			name, gz = sg.gzip, true
		}
		if lines, bad, err = readLines(filepath.Join(dir, name), gz, since, keep); err != nil {
			return nil, 0, err
		}
		unreadable += bad
		add(lines)
	}
	slices.SortStableFunc(out, func(a, b AuditLine) int { return b.Time.Compare(a.Time) })
	return out, unreadable, nil
}

// readLines reads one audit file, oldest first, and counts the lines it
// could not read; no file is no lines.
func readLines(path string, gz bool, since time.Time, keep func(*AuditLine) bool) ([]AuditLine, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []AuditLine
	bad := 0
	for sc.Scan() {
		var l AuditLine
		if json.Unmarshal(sc.Bytes(), &l) != nil || (l.RunID == "" && l.Kind == "") {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				bad++
			}
			continue
		}
		if l.Time.Before(since) {
			continue
		}
		if keep == nil || keep(&l) {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return out, bad, nil
}
