package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	engine "github.com/syncd/syncd/internal/sync"
)

// cmdExplain tells why a person is or is not in each managed group and SME
// list, and what the next sync would do. It reads everything and writes
// nothing to Teams.
func cmdExplain(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := configFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: syncd explain EMAIL [--config FILE]")
		fs.PrintDefaults()
	}
	email, rest := splitPositional(args)
	if code, ok := parseFlags(fs, rest, e); !ok {
		return code
	}
	if email == "" || !strings.Contains(email, "@") {
		fmt.Fprintln(e.stderr, "syncd explain: give the person's e-mail address")
		fs.Usage()
		return exitUsage
	}
	w, code := setup(ctx, e, "explain", *path, setupOptions{})
	if w == nil {
		return code
	}
	defer w.close()
	eng, err := w.engine(false)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd explain: %v\n", err)
		return exitUsage
	}
	ex, err := eng.Explain(ctx, email)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd explain: %v\n", err)
		return exitFailure
	}
	printExplanation(e.stdout, ex)
	return exitOK
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

func printExplanation(w io.Writer, ex *engine.Explanation) {
	fmt.Fprintf(w, "%s\n", ex.Email)
	if len(ex.People) == 0 {
		fmt.Fprintln(w, "  directory: in no managed directory group")
	}
	for _, p := range ex.People {
		fmt.Fprintf(w, "  directory: %s\n", p)
	}
	if ex.TeamsID != 0 {
		fmt.Fprintf(w, "  teams:     user id %d (%s)\n", ex.TeamsID, ex.Match)
	} else {
		fmt.Fprintf(w, "  teams:     %s\n", ex.Match)
	}
	for _, en := range ex.Entries {
		fmt.Fprintf(w, "\n%s\n", en.Target)
		should := "no"
		if en.Should {
			should = "yes, through " + strings.Join(en.Via, "; ")
		}
		fmt.Fprintf(w, "  should be in it: %s\n", should)
		fmt.Fprintf(w, "  is in it now:    %s\n", yesNo(en.IsMember))
		fmt.Fprintf(w, "  next run:        %s\n", en.Next)
		for _, g := range en.SMEGroups {
			printSMEGroup(w, g)
		}
	}
}

// printSMEGroup shows one SME group of a tag: membership in it makes the
// person an SME as well.
func printSMEGroup(w io.Writer, g engine.ExplainSMEGroup) {
	id := "does not exist in Teams"
	if g.TeamsID != 0 {
		id = fmt.Sprintf("id %d", g.TeamsID)
	}
	fmt.Fprintf(w, "  SME group %q (%s)\n", g.Name, id)
	fmt.Fprintf(w, "    an SME group now:     %s; next run: %s\n", yesNo(g.Assigned), g.Next)
	should := "no"
	if g.Should {
		should = "yes, through " + strings.Join(g.Via, "; ")
	}
	fmt.Fprintf(w, "    should be in group:   %s\n", should)
	fmt.Fprintf(w, "    is in group now:      %s; next run: %s\n", yesNo(g.IsMember), g.Member)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
