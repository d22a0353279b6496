package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// AuditFile is the audit log inside the state dir (DESIGN.md §9): one JSON
// object per line, appended and fsynced before the next write is sent.
// Lines only ever get appended, so the newest are at the end: ReadAudit
// reads the file backwards from there.
const AuditFile = "audit.jsonl"

// Results of a write in the audit log.
const (
	ResultApplied = "applied"
	ResultFailed  = "failed"
	ResultUnknown = "unknown" // sent, but its answer was lost (or syncd stopped before recording it)
)

// AuditUser is a person an audited write touched.
type AuditUser struct {
	ID    int    `json:"id"`
	Email string `json:"email"`
}

// AuditLine is one logical change of one write, or an operator's approval
// of a held change (approvals.go). The first fields are the contract's;
// the others are extra: the lines of one write (a PUT can add and remove
// at once) share its Seq, the write's number in this state dir, and Call
// is the API call that carried it. Approval is the id of the approved held
// change a write applied, or that an approval line records.
type AuditLine struct {
	Time   time.Time   `json:"time"`
	RunID  string      `json:"run_id"`
	Kind   string      `json:"kind"`
	Group  string      `json:"group"`
	Tag    string      `json:"tag"`
	Users  []AuditUser `json:"users"`
	Groups []string    `json:"groups"`
	Result string      `json:"result"`
	Error  string      `json:"error"`
	Seq    uint64      `json:"seq"`
	Call   string      `json:"call,omitempty"`

	Approval string     `json:"approval,omitempty"`
	By       string     `json:"by,omitempty"`      // who approved (approval lines)
	Reason   string     `json:"reason,omitempty"`  // why the approved change was held
	Expires  *time.Time `json:"expires,omitempty"` // until when an approval was valid
}

// appendAudit appends lines to the audit log in dir and fsyncs it. A torn
// last line (a crash mid-append) is closed first so the new lines stay
// readable.
func appendAudit(dir string, lines []AuditLine) error { return writeAudit(dir, lines, nil) }

// writeAudit is appendAudit with the users of some lines already encoded
// (users[i] for lines[i], nil: encode them).
func writeAudit(dir string, lines []AuditLine, users [][]byte) error {
	if dir == "" || len(lines) == 0 {
		return nil
	}
	var buf bytes.Buffer
	var data []byte
	for i, l := range lines {
		if l.Users == nil {
			l.Users = []AuditUser{}
		}
		if l.Groups == nil {
			l.Groups = []string{}
		}
		var enc []byte
		if i < len(users) {
			enc = users[i]
		}
		data = append(appendAuditLineWith(data[:0], &l, enc), '\n')
		buf.Write(data)
	}
	path := filepath.Join(dir, AuditFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	// One open for all: an empty file is new (its directory entry is
	// made durable), a non-empty one is checked for a torn last line.
	size, err := fileSize(f)
	switch {
	case err != nil:
		f.Close()
		return fmt.Errorf("audit log: %w", err)
	case size == 0:
		OwnLikeDir(path)
		if err := syncDir(dir); err != nil {
			f.Close()
			return err
		}
	case endsTorn(f, size):
		buf = *bytes.NewBuffer(append([]byte{'\n'}, buf.Bytes()...))
	}
	if n, werr := f.Write(buf.Bytes()); werr != nil {
		// A write cut short (a full disk) leaves no fragment behind: the
		// log stays whole lines, and the space is given back. Only when
		// the fragment is the file's end: another process's lines
		// appended meanwhile are not cut.
		if cur, serr := fileSize(f); serr == nil && cur == size+int64(n) {
			_ = f.Truncate(size)
		}
		err = werr
	} else {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit log %s: %w", path, err)
	}
	return nil
}

func fileSize(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// endsTorn tells whether a file of size bytes (more than none) does not
// end with a newline; one that cannot be read is taken as torn.
func endsTorn(f *os.File, size int64) bool {
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size-1); err != nil {
		return true
	}
	return b[0] != '\n'
}

// ReadAudit returns the audit lines of the last maxBytes of the log in
// dir, newest first; a line that is not JSON (torn by a crash) is skipped.
// No log yet is no lines.
func ReadAudit(dir string, maxBytes int64) ([]AuditLine, error) {
	f, err := os.Open(filepath.Join(dir, AuditFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	from := max(st.Size()-maxBytes, 0)
	sc := bufio.NewScanner(io.NewSectionReader(f, from, st.Size()-from))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []AuditLine
	first := false // a first line that started before from is cut: skip it
	if from > 0 {
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, from-1); err != nil {
			return nil, err
		}
		first = b[0] != '\n'
	}
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		var l AuditLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && (l.RunID != "" || l.Kind != "") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}
