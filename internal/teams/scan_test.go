package teams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// The scanner must read every answer exactly as encoding/json did before
// it (readObject and readPage were json.Decoder): the same values, and
// the same kind of failure (a *shapeError for an answer that is not
// JSON or has a value of the wrong kind, io.ErrUnexpectedEOF for one cut
// off). These tests hold both to the same inputs.

// outcome classifies a reader's error.
func outcome(err error) string {
	var shape *shapeError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &shape):
		return "shape"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "cut off"
	}
	return "other: " + err.Error()
}

// viaEncodingJSON is how readObject read an answer before the scanner.
func viaEncodingJSON[T any](data []byte) (T, error) {
	var v T
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return v, shapeErrorf("the answer is empty")
	case trimmed[0] != '{':
		return v, shapeErrorf("the answer is not a JSON object")
	}
	err := json.NewDecoder(bytes.NewReader(data)).Decode(&v)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return v, jsonError(err)
}

// viaScanner reads data with readObject, a byte at a time when slow is
// set (every token then straddles a refill).
func viaScanner[T any](data []byte, slow bool) (T, error) {
	var v T
	var r io.Reader = bytes.NewReader(data)
	if slow {
		r = iotest.OneByteReader(r)
	}
	err := readObject(&v, nil)(r)
	return v, err
}

// same checks that the scanner and encoding/json agree on data for T.
func same[T any](t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := viaEncodingJSON[T](data)
	for _, slow := range []bool{false, true} {
		got, err := viaScanner[T](data, slow)
		if outcome(err) != outcome(wantErr) {
			t.Fatalf("%T from %q (one byte at a time: %v): got %v, want %v (%v)", got, data, slow, outcome(err), outcome(wantErr), wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%T from %q (one byte at a time: %v):\ngot  %#v\nwant %#v", got, data, slow, got, want)
		}
	}
}

func sameForAll(t *testing.T, data []byte) {
	t.Helper()
	same[UserGroup](t, data)
	same[User](t, data)
	sameAs(t, data, smesOf)
	sameRoster(t, data)
	sameAccount(t, data)
	sameAs(t, data, tagOf)
	sameAs(t, data, createdOf)
}

// sameAs checks that the scanner reads into R what encoding/json reads
// into the model M, as project reduces an M to an R, and refuses what it
// refuses.
func sameAs[M, R any](t *testing.T, data []byte, project func(M) R) {
	t.Helper()
	model, wantErr := viaEncodingJSON[M](data)
	for _, slow := range []bool{false, true} {
		got, err := viaScanner[R](data, slow)
		if outcome(err) != outcome(wantErr) {
			t.Fatalf("%T from %q (one byte at a time: %v): got %v, want %v (%v)", got, data, slow, outcome(err), outcome(wantErr), wantErr)
		}
		if want := project(model); err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%T from %q (one byte at a time: %v):\ngot  %#v\nwant %#v", got, data, slow, got, want)
		}
	}
}

// createdModel is a create's answer as Created reads it: a
// UserGroupResponseModel whose users must be JSON, of any shape.
type createdModel struct {
	ID          int             `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Users       json.RawMessage `json:"users"`
}

func createdOf(m createdModel) Created { return Created{ID: m.ID, Name: m.Name} }

// smesModel and tagModel are SubjectMatterExpertResponseModel and
// TagResponseModel as the spec has them, for encoding/json.
type smesModel struct {
	Users      []UserSummary `json:"users"`
	UserGroups []UserGroup   `json:"userGroups"`
}

type tagModel struct {
	Tag
	SubjectMatterExperts *smesModel `json:"subjectMatterExperts,omitempty"` // hides Tag's
}

func tagOf(m tagModel) Tag {
	t := m.Tag
	if m.SubjectMatterExperts != nil {
		t.SubjectMatterExperts = ptr(smesOf(*m.SubjectMatterExperts))
	}
	return t
}

func smesOf(m smesModel) SMEs {
	s := SMEs{Users: membersOf(m.Users)}
	if m.UserGroups != nil {
		s.UserGroups = []Roster{}
	}
	for _, g := range m.UserGroups {
		r := Roster{ID: g.ID, Name: g.Name, Description: g.Description}
		ms := membersOf(g.Users)
		r.UserIDs, r.names, r.ends = ms.IDs, ms.names, ms.ends
		s.UserGroups = append(s.UserGroups, r)
	}
	return s
}

// membersOf is what Members read of users hold.
func membersOf(users []UserSummary) Members {
	if users == nil {
		return Members{}
	}
	m := Members{IDs: []int{}, ends: []int32{}}
	var names []byte
	for _, u := range users {
		names = append(names, u.Name...)
		m.IDs, m.ends = append(m.IDs, u.ID), append(m.ends, int32(len(names)))
	}
	m.names = string(names)
	return m
}

func ptr[T any](v T) *T { return &v }

// sameRoster checks that a Roster holds what a UserGroup holds.
func sameRoster(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := viaEncodingJSON[UserGroup](data)
	for _, slow := range []bool{false, true} {
		got, err := viaScanner[Roster](data, slow)
		if outcome(err) != outcome(wantErr) {
			t.Fatalf("Roster from %q (one byte at a time: %v): got %v, want %v (%v)", data, slow, outcome(err), outcome(wantErr), wantErr)
		}
		if err != nil {
			continue
		}
		ok := got.ID == want.ID && got.Name == want.Name && got.Description == want.Description &&
			(got.UserIDs == nil) == (want.Users == nil) && len(got.UserIDs) == len(want.Users)
		for i := 0; ok && i < len(want.Users); i++ {
			ok = got.UserIDs[i] == want.Users[i].ID && got.UserName(i) == want.Users[i].Name
		}
		if !ok {
			t.Fatalf("Roster from %q (one byte at a time: %v):\ngot  %#v\nwant %#v", data, slow, got, want)
		}
	}
}

// sameAccount checks that an Account holds what a User holds, and that
// it refuses what a User refuses.
func sameAccount(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := viaEncodingJSON[User](data)
	for _, slow := range []bool{false, true} {
		got, err := viaScanner[Account](data, slow)
		if outcome(err) != outcome(wantErr) {
			t.Fatalf("Account from %q (one byte at a time: %v): got %v, want %v (%v)", data, slow, outcome(err), outcome(wantErr), wantErr)
		}
		if err != nil {
			continue
		}
		email := ""
		if want.Email != nil {
			email = *want.Email
		}
		if got != (Account{ID: want.ID, Name: want.Name, Email: email}) {
			t.Fatalf("Account from %q (one byte at a time: %v):\ngot  %#v\nwant %#v", data, slow, got, want)
		}
	}
}

var scanCases = []string{
	// what the API sends
	`{"id":7,"name":"Platform","description":"d","users":[{"id":2,"accountId":12,"name":"Ann","avatarUrl":"https://x/a.png","webUrl":"https://x/users/2","reputation":5,"role":"Registered"}]}`,
	`{"id":2,"accountId":null,"name":"Ann","email":"ann@example.com","externalId":null,"department":"R&D","jobTitle":"Dev","role":"Admin"}`,
	`{"users":[{"id":3,"name":"Bo"}],"userGroups":[{"id":9,"name":"G","description":"","users":[]}]}`,
	`{"id":1000,"name":"kubernetes","subjectMatterExpertCount":null,"subjectMatterExperts":{"users":[],"userGroups":[]}}`,
	`{"id":5,"name":"go","description":"d","postCount":12,"subjectMatterExpertCount":3,"watcherCount":1,"creationDate":"2022-09-06T14:28:45.473","hasSynonyms":true,"webUrl":"https://x/tags/go","subjectMatterExperts":{"users":[{"id":3,"name":"Bo"}],"userGroups":[{"id":9,"name":"G","users":[]}]}}`,
	`{"id":5,"hasSynonyms":false,"subjectMatterExperts":null}`, `{"hasSynonyms":null}`, `{"hasSynonyms":"true"}`,
	`{"hasSynonyms":1}`, `{"subjectMatterExperts":[]}`, `{"subjectMatterExperts":{"users":null}}`, `{"hasSynonyms":tru}`,
	"  \r\n\t{ \"id\" : 7 , \"users\" : [ ] }  trailing bytes are never read",
	// null, empty, missing
	`{}`, `{"users":null}`, `{"users":[]}`, `{"users":[null]}`, `{"id":null,"name":null}`,
	`{"accountId":null}`, `{"accountId":0}`, `{"email":""}`, `{"email":null}`,
	`{"users":[],"userGroups":null}`, `{"userGroups":[null,{"users":null}]}`,
	// keys: case, duplicates, escapes, unknown members of every kind
	`{"ID":1,"Name":"x","USERS":[{"ID":2}]}`, `{"id":1,"id":2}`, `{"users":[{"id":1}],"users":[]}`,
	`{"\u0069d":5}`, `{"i\"d":5}`, `{"extra":{"a":[1,2,{"b":null}],"c":true,"d":false},"id":3}`,
	`{"x":-0.5e+10,"y":1E3,"z":0,"w":-0,"id":4}`, `{"userſ":[{"id":1}]}`, `{"\u212aey":1}`,
	// strings
	`{"name":"a\"b\\c\/d\b\f\n\r\t"}`, `{"name":"\u00e9\u4e2d\ud83d\ude00"}`, `{"name":"\ud83d"}`,
	`{"name":"\ud83dx"}`, `{"name":"\ude00\ud83d"}`, "{\"name\":\"caf\xc3\xa9\"}", "{\"name\":\"bad\xff\xfeutf8\"}",
	"{\"name\":\"cut\xe2\x82\"}", `{"name":"\u0000"}`,
	// numbers into int fields
	`{"id":1.5}`, `{"id":1e2}`, `{"id":-3}`, `{"id":99999999999999999999}`, `{"id":9223372036854775807}`,
	`{"id":-9223372036854775808}`, `{"id":"7"}`, `{"id":true}`, `{"id":{}}`, `{"id":[]}`, `{"accountId":"x"}`,
	`{"name":5}`, `{"name":{}}`, `{"users":{}}`, `{"users":"x"}`, `{"users":[1]}`, `{"users":[[]]}`,
	`{"email":7}`, `{"id":"x","name":bad}`,
	// the fast paths: keys matched in place, plain integers
	`{"ID":1,"id":2}`, `{"id":1,"ID":2}`, `{"idx":1,"id":2}`, `{"i":1,"d":2}`, `{"id":0}`, `{"id":00}`,
	`{"id":123456789012345678}`, `{"id":1234567890123456789}`, `{"id":12345678901234567890}`,
	"{\"id\":7\t,\"name\":\"x\"\r\n}", `{"users":[{"id":7}]}`, `{"id":7]`, `{"id":7"}`, `{"id":7-}`,
	// not JSON
	``, `   `, `null`, `[]`, `"x"`, `{`, `{"id"`, `{"id":`, `{"id":1`, `{"id":1,`, `{"id":1,}`, `{,}`,
	`{"id":01}`, `{"id":1x}`, `{"id":-}`, `{"id":1.}`, `{"id":.5}`, `{"id":1e}`, `{"id":+1}`, `{"a":nul}`,
	`{"a":nullx}`, `{"a":tru}`, `{"a":True}`, `{"a":"x}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`,
	"{\"a\":\"tab\there\"}", `{"a" 1}`, `{"a":1 "b":2}`, `{"a":[1 2]}`, `{"a":[1,]}`, `{"a":[,1]}`,
	`{'a':1}`, `{a:1}`, `{"a":1}}`, `{"users":[{"id":1},{"id":2}`, `{"users":[{"id":1},`,
}

func TestScanMatchesEncodingJSON(t *testing.T) {
	for _, c := range scanCases {
		sameForAll(t, []byte(c))
	}
	deep := strings.Repeat(`{"a":[`, maxDepth/2+1) + strings.Repeat(`]}`, maxDepth/2+1)
	sameForAll(t, []byte(`{"x":`+deep+`}`))
}

// FuzzScan holds the scanner to encoding/json on any input; go test runs
// the cases above, go test -fuzz FuzzScan looks for more.
func FuzzScan(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameForAll(t, data)
	})
}

// A page of many large groups crosses the scanner's buffer at every
// point; its items must come out as encoding/json reads them.
func TestScanPageAcrossRefills(t *testing.T) {
	type page struct {
		TotalCount int         `json:"totalCount"`
		PageSize   int         `json:"pageSize"`
		Page       int         `json:"page"`
		TotalPages int         `json:"totalPages"`
		Items      []UserGroup `json:"items"`
	}
	want := page{TotalCount: 40, PageSize: 100, Page: 1, TotalPages: 1}
	for g := range 40 {
		grp := UserGroup{ID: g + 1, Name: fmt.Sprintf("Group \"%d\" é", g), Users: []UserSummary{}}
		for u := range 300 {
			grp.Users = append(grp.Users, UserSummary{ID: 2 + u, Name: fmt.Sprintf("User %d\n", u),
				AvatarURL: strings.Repeat("a", u), Role: "Registered"})
		}
		if g == 7 {
			grp.Description = strings.Repeat("long ", 3*scanBufSize) // one token larger than the buffer
		}
		want.Items = append(want.Items, grp)
	}
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []io.Reader{bytes.NewReader(data), iotest.HalfReader(bytes.NewReader(data)), iotest.DataErrReader(bytes.NewReader(data))} {
		var env envelope
		var items []UserGroup
		if err := readPage(&env, &items, nil)(r); err != nil {
			t.Fatal(err)
		}
		if *env.TotalCount != 40 || *env.TotalPages != 1 || !reflect.DeepEqual(items, want.Items) {
			t.Fatalf("got %d items, envelope %+v", len(items), env)
		}
	}
}

// A value larger than the scanner's buffer is read whole.
func TestScanCapturesLargeValues(t *testing.T) {
	model := tagModel{Tag: Tag{ID: 3, Name: "big"}, SubjectMatterExperts: &smesModel{Users: []UserSummary{}, UserGroups: []UserGroup{}}}
	for i := range 5000 {
		model.SubjectMatterExperts.Users = append(model.SubjectMatterExperts.Users, UserSummary{ID: 2 + i, Name: fmt.Sprint("SME ", i)})
	}
	data, err := json.Marshal(model)
	if err != nil {
		t.Fatal(err)
	}
	var got Tag
	if err := readObject(&got, nil)(iotest.HalfReader(bytes.NewReader(data))); err != nil || !reflect.DeepEqual(got, tagOf(model)) {
		t.Fatalf("got %d SMEs, %v", len(got.SubjectMatterExperts.Users.IDs), err)
	}
}

// A body that fails while it is read fails the read with that error, not
// as an answer of the wrong shape: it is a transport failure, retried.
func TestScanKeepsReadErrors(t *testing.T) {
	broken := errors.New("connection reset")
	data := []byte(`{"totalCount":1,"items":[{"id":1,"name":"G","users":[{"id":2,"name":"A"}]}]}`)
	for cut := 1; cut < len(data); cut++ {
		r := io.MultiReader(bytes.NewReader(data[:cut]), iotest.ErrReader(broken))
		var env envelope
		var items []UserGroup
		if err := readPage(&env, &items, nil)(r); !errors.Is(err, broken) {
			t.Fatalf("cut at %d: got %v, want %v", cut, err, broken)
		}
	}
}
