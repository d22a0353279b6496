package report

import (
	"fmt"
	"strings"

	"github.com/syncd/syncd/internal/plural"
)

// The one wording of syncd's changes: the log lines of a run and every
// form of the report name people, groups and changes with these.

// UserLabel names a person: "Ann Lee <ann@example.com>", "<ann@example.com>",
// "Ann Lee (id 17)", or "user id 17".
func UserLabel(u User) string { return string(AppendUserLabel(nil, u)) }

// AppendUserLabel appends UserLabel(u) to b: a log line naming a hundred
// people builds no string for each.
func AppendUserLabel(b []byte, u User) []byte {
	switch {
	case u.Name != "" && u.Email != "":
		return append(append(append(append(b, u.Name...), " <"...), u.Email...), '>')
	case u.Email != "":
		return append(append(append(b, '<'), u.Email...), '>')
	case u.Name != "":
		return fmt.Appendf(b, "%s (id %d)", u.Name, u.ID)
	}
	return fmt.Appendf(b, "user id %d", u.ID)
}

// GroupLabel names a Teams user group: `user group "Platform"`.
func GroupLabel(name string) string { return fmt.Sprintf("user group %q", name) }

// TargetLabel names what a change writes to: a user group, or a tag's
// SMEs (`the SMEs of tag "go"`).
func TargetLabel(c Change) string {
	if c.Tag != "" {
		return fmt.Sprintf("the SMEs of tag %q", c.Tag)
	}
	return GroupLabel(c.Group)
}

// Describe is the sentence of a change, as a plan says it: `add 2 users to
// user group "Platform": Ann Lee <ann@example.com>, Bob <bob@example.com>`
// (the first ten people or groups named).
func Describe(c Change) string {
	what, who := TargetLabel(c), whoList(c)
	switch c.Kind {
	case KindCreateGroup:
		return fmt.Sprintf("create %s with %s%s", what, plural.Count(len(c.Users), "member"), who)
	case KindUpdateGroup:
		return "update the description of " + what
	case KindAddMembers, KindAddSMEUsers:
		return fmt.Sprintf("add %s to %s%s", plural.Count(len(c.Users), "user"), what, who)
	case KindRemoveMembers, KindRemoveSMEUsers:
		return fmt.Sprintf("remove %s from %s%s", plural.Count(len(c.Users), "user"), what, who)
	case KindAddSMEGroups:
		return fmt.Sprintf("add %s to %s%s", plural.Count(len(c.Groups), "user group"), what, who)
	case KindRemoveSMEGroups:
		return fmt.Sprintf("remove %s from %s%s", plural.Count(len(c.Groups), "user group"), what, who)
	}
	return c.Kind + " " + what
}

// Described is Describe as done: `Added 2 users to user group "Platform": …`.
func Described(c Change) string {
	verb, rest, _ := strings.Cut(Describe(c), " ")
	return pastTense(verb) + " " + rest
}

func pastTense(verb string) string {
	switch verb {
	case "create":
		return "Created"
	case "update":
		return "Updated"
	case "add":
		return "Added"
	case "remove":
		return "Removed"
	}
	return "Did " + verb
}

// whoList names up to ten people or groups of a change.
func whoList(c Change) string {
	const shown = 10
	total := len(c.Users) + len(c.Groups)
	if total == 0 {
		return ""
	}
	names := make([]string, 0, min(total, shown)) // only those shown are labelled: a change may name thousands
	for _, u := range c.Users[:min(len(c.Users), shown)] {
		names = append(names, UserLabel(u))
	}
	for _, g := range c.Groups[:min(len(c.Groups), shown-len(names))] {
		names = append(names, GroupLabel(g))
	}
	more := ""
	if total > shown {
		more = fmt.Sprintf(" and %d more", total-shown)
	}
	return ": " + strings.Join(names, ", ") + more
}
