package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/termsafe"
)

// cmdSource dispatches `syncd source <subcommand>`; dump is the only one.
func cmdSource(ctx context.Context, e env, args []string) int {
	if len(args) == 0 || args[0] != "dump" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(e.stderr, dumpUsage)
			return exitcode.OK
		}
		fmt.Fprintln(e.stderr, dumpUsage)
		return exitcode.Usage
	}
	return cmdSourceDump(ctx, e, args[1:])
}

const dumpUsage = "usage: syncd source dump [--config FILE] [--source NAME] [--format json|text]"

// cmdSourceDump reads a source as a sync would and prints what it got:
// groups with their resolved members (nested groups expanded). Exit 1 when
// the source cannot be read or a group is unknown.
func cmdSourceDump(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("source dump", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := configFlag(fs)
	name := fs.String("source", "", "source to read (default: the only one)")
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, dumpUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, e); !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fs.Usage()
		return exitcode.Usage
	}
	cfg, ok := loadConfig(e, "source dump", *path)
	if !ok {
		return exitcode.Usage
	}
	src, err := pickSource(cfg, *name)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return exitcode.Usage
	}
	dir, code := readSource(ctx, e, cfg, src)
	if dir == nil {
		return code
	}
	if *format == "json" {
		err = writeDumpJSON(e.stdout, dir)
	} else {
		err = writeDumpText(e.stdout, dir)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return exitcode.Failure
	}
	if n := countUnknown(dir); n > 0 {
		fmt.Fprintf(e.stderr, "syncd source dump: %s could not be read completely (unknown)\n", plural.Count(n, "group"))
		return exitcode.Failure
	}
	return exitcode.OK
}

// pickSource returns the named source, or the only one that can be read.
func pickSource(cfg *config.Config, name string) (config.Source, error) {
	var names []string
	for _, s := range cfg.Sources {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	switch {
	case name != "":
		return config.Source{}, fmt.Errorf("no source named %q (sources: %s)", name, strings.Join(names, ", "))
	case len(names) == 1:
		return *cfg.Source(names[0]), nil
	case len(names) == 0:
		return config.Source{}, errors.New("the configuration has no source to read")
	}
	return config.Source{}, fmt.Errorf("several sources (%s): choose one with --source", strings.Join(names, ", "))
}

func readSource(ctx context.Context, e env, cfg *config.Config, src config.Source) (*directory.Directory, int) {
	logCfg := cfg.Log
	if logCfg.Level == "" || logCfg.Level == "info" {
		logCfg.Level = "warn" // routine info lines would clutter the dump's terminal
	}
	logger, err := commandLogger(logCfg, e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return nil, exitcode.Usage
	}
	defer func() { _ = logger.Sync() }()
	reader, err := buildSource(src, cfg.Sync.StateDir, logger)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return nil, exitcode.Usage
	}
	dir, err := reader.Read(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return nil, exitcode.Failure
	}
	return dir, exitcode.OK
}

// dumpJSON is the contract form (DESIGN.md §4). An unknown group carries
// "error" and null members: it must never read as empty.
type dumpJSON struct {
	Groups []dumpGroup `json:"groups"`
	Users  int         `json:"users"`
}

type dumpGroup struct {
	Name    string       `json:"name"`
	DN      string       `json:"dn"`
	Members []dumpMember `json:"members"`
	Error   string       `json:"error,omitempty"`
}

type dumpMember struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	ID    string `json:"id"`
}

func writeDumpJSON(w io.Writer, d *directory.Directory) error {
	out := dumpJSON{Groups: []dumpGroup{}, Users: len(d.Users)}
	for _, g := range sortedGroups(d) {
		dg := dumpGroup{Name: g.Name, DN: g.DN}
		if g.Err != nil {
			dg.Error = g.Err.Error()
		} else {
			dg.Members = dumpMembers(d, g)
		}
		out.Groups = append(out.Groups, dg)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// dumpMembers lists a group's resolved members, ordered by e-mail then id.
func dumpMembers(d *directory.Directory, g *directory.Group) []dumpMember {
	out := make([]dumpMember, 0, len(g.Members))
	for _, id := range g.Members {
		u := d.Users[id]
		if u == nil {
			continue
		}
		m := dumpMember{Name: u.Name, ID: u.ID}
		if len(u.Emails) > 0 {
			m.Email = u.Emails[0]
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b dumpMember) int {
		return cmp.Or(cmp.Compare(a.Email, b.Email), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func sortedGroups(d *directory.Directory) []*directory.Group {
	gs := slices.Clone(d.Groups)
	slices.SortFunc(gs, func(a, b *directory.Group) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.DN, b.DN))
	})
	return gs
}

func countUnknown(d *directory.Directory) int {
	n := 0
	for _, g := range d.Groups {
		if g.Unknown() {
			n++
		}
	}
	return n
}

// writeDumpText prints the same content for people: a summary, then each
// group with its members, what was ignored and what could not be read.
func writeDumpText(w io.Writer, d *directory.Directory) error {
	var noMail []*directory.User
	for _, u := range d.Users {
		if len(u.Emails) == 0 {
			noMail = append(noMail, u)
		}
	}
	ew := &errWriter{w: w}
	ew.printf("source %s: %s (%d without e-mail), %s (%d unknown)\n",
		d.Source, plural.Count(len(d.Users), "user"), len(noMail), plural.Count(len(d.Groups), "group"), countUnknown(d))
	byDN := map[string]string{}
	for _, g := range d.Groups {
		byDN[g.DN] = g.Name
	}
	for _, g := range sortedGroups(d) {
		writeGroupText(ew, d, g, byDN)
	}
	if len(noMail) > 0 {
		slices.SortFunc(noMail, func(a, b *directory.User) int { return cmp.Compare(a.DN+a.ID, b.DN+b.ID) })
		ew.printf("\nusers without e-mail (kept, but no Teams account can match them):\n")
		for _, u := range noMail {
			ew.printf("  %s  %s\n", orDash(u.Name), orDash(cmp.Or(u.DN, u.ID)))
		}
	}
	return ew.err
}

func writeGroupText(ew *errWriter, d *directory.Directory, g *directory.Group, byDN map[string]string) {
	ew.printf("\n%s  (%s)\n", g.Name, g.DN)
	if g.Err != nil {
		ew.printf("  UNKNOWN: %v\n  (no removals are made for an unknown group)\n", g.Err)
		return
	}
	line := fmt.Sprintf("  %s", plural.Count(len(g.Members), "member"))
	if len(g.Subgroups) > 0 {
		names := make([]string, 0, len(g.Subgroups))
		for _, dn := range g.Subgroups {
			names = append(names, cmp.Or(byDN[dn], dn))
		}
		line += fmt.Sprintf(", nested groups: %s", strings.Join(names, ", "))
	}
	if g.Ignored > 0 {
		line += fmt.Sprintf(", %s ignored (outside the users and groups read)", plural.Count(g.Ignored, "member reference"))
	}
	ew.printf("%s\n", line)
	for _, m := range dumpMembers(d, g) {
		ew.printf("  %-40s %s\n", cmp.Or(m.Email, "(no e-mail)"), m.Name)
	}
}

func orDash(s string) string { return cmp.Or(s, "-") }

// errWriter keeps the first write error so printing code stays linear.
// Every text argument is directory data, shown with terminal controls
// escaped (termsafe): a name may hold an escape sequence.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = termsafe.Fprintf(e.w, format, args...)
	}
}
