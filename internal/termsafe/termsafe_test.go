package termsafe_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/syncd/syncd/internal/termsafe"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"Ada Lovelace":                    "Ada Lovelace",
		"Zoë Ñúñez 李雷 👩‍💻":                "Zoë Ñúñez 李雷 👩‍💻", // ZWJ in an emoji is kept
		`cn=Lee\, Ann,ou=people`:          `cn=Lee\, Ann,ou=people`,
		"red \x1b[31mALERT\x1b[0m":        `red \x1b[31mALERT\x1b[0m`,
		"title \x1b]0;pwned\x07":          `title \x1b]0;pwned\x07`,
		"two\nlines\r\tand tab":           `two\x0alines\x0d\x09and tab`,
		"nul\x00 del\x7f":                 `nul\x00 del\x7f`,
		"c1 \u009b31m csi":                `c1 \u009b31m csi`,
		"bad byte \x9b31m":                `bad byte \x9b31m`,
		"admin\u202egnp.exe":              `admin\u202egnp.exe`,
		"iso \u2066x\u2069 \u200f \u061c": `iso \u2066x\u2069 \u200f \u061c`,
		"lre \u202a pdf \u202c":           `lre \u202a pdf \u202c`,
		"sep \u2028 \u2029":               `sep \u2028 \u2029`,
		"replacement \ufffd kept":         "replacement \ufffd kept",
	} {
		if got := termsafe.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever goes in, nothing a terminal acts on comes out.
func TestStringLeavesNoControl(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	all.WriteString("\xff\xfe\x80")
	out := termsafe.String(all.String())
	for i, r := range out {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f {
			t.Fatalf("output holds %U at byte %d", r, i)
		}
	}
	if !strings.Contains(out, `\xff\xfe\x80`) {
		t.Error("invalid bytes are not shown escaped")
	}
}

type stringer struct{}

func (stringer) String() string { return "s\x1b" }

func TestFprintf(t *testing.T) {
	var b strings.Builder
	termsafe.Fprintf(&b, "%s|%v|%s|%v|%d\n", "a\x1b[2J", errors.New("e\u202e"), stringer{}, []string{"x\n", "y"}, 7)
	want := `a\x1b[2J|e\u202e|s\x1b|[x\x0a y]|7` + "\n"
	if b.String() != want {
		t.Errorf("Fprintf = %q, want %q", b.String(), want)
	}
}

// reference is String as first written, rune by rune through fmt: Append
// and the fast paths must give exactly its output.
func reference(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		bad := unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && bad:
			fmt.Fprintf(&b, `\x%02x`, r)
		case bad:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "Ada", "a\x1b[2Jb", "Zoë \u202e\xff x", "\ufffd", "~\x7f\x80 ", "\u0085\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := reference(s)
		if got := string(termsafe.Append([]byte("pre|"), s)); got != "pre|"+want {
			t.Errorf("Append(%q) = %q, want %q", s, got, "pre|"+want)
		}
		if got := termsafe.String(s); got != want {
			t.Errorf("String(%q) = %q, want %q", s, got, want)
		}
	})
}
