package ldap

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"
)

func entryMessage(dn string, attrs map[string][]string) []byte {
	var list []byte
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range attrs {
			if !yield(k) {
				return
			}
		}
	}) {
		var vals []byte
		for _, v := range attrs[name] {
			vals = append(vals, tlv(tagOctetString, []byte(v))...)
		}
		list = append(list, tlv(tagSequence, tlv(tagOctetString, []byte(name)), tlv(tagSet, vals))...)
	}
	op := tlv(appSearchEntry, tlv(tagOctetString, []byte(dn)), tlv(tagSequence, list))
	return tlv(tagSequence, berInt(tagInteger, 1), op)
}

func TestDecodeEntry(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 70000) // long-form lengths
	msg := entryMessage("uid=a,dc=x", map[string][]string{"Mail": {"A@x.org", "b@x.org"}, "objectGUID": {"\x00\x01\xff"}, "cn": {string(long)}})
	w := newWireConn(nil, time.Second)
	outer := &berReader{b: msg}
	body, err := outer.sub(tagSequence)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := body.int(tagInteger); err != nil || id != 1 {
		t.Fatalf("id %d, %v", id, err)
	}
	op, err := body.sub(appSearchEntry)
	if err != nil {
		t.Fatal(err)
	}
	e, err := w.decodeEntry(op)
	if err != nil {
		t.Fatal(err)
	}
	if e.DN != "uid=a,dc=x" || !slices.Equal(e.Values("mail"), []string{"A@x.org", "b@x.org"}) ||
		e.First("objectguid") != "\x00\x01\xff" || len(e.First("cn")) != 70000 {
		t.Errorf("decoded %+v", e)
	}
}

func TestBerInt(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 500, 65535, 1 << 31, -1, -128, -129} {
		r := &berReader{b: berInt(tagInteger, v)}
		if got, err := r.int(tagInteger); err != nil || got != v {
			t.Errorf("berInt(%d) decodes to %d, %v", v, got, err)
		}
	}
}

// FuzzDecodeEntry: whatever a server sends, decoding fails cleanly.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(entryMessage("cn=a", map[string][]string{"cn": {"a"}}))
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x03, 0x02, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		w := newWireConn(nil, time.Second)
		r := &berReader{b: b}
		body, err := r.sub(tagSequence)
		if err != nil {
			return
		}
		if _, err := body.int(tagInteger); err != nil {
			return
		}
		if op, err := body.sub(appSearchEntry); err == nil {
			_, _ = w.decodeEntry(op)
		}
		_, _, _ = pagingCookie(body)
	})
}

// streamConn is a net.Conn whose peer says exactly the bytes given.
type streamConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *streamConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *streamConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }
func (c *streamConn) Close() error                     { return nil }

// FuzzSearchStream: whatever byte stream a server answers a search with,
// the reader neither panics nor loops, and it reports success only after a
// SearchResultDone that said so.
func FuzzSearchStream(f *testing.F) {
	s := &fakeServer{}
	done := s.msg(1, s.result(appSearchDone, 0, ""), s.pagingResponse([]byte("next")))
	f.Add(append(s.msg(1, s.entry("uid=a,dc=x", "mail", "a@x.org", "cn", "A")), done...))
	f.Add(append(s.msg(1, s.tlv(appSearchReference, tlv(tagOctetString, []byte("ldap://x/")))), done...))
	f.Add(append(s.msg(1, s.tlv(appIntermediate)), s.msg(1, s.result(appSearchDone, 4, "limit"))...))
	f.Add(s.msg(0, s.result(appExtendedResp, 52, "bye")))
	long := &fakeServer{long: true}
	f.Add(append(long.msg(1, long.entry("uid=a,dc=x", "mail", "a@x.org")), long.msg(1, long.result(appSearchDone, 0, ""))...))
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		w := newWireConn(&streamConn{r: bytes.NewReader(b)}, time.Second)
		entries := 0
		p, err := w.searchPage(searchRequest("dc=x", 2, 0, nil, nil), nil, func(e *Entry) error {
			entries++
			return nil
		}, entries%2 == 0)
		if err == nil && !bytes.Contains(b, []byte{appSearchDone}) {
			t.Fatalf("success without a SearchResultDone (%d entries, %+v)", entries, p)
		}
		if errors.Is(err, errClosed) && w.broken == nil {
			t.Fatalf("a stream cut short left the connection usable: %v", err)
		}
	})
}

// A page read with reuse decodes every entry into the same Entry: an
// attribute of one entry is not seen in the next, and the strings and
// value lists taken from an entry stay as they were.
func TestReusedEntryCarriesNothingOver(t *testing.T) {
	s := &fakeServer{}
	stream := append(s.msg(1, s.entry("uid=a,dc=x", "mail", "a@x.org", "cn", "A")), s.msg(1, s.entry("uid=b,dc=x", "cn", "B"))...)
	stream = append(stream, s.msg(1, s.result(appSearchDone, 0, ""))...)
	w := newWireConn(&streamConn{r: bytes.NewReader(stream)}, time.Second)
	var seen []*Entry
	var dns, mails []string
	var cns [][]string
	_, err := w.searchPage(searchRequest("dc=x", 2, 0, nil, nil), nil, func(e *Entry) error {
		seen = append(seen, e)
		dns, mails, cns = append(dns, e.DN), append(mails, e.First("mail")), append(cns, e.Values("cn"))
		return nil
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != seen[1] {
		t.Fatalf("the entries were not decoded into one Entry")
	}
	if fmt.Sprint(dns, mails, cns) != "[uid=a,dc=x uid=b,dc=x] [a@x.org ] [[A] [B]]" {
		t.Errorf("read %v %q %v", dns, mails, cns)
	}
}

// The values of an entry share one slice and one copy of the message:
// each attribute's values stay its own when appended to (range
// retrieval), a name met twice keeps both lists, and nothing aliases the
// read buffer, which the next message overwrites.
func TestDecodeEntryValuesApart(t *testing.T) {
	attr := func(name string, vals ...string) []byte {
		var set []byte
		for _, v := range vals {
			set = append(set, tlv(tagOctetString, []byte(v))...)
		}
		return tlv(tagSequence, tlv(tagOctetString, []byte(name)), tlv(tagSet, set))
	}
	list := slices.Concat(attr("member", "m1", "m2"), attr("cn", "g"), attr("mail", "g@x.org"), attr("member", "m3"), attr("empty"))
	msg := tlv(appSearchEntry, tlv(tagOctetString, []byte("cn=g,dc=x")), tlv(tagSequence, list))
	op, err := (&berReader{b: msg}).sub(appSearchEntry)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newWireConn(nil, time.Second).decodeEntry(op)
	if err != nil {
		t.Fatal(err)
	}
	for i := range msg {
		msg[i] = 'X' // the buffer reused for the next message
	}
	if e.DN != "cn=g,dc=x" || !slices.Equal(e.Values("member"), []string{"m1", "m2", "m3"}) || e.First("cn") != "g" || e.Values("empty") != nil {
		t.Fatalf("decoded %+v", e)
	}
	first := e.Attrs["cn"]
	e.Attrs["cn"] = append(e.Attrs["cn"], "more")
	if !slices.Equal(first, []string{"g"}) || e.First("mail") != "g@x.org" || !slices.Equal(e.Values("member"), []string{"m1", "m2", "m3"}) {
		t.Errorf("appending to cn changed another attribute: %+v", e)
	}
}
