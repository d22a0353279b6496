package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, v any, where string) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: want a JSON object, got %T", where, v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func wantKeys(t *testing.T, v any, where string, want ...string) map[string]any {
	t.Helper()
	sort.Strings(want)
	if got := keysOf(t, v, where); !reflect.DeepEqual(got, want) {
		t.Errorf("%s keys = %v, want %v", where, got, want)
	}
	return v.(map[string]any)
}

func wantArray(t *testing.T, v any, where string) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: want an array (never null), got %T", where, v)
	}
	return a
}

func wantNumber(t *testing.T, v any, where string) {
	t.Helper()
	if _, ok := v.(float64); !ok {
		t.Errorf("%s: want a number, got %T", where, v)
	}
}

func wantString(t *testing.T, v any, where string) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Errorf("%s: want a string, got %T", where, v)
	}
	return s
}

func decodeJSON(t *testing.T, r *Report) any {
	t.Helper()
	var doc any
	if err := json.Unmarshal(render(t, r, FormatJSON, Options{}), &doc); err != nil {
		t.Fatalf("JSON report does not decode: %v", err)
	}
	return doc
}

// TestJSONShape checks the contract of DESIGN.md §6 key by key and type by
// type, on a full report and on an empty one (whose arrays must be [], not null).
func TestJSONShape(t *testing.T) {
	for name, r := range map[string]*Report{"dryrun": dryRunReport(), "apply": applyReport(), "failed": failedReport(), "empty": {Mode: ModeDryRun}} {
		t.Run(name, func(t *testing.T) {
			top := wantKeys(t, decodeJSON(t, r), "report",
				"mode", "started_at", "finished_at", "summary", "changes", "pending", "errors", "nothing_compared")
			if _, ok := top["nothing_compared"].(bool); !ok {
				t.Errorf("nothing_compared: want a boolean, got %T", top["nothing_compared"])
			}
			if mode := wantString(t, top["mode"], "mode"); mode != ModeDryRun && mode != ModeApply {
				t.Errorf("mode = %q", mode)
			}
			for _, k := range []string{"started_at", "finished_at"} {
				if _, err := time.Parse(time.RFC3339, wantString(t, top[k], k)); err != nil {
					t.Errorf("%s is not RFC 3339: %v", k, err)
				}
			}
			summary := wantKeys(t, top["summary"], "summary", "source_groups", "source_users", "matched_users",
				"pending_users", "changes_planned", "changes_applied", "changes_failed", "changes_held", "api_calls")
			for k, v := range summary {
				wantNumber(t, v, "summary."+k)
			}
			checkChanges(t, wantArray(t, top["changes"], "changes"))
			checkPending(t, wantArray(t, top["pending"], "pending"))
			for _, e := range wantArray(t, top["errors"], "errors") {
				wantString(t, e, "errors[]")
			}
		})
	}
}

func checkChanges(t *testing.T, changes []any) {
	t.Helper()
	for _, raw := range changes {
		keys := []string{"kind", "group", "tag", "users", "groups", "status", "error"}
		m, _ := raw.(map[string]any)
		if m != nil && m["reason"] != nil {
			keys = append(keys, "reason") // an addition, present only on held changes
		}
		if m != nil && m["id"] != nil {
			keys = append(keys, "id") // an addition, on held changes and approved ones (DESIGN.md §9)
			wantString(t, m["id"], "change.id")
		}
		if m != nil && m["approval"] != nil {
			keys = append(keys, "approval")
			a := wantKeys(t, m["approval"], "change.approval", "by", "at", "expires", "reason")
			wantString(t, a["by"], "approval.by")
		}
		if m != nil && m["kind"] == KindUpdateGroup && m["description"] != nil {
			keys = append(keys, "description") // an addition, on description updates
			d := wantKeys(t, m["description"], "change.description", "old", "new")
			wantString(t, d["old"], "description.old")
			wantString(t, d["new"], "description.new")
		}
		c := wantKeys(t, raw, "change", keys...)
		for _, k := range []string{"kind", "group", "tag", "status", "error"} {
			wantString(t, c[k], "change."+k)
		}
		for _, g := range wantArray(t, c["groups"], "change.groups") {
			wantString(t, g, "change.groups[]")
		}
		for _, raw := range wantArray(t, c["users"], "change.users") {
			user := wantKeys(t, raw, "user", "id", "email", "name")
			wantNumber(t, user["id"], "user.id")
			wantString(t, user["email"], "user.email")
			wantString(t, user["name"], "user.name")
		}
	}
}

func checkPending(t *testing.T, pending []any) {
	t.Helper()
	for _, raw := range pending {
		p := wantKeys(t, raw, "pending", "email", "groups")
		wantString(t, p["email"], "pending.email")
		for _, g := range wantArray(t, p["groups"], "pending.groups") {
			wantString(t, g, "pending.groups[]")
		}
	}
}

func TestJSONHasNoNull(t *testing.T) {
	r := &Report{Mode: ModeApply,
		Changes: []Change{{Kind: KindUpdateGroup, Group: "G", Status: StatusApplied}},
		Pending: []Pending{{Email: "a@example.com"}}}
	out := render(t, r, FormatJSON, Options{})
	if bytes.Contains(out, []byte("null")) {
		t.Errorf("JSON report contains null:\n%s", out)
	}
	// json.Marshal of the value and of the pointer agree (the engine may use either).
	a, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(*r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || bytes.Contains(a, []byte("null")) {
		t.Errorf("json.Marshal(*Report) = %s\njson.Marshal(Report) = %s", a, b)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	in := applyReport()
	var out Report
	if err := json.Unmarshal(render(t, in, FormatJSON, Options{}), &out); err != nil {
		t.Fatal(err)
	}
	if !out.StartedAt.Equal(in.StartedAt) || !out.FinishedAt.Equal(in.FinishedAt) {
		t.Errorf("times: got %v..%v, want %v..%v", out.StartedAt, out.FinishedAt, in.StartedAt, in.FinishedAt)
	}
	out.StartedAt, out.FinishedAt = in.StartedAt, in.FinishedAt
	if want := in.normalized(); !reflect.DeepEqual(out, want) { // nil lists come back as empty ones
		t.Errorf("round trip changed the report:\ngot  %+v\nwant %+v", out, *in)
	}
}

// The JSON form is data: a run that could not plan says so in a field, with
// every error, so that a program never takes its empty change list for
// agreement; the description update carries both texts.
func TestJSONTellsWhatWasNotCompared(t *testing.T) {
	var failed, planned struct {
		NothingCompared bool     `json:"nothing_compared"`
		Errors          []string `json:"errors"`
		Changes         []struct {
			Kind        string            `json:"kind"`
			Description map[string]string `json:"description"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(render(t, failedReport(), FormatJSON, Options{}), &failed); err != nil {
		t.Fatal(err)
	}
	if !failed.NothingCompared || len(failed.Errors) != 2 {
		t.Errorf("a run stopped before planning: nothing_compared %v, errors %q; want true and both errors", failed.NothingCompared, failed.Errors)
	}
	if err := json.Unmarshal(render(t, dryRunReport(), FormatJSON, Options{}), &planned); err != nil {
		t.Fatal(err)
	}
	if planned.NothingCompared {
		t.Error("a run that planned says nothing_compared")
	}
	for _, c := range planned.Changes {
		if c.Kind == KindUpdateGroup && (c.Description["old"] != "Platform team" || c.Description["new"] != "Synced from LDAP group platform") {
			t.Errorf("update_group description = %v, want old and new text", c.Description)
		}
	}
}

// approvalReport is a run that held one change and applied another one
// an operator had approved.
func approvalReport() *Report {
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	r := applyReport()
	r.RunID = "20260501T100000Z-0a1b2c3d"
	r.Changes = []Change{
		{Kind: KindRemoveMembers, Group: "Platform", Users: []User{{ID: 17, Email: "alice@example.com", Name: "Alice"}},
			Groups: []string{}, Status: StatusApplied, ID: "3a29a11f2e96",
			Approval: &Approval{By: "bob (syncd approve)", At: at, Expires: at.Add(24 * time.Hour), Reason: "removing 1 of 2 (50%) exceeds max_removal_percent 25"}},
		{Kind: KindRemoveSMEUsers, Tag: "go", Users: []User{{ID: 18, Email: "carl@example.com", Name: "Carl"}},
			Groups: []string{}, Status: StatusHeld, Reason: "1 removal in this run exceeds max_removals 0", ID: "77e0c0ffee00"},
	}
	r.Summary.ChangesApplied, r.Summary.ChangesHeld, r.Summary.ChangesFailed = 1, 1, 0
	return r
}

// TestHeldChangeIDsInEveryForm: a held change's id, to approve it, and who
// approved an applied one, in JSON and in every human form.
func TestHeldChangeIDsInEveryForm(t *testing.T) {
	r := approvalReport()
	top := wantKeys(t, decodeJSON(t, r), "report", "mode", "started_at", "finished_at", "summary", "changes", "pending", "errors",
		"nothing_compared", "run_id")
	changes := wantArray(t, top["changes"], "changes")
	checkChanges(t, changes)
	applied, held := changes[0].(map[string]any), changes[1].(map[string]any)
	if applied["id"] != "3a29a11f2e96" || held["id"] != "77e0c0ffee00" {
		t.Errorf("ids: applied %v, held %v", applied["id"], held["id"])
	}
	if a, _ := applied["approval"].(map[string]any); a == nil || a["by"] != "bob (syncd approve)" {
		t.Errorf("approval of the applied change: %v", applied["approval"])
	}
	for _, format := range humanFormats {
		out := textOf(t, r, format)
		if format == FormatMarkdown {
			out = strings.ReplaceAll(out, "\\", "") // its escapes
		}
		for _, want := range []string{"77e0c0ffee00", "syncd approve", "approved held change 3a29a11f2e96, by bob (syncd approve)",
			"held because removing 1 of 2 (50%) exceeds max_removal_percent 25"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s form lacks %q:\n%s", format, want, out)
			}
		}
	}
}

// MarshalJSON appends what encoding/json's reflection wrote, byte for
// byte: on the sample reports, on one with every optional field and
// awkward text, and on empty ones.
func TestJSONLikeReflection(t *testing.T) {
	odd := applyReport()
	at := time.Date(2026, 12, 7, 1, 2, 3, 456, time.FixedZone("", 3600))
	odd.RunID = "run <1>"
	odd.NothingCompared = true
	odd.Errors = []string{"a \"quoted\" & <tagged>\n error", "\xff\u2028"}
	odd.Changes = append(odd.Changes,
		Change{Kind: KindRemoveMembers, Group: "Ops", Users: []User{{ID: -1, Email: "", Name: "Zoë \x1b"}}, Status: StatusHeld,
			Reason: "budget", ID: "h-1", Approval: &Approval{By: "ann", At: at, Expires: at.Add(time.Hour), Reason: "over"}},
		Change{Kind: KindUpdateGroup, Group: "G", Description: &Description{Old: "", New: "new\ttext"}, Approval: &Approval{}},
		Change{Kind: KindAddSMEGroups, Tag: "go", Groups: []string{"A", ""}, Users: []User{}})
	odd.Pending = append(odd.Pending, Pending{Email: "x@y", Groups: nil})
	for name, r := range map[string]*Report{"dryrun": dryRunReport(), "apply": applyReport(), "failed": failedReport(),
		"odd": odd, "empty": {}, "empty lists": {Changes: []Change{}, Pending: []Pending{}, Errors: []string{}}} {
		want, err := r.reflectJSON()
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.MarshalJSON()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: MarshalJSON (%v)\n got %s\nwant %s", name, err, got, want)
		}
	}
	bad := applyReport()
	bad.Changes[0].Approval = &Approval{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := bad.MarshalJSON(); err == nil {
		t.Error("an approval time encoding/json refuses was written")
	}
}

// The JSON form is what json.Encoder with a two-space indent wrote before
// it was rendered without the encoder's copies, byte for byte.
func TestJSONIndentedAsTheEncoderDid(t *testing.T) {
	for _, r := range []*Report{dryRunReport(), applyReport(), failedReport(), incompleteReport(), hostileReport(), largeReport(), approvalReport(), {}} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if got := render(t, r, FormatJSON, Options{}); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("run %q: the JSON form differs from json.Encoder's", r.RunID)
		}
	}
}
