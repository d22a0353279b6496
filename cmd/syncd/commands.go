package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/syncd/syncd/internal/exitcode"
)

// command is one syncd command: how it is called, and its flags, from which
// its help and the shell completion are printed.
type command struct {
	name    string // "sync", or "source dump"
	args    string // the usage line after the name, every flag listed
	summary string // one line, for the list of commands
	// flags returns a new flag set of the command (nil: it takes none),
	// the same one the command parses.
	flags func() *flag.FlagSet
	run   func(ctx context.Context, e env, args []string) error
}

// commands lists every command in the order help shows them.
func commands() []*command {
	return []*command{
		{name: "sync", run: cmdSync, flags: flagsOf(newSyncFlags),
			args:    "[--config FILE] [--apply] [--check] [--report FILE] [--format text|markdown|json|html] [--plan-out FILE] [--verbose] [--reset-state] [--lock-wait DURATION]",
			summary: "plan (and with --apply, apply) one sync; dry run by default"},
		{name: "apply", run: cmdApply, flags: flagsOf(newApplyFlags),
			args:    "--plan FILE [--config FILE] [--report FILE] [--format text|markdown|json|html] [--verbose] [--reset-state] [--lock-wait DURATION]",
			summary: "apply a plan saved with sync --plan-out, if Teams has not drifted"},
		{name: "run", run: cmdRun, flags: flagsOf(newRunFlags),
			args:    "[--config FILE] [--apply] [--reset-state]",
			summary: "daemon: sync on the configured schedule and serve HTTP"},
		{name: "validate", run: cmdValidate, flags: flagsOf(newValidateFlags),
			args:    "[--config FILE] [--connect [--probe-write]]",
			summary: "check the configuration (--connect also probes LDAP and the token)"},
		{name: "source dump", run: cmdSourceDump, flags: flagsOf(newDumpFlags),
			args:    "[--config FILE] [--source NAME] [--format json|text]",
			summary: "print what syncd reads from the directory"},
		{name: "explain", run: cmdExplain, flags: flagsOf(newExplainFlags),
			args:    "EMAIL [--config FILE]",
			summary: "why a person is or is not in each managed group / SME list"},
		{name: "approve", run: cmdApprove, flags: flagsOf(newApproveFlags),
			args:    "[--config FILE] [--list] [--all | ID...] [--ttl 24h]",
			summary: "list the held changes of the latest run, or approve some for the next run"},
		{name: "history", run: cmdHistory, flags: flagsOf(newHistoryFlags),
			args:    "[--config FILE] [--since 7d] [--email E] [--group G] [--format text|json]",
			summary: "who changed what, when and why: the audit log, newest first"},
		{name: "healthcheck", run: cmdHealthcheck, flags: flagsOf(newHealthFlags),
			args:    "[--live] [--url URL] [--config FILE] [--timeout DURATION]",
			summary: "exit 0 when the daemon is ready (/readyz; with --live, when it serves)"},
		{name: "version", run: cmdVersion,
			summary: "print the version (also: syncd --version)"},
		{name: "completion", run: cmdCompletion, args: "bash|zsh",
			summary: "print a shell completion script: source <(syncd completion bash)"},
		{name: "help", run: cmdHelp, args: "[COMMAND]",
			summary: "print the help of a command, or this list"},
	}
}

// flagsOf turns a command's flag constructor into command.flags.
func flagsOf[T any](newFlags func() (*flag.FlagSet, T)) func() *flag.FlagSet {
	return func() *flag.FlagSet {
		fs, _ := newFlags()
		return fs
	}
}

// newFlagSet is an empty flag set that prints nothing: parse returns its
// errors, and run prints them and the help.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args into fs; no arguments may be left. -h and --help
// return flag.ErrHelp: the command's help on stdout, exit 0.
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// parseFlags parses args into fs, leaving the arguments after the flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageErrorf("%s", dashes(err.Error()))
}

// dashes spells the flag in the flag package's parse errors ("flag
// provided but not defined: -x") as the usage lines do: --x.
func dashes(msg string) string {
	for _, s := range []string{"defined: -", "argument: -", "for flag -", "for -"} {
		if i := strings.Index(msg, s); i >= 0 && !strings.HasPrefix(msg[i+len(s):], "-") {
			return msg[:i+len(s)] + "-" + msg[i+len(s):]
		}
	}
	return msg
}

// lookup finds the command args name and returns it with its arguments.
// Before a command, -h/--help is help and --version is version.
func lookup(args []string) (*command, []string, error) {
	if len(args) == 0 {
		return nil, nil, usageErrorf("no command given")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	case "source": // dump is its only subcommand
		switch {
		case len(rest) > 0 && rest[0] == "dump":
			name, rest = "source dump", rest[1:]
		case len(rest) > 0 && isHelpFlag(rest[0]):
			name = "source dump"
		case len(rest) > 0:
			return nil, nil, usageErrorf("unknown command \"source %s\" (source dump is the only one)", rest[0])
		default:
			return nil, nil, usageErrorf("source needs a subcommand: syncd source dump")
		}
	}
	if c := find(name); c != nil {
		return c, rest, nil
	}
	return nil, nil, usageErrorf("unknown command %q", name)
}

func find(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func isHelpFlag(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// cmdHelp prints the list of commands, or the help of the one named.
func cmdHelp(_ context.Context, e env, args []string) error {
	if len(args) == 0 {
		printUsage(e.stdout)
		return nil
	}
	name := strings.Join(args, " ")
	if name == "source" {
		name = "source dump" // its only subcommand
	}
	if c := find(name); c != nil {
		printHelp(e.stdout, c)
		return nil
	}
	return usageErrorf("unknown command %q", name)
}

// printUsage prints the list of commands.
func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: syncd <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'syncd help <command>' for the flags of a command.\n")
}

// printHelp prints a command's usage line, what it does and its flags.
func printHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "%s\n\n%s.\n", c.usageLine(), capitalize(c.summary))
	if c.flags == nil {
		return
	}
	fmt.Fprint(w, "\nflags:\n")
	printFlags(w, c.flags())
}

func (c *command) usageLine() string {
	return strings.TrimSpace("usage: syncd " + c.name + " " + c.args)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// printFlags lists the flags of fs spelled as the usage lines spell them
// (--name VALUE, where flag.PrintDefaults would print -name), each with
// its usage and a default that is not the zero value.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if value != "" {
			left += " " + value
		}
		if !zeroDefault(f.DefValue) {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	width = min(width, 28)
	for _, r := range rows {
		if len(r.left) > width {
			fmt.Fprintf(w, "  %s\n  %-*s  %s\n", r.left, width, "", r.usage)
			continue
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.left, r.usage)
	}
}

func zeroDefault(v string) bool {
	switch v {
	case "", "false", "0", "0s":
		return true
	}
	return false
}

// finish turns what command c returned into one message on stderr (help
// on stdout) and the exit code. c is nil when no command was found.
func finish(e env, c *command, err error) int {
	if errors.Is(err, flag.ErrHelp) && c != nil {
		printHelp(e.stdout, c)
		return exitcode.OK
	}
	if err == nil {
		return exitcode.OK
	}
	prefix := "syncd"
	if c != nil {
		prefix += " " + c.name
	}
	printError(e.stderr, prefix, err)
	var ue *usageError
	if errors.As(err, &ue) {
		printUsageHint(e.stderr, c)
	}
	return exitcode.Of(err)
}

// printUsageHint follows a usage error: the command's usage line, or the
// list of commands when none was found.
func printUsageHint(w io.Writer, c *command) {
	switch {
	case c == nil:
		printUsage(w)
	case c.flags == nil:
		fmt.Fprintln(w, c.usageLine())
	default:
		fmt.Fprintf(w, "%s\nRun 'syncd help %s' for its flags.\n", c.usageLine(), c.name)
	}
}
