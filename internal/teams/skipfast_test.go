package teams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// checkSkipValue holds skipValue to encoding/json on data: whatever it
// passes is the first JSON value of data, valid, ending where it says;
// whatever encoding/json finds valid and shallow enough, it passes.
func checkSkipValue(t *testing.T, data []byte) {
	t.Helper()
	in := append(bytes.Clone(data), ' ') // a number may end the input: one more byte says it ended
	end, ok := skipValue(in, 0, maxDepth)
	dec := json.NewDecoder(bytes.NewReader(in))
	var first json.RawMessage
	derr := dec.Decode(&first)
	switch {
	case ok && derr != nil:
		t.Errorf("skipValue(%q) passed %q, encoding/json: %v", data, in[:end], derr)
	case ok && int64(end) != dec.InputOffset():
		t.Errorf("skipValue(%q) ended at %d, encoding/json at %d", data, end, dec.InputOffset())
	case !ok && json.Valid(data) && nesting(data) <= maxFastNest:
		t.Errorf("skipValue(%q) did not pass valid JSON", data)
	}
}

// nesting is how deep a valid JSON document nests.
func nesting(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	depth, most := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return most
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			most = max(most, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func TestSkipValueMatchesEncodingJSON(t *testing.T) {
	for _, c := range scanCases {
		checkSkipValue(t, []byte(c))
		checkSkipValue(t, []byte(`[`+c+`]`))
	}
	for _, c := range []string{`1`, `-0`, `0.5e-3`, `"x"`, `true`, `false`, `null`, ` [ ] `, `{ }`, `[1,[2,[3]]]`,
		`{"a" : {"b":[ ]} , "c":1}`, `[1]x`, `[1] [2]`, `[01]`, `[-]`, `{"a":1,}`, `[tru]`, `[nul`, `"\u00"`} {
		checkSkipValue(t, []byte(c))
	}
	// Nested at and past how deep the fast path goes, and past the
	// scanner's own limit.
	for _, n := range []int{maxFastNest - 1, maxFastNest, maxFastNest + 1} {
		checkSkipValue(t, []byte(strings.Repeat("[", n)+strings.Repeat("]", n)))
	}
	if _, ok := skipValue([]byte("[[[]]] "), 0, 2); ok {
		t.Error("skipValue nested three levels deep with room for two")
	}
	// Generated values, whole, cut short and with a byte changed.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		v := randomJSON(rng, 0)
		checkSkipValue(t, v)
		checkSkipValue(t, v[:rng.IntN(len(v)+1)])
		bad := bytes.Clone(v)
		const swaps = "{}[]\",:\\ 0-.eE+tfnu\x01\xff"
		bad[rng.IntN(len(bad))] = swaps[rng.IntN(len(swaps))]
		checkSkipValue(t, bad)
	}
}

// randomJSON is a valid JSON value of the shapes an answer holds.
func randomJSON(rng *rand.Rand, depth int) []byte {
	k := rng.IntN(9)
	if depth > 4 {
		k = rng.IntN(6)
	}
	switch k {
	case 0:
		return []byte(fmt.Sprint(rng.IntN(2000) - 1000))
	case 1:
		return []byte(fmt.Sprintf("%g", rng.NormFloat64()*1e6))
	case 2:
		return []byte(`"plain text"`)
	case 3:
		return []byte(`"esc\"aped\\ \u00e9 \n caf` + "\xc3\xa9" + `"`)
	case 4:
		return []byte([]string{"true", "false", "null"}[rng.IntN(3)])
	case 5:
		return []byte(`""`)
	case 6, 7:
		var b bytes.Buffer
		b.WriteByte('{')
		for i := range rng.IntN(4) {
			if i > 0 {
				b.WriteString(" ,")
			}
			fmt.Fprintf(&b, "\"k%d\" :\t", i)
			b.Write(randomJSON(rng, depth+1))
		}
		b.WriteByte('}')
		return b.Bytes()
	default:
		var b bytes.Buffer
		b.WriteString("[ ")
		for i := range rng.IntN(4) {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.Write(randomJSON(rng, depth+1))
		}
		b.WriteByte(']')
		return b.Bytes()
	}
}

// FuzzSkipValue looks for more with go test -fuzz FuzzSkipValue.
func FuzzSkipValue(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkSkipValue(t, data) })
}

// A create's answer is skipped on the fast path: its members whole in the
// buffer take one call, not one per value.
func TestCreateAnswerMembersSkippedFast(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"id":7,"name":"Platform","users":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"accountId":%d,"name":"Person %d","role":"Registered","reputation":1,"avatarUrl":"https://x/%d.png","webUrl":"https://x/users/%d"}`, i+1, i+1, i, i, i)
	}
	b.WriteString(`],"description":"x"}`)
	s := newScanner(strings.NewReader(b.String()))
	defer s.release()
	if err := s.fill(); err != nil {
		t.Fatal(err)
	}
	s.i = strings.Index(b.String(), "[")
	if end, ok := skipValue(s.buf[:s.n], s.i, maxDepth); !ok || s.buf[end] != ',' {
		t.Fatalf("the members were not skipped on the fast path (ok %v)", ok)
	}
}
