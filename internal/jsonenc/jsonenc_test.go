package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "<a&b>", "\x00\x1f\b\f\n\r\t\x7f", "\xff\xfe", "\u2028\u2029", "Zoë 李雷 👩‍💻", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := String([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("String(%q) = %s, want x%s", s, got, want)
		}
		list := []string{s, "", s + "<"}
		want, _ = json.Marshal(list)
		if got := Strings(nil, list); !bytes.Equal(got, want) {
			t.Errorf("Strings = %s, want %s", got, want)
		}
	})
}

func TestValuesLikeEncodingJSON(t *testing.T) {
	for _, c := range []struct {
		got  []byte
		want any
	}{
		{Strings(nil, nil), []string(nil)},
		{Strings(nil, []string{}), []string{}},
		{Ints(nil, nil), []int(nil)},
		{Ints(nil, []int{}), []int{}},
		{Ints(nil, []int{-3, 0, 9_000_000_000}), []int{-3, 0, 9_000_000_000}},
		{Int(nil, -42), -42},
		{Int(nil, uint64(1<<63)), uint64(1 << 63)},
		{Bool(nil, true), true},
		{Time(nil, time.Date(2026, 12, 7, 1, 2, 3, 450_000_000, time.UTC)), time.Date(2026, 12, 7, 1, 2, 3, 450_000_000, time.UTC)},
		{Time(nil, time.Date(2026, 12, 7, 1, 2, 3, 0, time.FixedZone("", 3600))), time.Date(2026, 12, 7, 1, 2, 3, 0, time.FixedZone("", 3600))},
		{Time(nil, time.Time{}), time.Time{}},
	} {
		want, err := json.Marshal(c.want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.got, want) {
			t.Errorf("got %s, want %s", c.got, want)
		}
	}
}
