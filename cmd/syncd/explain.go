package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	engine "github.com/syncd/syncd/internal/sync"
	"github.com/syncd/syncd/internal/termsafe"
)

func newExplainFlags() (*flag.FlagSet, *string) {
	fs := newFlagSet("explain")
	return fs, configFlag(fs)
}

// cmdExplain tells why a person is or is not in each managed group and SME
// list, and what the next sync would do. It reads everything and writes
// nothing to Teams.
func cmdExplain(ctx context.Context, e env, args []string) error {
	fs, path := newExplainFlags()
	email, rest := splitPositional(args)
	if err := parse(fs, rest); err != nil {
		return err
	}
	if email == "" || !strings.Contains(email, "@") {
		return usageErrorf("give the person's e-mail address")
	}
	w, err := setup(ctx, e, *path, setupOptions{cmd: "explain"})
	if err != nil {
		return err
	}
	defer w.close()
	eng, err := w.engine(false)
	if err != nil {
		return err
	}
	ex, err := eng.Explain(ctx, email)
	if err != nil {
		return err
	}
	printExplanation(e.stdout, ex)
	return nil
}

// splitPositional takes the one argument that is not a flag (the address)
// out of args, wherever it stands.
func splitPositional(args []string) (string, []string) {
	var rest []string
	pos := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "-"):
			rest = append(rest, a)
			if !strings.Contains(a, "=") && (a == "--config" || a == "-config") && i+1 < len(args) {
				i++
				rest = append(rest, args[i])
			}
		case pos == "":
			pos = a
		default:
			rest = append(rest, a)
		}
	}
	return pos, rest
}

// printExplanation shows the explanation; every value in it may come from
// the directory or Teams, so each is printed with terminal controls escaped.
func printExplanation(w io.Writer, ex *engine.Explanation) {
	p := func(format string, args ...any) { termsafe.Fprintf(w, format, args...) }
	p("%s\n", ex.Email)
	switch {
	case len(ex.People) > 0:
	case len(ex.Elsewhere) > 0:
		for _, person := range ex.Elsewhere {
			p("  directory: %s, in no managed directory group\n", person)
		}
	default:
		p("  directory: no person read has this address (outside users.base_dn or users.filter, left out as disabled, " +
			"or the address is not in users.email_attribute)\n")
	}
	for _, person := range ex.People {
		p("  directory: %s\n", person)
	}
	if ex.TeamsID != 0 {
		p("  teams:     user id %d (%s)\n", ex.TeamsID, ex.Match)
	} else {
		p("  teams:     %s\n", ex.Match)
	}
	for _, en := range ex.Entries {
		p("\n%s\n", en.Target)
		should := "no"
		if en.Should {
			should = "yes, through " + strings.Join(en.Via, "; ")
		}
		p("  should be in it: %s\n", should)
		p("  is in it now:    %s\n", yesNo(en.IsMember))
		p("  next run:        %s\n", en.Next)
		for _, g := range en.SMEGroups {
			printSMEGroup(p, g)
		}
	}
}

// printSMEGroup shows one SME group of a tag: membership in it makes the
// person an SME as well.
func printSMEGroup(p func(string, ...any), g engine.ExplainSMEGroup) {
	id := "does not exist in Teams"
	if g.TeamsID != 0 {
		id = fmt.Sprintf("id %d", g.TeamsID)
	}
	p("  SME group \"%s\" (%s)\n", g.Name, id)
	p("    an SME group now:     %s; next run: %s\n", yesNo(g.Assigned), g.Next)
	should := "no"
	if g.Should {
		should = "yes, through " + strings.Join(g.Via, "; ")
	}
	p("    should be in group:   %s\n", should)
	p("    is in group now:      %s; next run: %s\n", yesNo(g.IsMember), g.Member)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
