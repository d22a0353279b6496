package report

import (
	"fmt"
	"time"
)

// Sample reports shared by the tests and the screenshot script.

var (
	t0 = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	t1 = t0.Add(2*time.Second + 340*time.Millisecond)
)

func u(id int, name, email string) User { return User{ID: id, Name: name, Email: email} }

// dryRunReport is a dry run touching every kind of change.
func dryRunReport() *Report {
	return &Report{
		Mode: ModeDryRun, StartedAt: t0, FinishedAt: t1,
		Summary: Summary{SourceGroups: 12, SourceUsers: 348, MatchedUsers: 331, PendingUsers: 2,
			ChangesPlanned: 7, ChangesHeld: 1, APICalls: 9},
		Changes: []Change{
			{Kind: KindCreateGroup, Group: "Data Science", Users: []User{
				u(41, "Ada Lovelace", "ada@example.com"), u(42, "Grace Hopper", "grace@example.com")},
				Status: StatusPlanned},
			{Kind: KindAddMembers, Group: "Platform", Users: []User{u(17, "Alice Martin", "alice@example.com")},
				Status: StatusPlanned},
			{Kind: KindRemoveMembers, Group: "Platform", Users: []User{u(23, "Bob Stone", "bob@example.com")},
				Status: StatusPlanned},
			{Kind: KindUpdateGroup, Group: "Platform", Status: StatusPlanned},
			{Kind: KindRemoveMembers, Group: "Team Payments", Users: []User{
				u(51, "Carol Diaz", "carol@example.com"), u(52, "Dan Wu", "dan@example.com"),
				u(53, "Eve Adams", "eve@example.com")},
				Status: StatusHeld, Reason: "removing 3 of 4 members (75%) exceeds max_removal_percent 25"},
			{Kind: KindAddSMEUsers, Tag: "kubernetes", Users: []User{u(17, "Alice Martin", "alice@example.com")},
				Status: StatusPlanned},
			{Kind: KindAddSMEGroups, Tag: "kubernetes", Groups: []string{"Platform"}, Status: StatusPlanned},
			{Kind: KindRemoveSMEUsers, Tag: "kubernetes", Users: []User{u(88, "", "former@example.com")},
				Status: StatusPlanned},
		},
		Pending: []Pending{
			{Email: "new.hire@example.com", Groups: []string{"Platform", "Data Science"}},
			{Email: "intern@example.com", Groups: []string{"Team Payments"}},
		},
		Errors: []string{`source corp: group "cn=legacy,ou=groups,dc=example,dc=com": size limit exceeded; group left unknown, no removals`},
	}
}

// applyReport is an apply run with every status.
func applyReport() *Report {
	return &Report{
		Mode: ModeApply, StartedAt: t0, FinishedAt: t0.Add(14 * time.Second),
		Summary: Summary{SourceGroups: 12, SourceUsers: 348, MatchedUsers: 333, PendingUsers: 1,
			ChangesPlanned: 6, ChangesApplied: 3, ChangesFailed: 1, ChangesHeld: 2, APICalls: 13},
		Changes: []Change{
			{Kind: KindCreateGroup, Group: "Data Science", Users: []User{u(41, "Ada Lovelace", "ada@example.com")},
				Status: StatusApplied},
			{Kind: KindAddMembers, Group: "Platform", Users: []User{
				u(17, "Alice Martin", "alice@example.com"), u(19, "Zoë Ñúñez", "zoe@example.com")}, Status: StatusApplied},
			{Kind: KindRemoveMembers, Group: "Platform", Users: []User{u(23, "Bob Stone", "bob@example.com")},
				Status: StatusApplied},
			{Kind: KindRemoveMembers, Group: "Team Payments", Users: []User{u(51, "Carol Diaz", "carol@example.com")},
				Status: StatusHeld, Reason: "max_removals 100 reached"},
			{Kind: KindRemoveMembers, Group: "Big", Users: manyUsers(25), Status: StatusHeld,
				Reason: "removing 25 of 26 (96%) exceeds max_removal_percent 25"},
			{Kind: KindAddSMEGroups, Tag: "kubernetes", Groups: []string{"Platform"},
				Status: StatusFailed, Error: "PUT /tags/{tagId}/subject-matter-experts: 422 SMEs are not enabled on this site"},
		},
		Pending: []Pending{{Email: "new.hire@example.com", Groups: []string{"Platform"}}},
	}
}

func manyUsers(n int) []User {
	out := make([]User, n)
	for i := range out {
		out[i] = u(200+i, fmt.Sprintf("Person %02d", i+1), fmt.Sprintf("p%02d@example.com", i+1))
	}
	return out
}

// quietReport is a run with nothing to do.
func quietReport() *Report {
	return &Report{
		Mode: ModeDryRun, StartedAt: t0, FinishedAt: t0.Add(800 * time.Millisecond),
		Summary: Summary{SourceGroups: 12, SourceUsers: 348, MatchedUsers: 348, APICalls: 4},
	}
}

// hostileReport carries names that try to break out of every format.
func hostileReport() *Report {
	evil := `<script>alert("x")</script>`
	return &Report{
		Mode: ModeApply, StartedAt: t0, FinishedAt: t1,
		Changes: []Change{
			{Kind: KindAddMembers, Group: evil + " | `grp`", Users: []User{
				u(7, "Mallory <img src=x onerror=alert(1)> *bold* [link](http://evil.example)", "m@example.com"),
				u(8, "Line\nBreak \x1b[31mred\x1b[0m", "lb@example.com"),
				u(9, "Trudy \u202eexe.gnp\u202c \u009b2J", "t\u2066x\u2069@example.com")},
				Status: StatusFailed, Error: "boom <b>"},
			{Kind: KindAddSMEGroups, Tag: `"tag"&<x>`, Groups: []string{evil}, Status: StatusApplied},
		},
		Pending: []Pending{{Email: "<x>@example.com", Groups: []string{evil}}},
		Errors:  []string{`<a href="https://evil.example/">click</a>`},
	}
}

// samples are the fixtures by name (golden file stems).
var samples = map[string]func() *Report{
	"dryrun":    dryRunReport,
	"apply":     applyReport,
	"nochanges": quietReport,
	"hostile":   hostileReport,
}
