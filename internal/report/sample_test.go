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
			{Kind: KindUpdateGroup, Group: "Platform", Status: StatusPlanned,
				Description: &Description{Old: "Platform team", New: "Synced from LDAP group platform"}},
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
			ChangesPlanned: 4, ChangesApplied: 3, ChangesFailed: 1, ChangesHeld: 2, APICalls: 13},
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

// failedReport is a run that stopped before planning: the directory and
// Teams both unreadable.
func failedReport() *Report {
	return &Report{
		Mode: ModeDryRun, StartedAt: t0, FinishedAt: t0.Add(3 * time.Second), NothingCompared: true,
		Summary: Summary{APICalls: 1},
		Errors: []string{
			`source "corp": dial ldap 127.0.0.1:1: connection refused`,
			"read Teams: list user groups: GET /user-groups: 503 Service Unavailable",
		},
	}
}

// incompleteReport planned, found nothing to change, but could not read
// one directory group.
func incompleteReport() *Report {
	r := quietReport()
	r.Errors = []string{`Platform: directory group "platform" of source "corp" could not be read completely: size limit exceeded; no removals this run`}
	return r
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

// largeReport is the first run at a large site: 1,000+ changes over 500
// groups and 60 tags, some 11,000 people, hundreds pending. Not a golden
// sample: the HTML report's folding is checked on it in a browser.
func largeReport() *Report {
	r := &Report{Mode: ModeDryRun, StartedAt: t0, FinishedAt: t0.Add(4 * time.Minute),
		Summary: Summary{SourceGroups: 450, SourceUsers: 50000, MatchedUsers: 48800, APICalls: 612}}
	next := 1000
	people := func(n int) []User {
		out := make([]User, n)
		for i := range out {
			next++
			out[i] = u(next, fmt.Sprintf("Person %05d", next), fmt.Sprintf("p%05d@example.com", next))
		}
		return out
	}
	for g := range 500 {
		name := fmt.Sprintf("Team %03d", g)
		switch {
		case g%25 == 0:
			r.Changes = append(r.Changes, Change{Kind: KindCreateGroup, Group: name, Users: people(321), Status: StatusPlanned})
			continue
		case g%7 == 0:
			r.Changes = append(r.Changes, Change{Kind: KindUpdateGroup, Group: name, Status: StatusPlanned,
				Description: &Description{Old: "Old team " + name, New: "Synced from LDAP group " + name}})
		}
		r.Changes = append(r.Changes, Change{Kind: KindAddMembers, Group: name, Users: people(1 + g%13), Status: StatusPlanned})
		if g%3 != 0 {
			r.Changes = append(r.Changes, Change{Kind: KindRemoveMembers, Group: name, Users: people(1 + g%3), Status: StatusPlanned})
		}
		if g%40 == 3 {
			r.Changes = append(r.Changes, Change{Kind: KindRemoveMembers, Group: name, Users: people(30), Status: StatusHeld,
				Reason: "removing 30 of 40 (75%) exceeds max_removal_percent 25"})
		}
	}
	for tag := range 60 {
		name := fmt.Sprintf("tag-%02d", tag)
		r.Changes = append(r.Changes,
			Change{Kind: KindAddSMEUsers, Tag: name, Users: people(2 + tag%4), Status: StatusPlanned},
			Change{Kind: KindAddSMEGroups, Tag: name, Groups: []string{fmt.Sprintf("Team %03d", tag)}, Status: StatusPlanned})
	}
	for i := range 300 {
		r.Pending = append(r.Pending, Pending{Email: fmt.Sprintf("new%03d@example.com", i), Groups: []string{fmt.Sprintf("Team %03d", i)}})
	}
	for _, c := range r.Changes {
		if c.Status == StatusHeld {
			r.Summary.ChangesHeld++
		} else {
			r.Summary.ChangesPlanned++
		}
	}
	r.Summary.PendingUsers = len(r.Pending)
	return r
}

// samples are the fixtures by name (golden file stems).
var samples = map[string]func() *Report{
	"dryrun":     dryRunReport,
	"apply":      applyReport,
	"nochanges":  quietReport,
	"hostile":    hostileReport,
	"failed":     failedReport,
	"incomplete": incompleteReport,
}
