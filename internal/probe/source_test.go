package probe

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
)

type fakeReader struct {
	dir   *directory.Directory
	err   error
	reads int
}

func (f *fakeReader) Read(context.Context) (*directory.Directory, error) {
	f.reads++
	return f.dir, f.err
}

func TestSource(t *testing.T) {
	ldif := config.Source{Name: "corp", LDIF: &config.LDIF{Path: "d.ldif"}}
	dir := &directory.Directory{Source: "corp", Groups: []*directory.Group{
		{Name: "ok"}, {Name: "big", Err: errors.New("Size Limit Exceeded")}}}
	r := &fakeReader{dir: dir}
	open := func(config.Source) (Reader, error) { return r, nil }
	got, err := Source(context.Background(), ldif, "", open)
	if err == nil || !strings.Contains(err.Error(), "group big could not be read completely: Size Limit Exceeded") {
		t.Errorf("error %v, want the unknown group named", err)
	}
	if got.Dir != dir || len(got.Unknown()) != 1 {
		t.Errorf("read %+v, want the directory with one unknown group", got)
	}

	// A scim_receiver nobody pushed to yet is not read and not a failure.
	receiver := config.Source{Name: "entra", SCIMReceiver: &config.SCIMReceiver{}}
	r = &fakeReader{err: errors.New("read")}
	got, err = Source(context.Background(), receiver, t.TempDir(), open)
	if err != nil || !got.NoPush || got.Dir != nil || r.reads != 0 {
		t.Errorf("before the first push: %+v, %v, %d reads; want no push, no read, no error", got, err, r.reads)
	}

	boom := errors.New("no such file")
	got, err = Source(context.Background(), ldif, "", func(config.Source) (Reader, error) { return nil, boom })
	if !errors.Is(err, boom) || got.Dir != nil {
		t.Errorf("open failed: %+v, %v", got, err)
	}
}
