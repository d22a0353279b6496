package ldap

import (
	"bytes"
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
