package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/source/ldap/servertest"
)

// Help asked for goes to stdout with exit 0 (`syncd --help | less` shows
// it); help for a command is that command's usage and flags.
func TestHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"-help"}} {
		code, out, errOut := runCmd(t, nil, args...)
		if code != exitcode.OK || errOut != "" || !strings.HasPrefix(out, "usage: syncd <command>") || !strings.Contains(out, "source dump") {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
	}
	for _, args := range [][]string{{"help", "sync"}, {"sync", "-h"}, {"sync", "--help"}} {
		code, out, errOut := runCmd(t, nil, args...)
		if code != exitcode.OK || errOut != "" || !strings.HasPrefix(out, "usage: syncd sync [--config FILE]") ||
			!strings.Contains(out, "\n  --apply ") || !strings.Contains(out, "\n  --lock-wait DURATION ") || strings.Contains(out, "usage: syncd <command>") {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
	}
	for _, args := range [][]string{{"help", "source"}, {"help", "source", "dump"}, {"source", "-h"}, {"source", "dump", "--help"}} {
		if code, out, _ := runCmd(t, nil, args...); code != exitcode.OK || !strings.HasPrefix(out, "usage: syncd source dump ") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
	}
	// No command at all is a usage error: the list goes to stderr, exit 2.
	if code, out, errOut := runCmd(t, nil); code != exitcode.Usage || out != "" || !strings.Contains(errOut, "usage: syncd <command>") {
		t.Errorf("no command: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// Flag lists spell flags as usage lines do, --flag, never Go's -flag.
func TestHelpSpellsFlagsWithTwoDashes(t *testing.T) {
	for _, c := range commands() {
		_, out, _ := runCmd(t, nil, append([]string{"help"}, strings.Fields(c.name)...)...)
		if m := regexp.MustCompile(`(?m)^\s+-[a-z]`).FindString(out); m != "" {
			t.Errorf("help %s lists a flag as %q:\n%s", c.name, m, out)
		}
	}
}

// Every flag a command parses is in its usage line, with the value name
// its help shows; and nothing in the usage line is a flag it lacks.
func TestUsageLinesListEveryFlag(t *testing.T) {
	for _, c := range commands() {
		if c.flags == nil {
			continue
		}
		fs := c.flags()
		fs.VisitAll(func(f *flag.Flag) {
			want := "--" + f.Name
			if value, _ := flag.UnquoteUsage(f); value != "" {
				want += " " + value
			}
			if !regexp.MustCompile(regexp.QuoteMeta(want) + `\b`).MatchString(c.args) {
				t.Errorf("syncd %s: the usage line %q lacks %q", c.name, c.args, want)
			}
		})
		for _, m := range regexp.MustCompile(`--([a-z-]+)`).FindAllStringSubmatch(c.args, -1) {
			if fs.Lookup(m[1]) == nil {
				t.Errorf("syncd %s: the usage line names --%s, which it does not parse", c.name, m[1])
			}
		}
	}
}

func TestVersionFlag(t *testing.T) {
	_, want, _ := runCmd(t, nil, "version")
	for _, args := range [][]string{{"--version"}, {"-version"}} {
		if code, out, _ := runCmd(t, nil, args...); code != exitcode.OK || out != want {
			t.Errorf("%v: exit %d, %q; want %q", args, code, out, want)
		}
	}
}

// A usage error goes to stderr with exit 2: the message after the
// command's name, then its usage line.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"validate", "--frobnicate"}, "syncd validate: flag provided but not defined: --frobnicate\nusage: syncd validate [--config FILE]"},
		{[]string{"sync", "--lock-wait", "soon"}, `syncd sync: invalid value "soon" for flag --lock-wait`},
		{[]string{"sync", "--config"}, "syncd sync: flag needs an argument: --config"},
		{[]string{"help", "nope"}, `syncd help: unknown command "nope"`},
		{[]string{"nope"}, "syncd: unknown command \"nope\"\nusage: syncd <command>"},
		{[]string{"source"}, "syncd: source needs a subcommand"},
		{[]string{"source", "list"}, `syncd: unknown command "source list"`},
		{[]string{"source", "dump", "--format", "yaml"}, `syncd source dump: --format "yaml": want json or text`},
		{[]string{"completion", "fish"}, `syncd completion: no completion for "fish"`},
	} {
		code, out, errOut := runCmd(t, nil, tc.args...)
		if code != exitcode.Usage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\nstdout: %s\nstderr: %s", tc.args, code, tc.want, out, errOut)
		}
	}
}

// printError prints one line per joined error after the command, and
// escapes terminal controls a directory or the API may have sent.
func TestPrintError(t *testing.T) {
	var b bytes.Buffer
	err := errors.Join(fmt.Errorf("teams: %w", errors.New("refused")),
		errors.Join(errors.New("source a: down"), errors.New("source b: said \x1b[2J")))
	printError(&b, "syncd validate", err)
	want := "syncd validate: teams: refused\nsyncd validate: source a: down\nsyncd validate: source b: said \\x1b[2J\n"
	if b.String() != want {
		t.Errorf("printed %q, want %q", b.String(), want)
	}
	b.Reset()
	printError(&b, "syncd sync", &exitError{code: exitcode.Held})
	if b.Len() != 0 {
		t.Errorf("an outcome the report shows was printed again: %q", b.String())
	}
}

// completionScript writes `syncd completion SHELL` to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	code, out, errOut := runCmd(t, nil, "completion", shell)
	if code != exitcode.OK {
		t.Fatalf("completion %s: exit %d: %s", shell, code, errOut)
	}
	return writeTestFile(t, filepath.Join(t.TempDir(), "syncd."+shell), out, 0o644)
}

// The bash completion registers for syncd and completes commands, each
// command's own flags and the values of its flags.
func TestCompletionBash(t *testing.T) {
	bash := servertest.Require(t, "bash", "apt-get install bash", "bash")["bash"]
	script := completionScript(t, "bash")
	complete := func(words ...string) string {
		t.Helper()
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = fmt.Sprintf("%q", w)
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", fmt.Sprintf(
			`source %q && complete -p syncd >/dev/null && COMP_WORDS=(%s) && COMP_CWORD=%d && _syncd && echo "${COMPREPLY[*]}"`,
			script, strings.Join(q, " "), len(words)-1))
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", words, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"syncd", "s"}, "sync source"},
		{[]string{"syncd", "sync", "--f"}, "--format"},
		{[]string{"syncd", "sync", "--format", ""}, "text markdown json html"},
		{[]string{"syncd", "sync", "--format", "=", "j"}, "json"},
		{[]string{"syncd", "apply", "--p"}, "--plan"},
		{[]string{"syncd", "source", ""}, "dump"},
		{[]string{"syncd", "source", "dump", "--format", ""}, "json text"},
		{[]string{"syncd", "validate", "--"}, "--config --connect --probe-write"},
		{[]string{"syncd", "completion", ""}, "bash zsh"},
		{[]string{"syncd", "sync", "--lock-wait", ""}, ""},
	} {
		if got := complete(tc.words...); got != tc.want {
			t.Errorf("%q: completes %q, want %q", tc.words, got, tc.want)
		}
	}
	// Each command's flags are the ones it parses.
	for _, c := range commands() {
		if c.flags == nil {
			continue
		}
		var want []string
		c.flags().VisitAll(func(f *flag.Flag) { want = append(want, "--"+f.Name) })
		words := append([]string{"syncd"}, strings.Fields(c.name)...)
		if got := complete(append(words, "--")...); got != strings.Join(want, " ") {
			t.Errorf("syncd %s --<TAB>: %q, want %q", c.name, got, strings.Join(want, " "))
		}
	}
}

// The zsh completion parses, registers with compdef when sourced, and
// hands each command's flags to _arguments (stubbed here to print them).
func TestCompletionZsh(t *testing.T) {
	paths := servertest.Require(t, "zsh", "apt-get install zsh", "zsh")
	script := completionScript(t, "zsh")
	zsh := func(body string) string {
		t.Helper()
		cmd := exec.Command(paths["zsh"], "-f", "-c", body)
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "HOME="+cmd.Dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("zsh: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := zsh(fmt.Sprintf(`autoload -U compinit && compinit -u -D && source %q && print -r -- $_comps[syncd]`, script)); strings.TrimSpace(out) != "_syncd" {
		t.Errorf("compdef: %q, want _syncd", out)
	}
	stubs := `compdef() { : }; _arguments() { print -rl -- "$@" }; compadd() { print -r -- "compadd $*" }; _describe() { print -r -- "describe $*" }; `
	run := func(words string, current int) string {
		return zsh(fmt.Sprintf(`%s source %q; words=(%s); CURRENT=%d; _syncd`, stubs, script, words, current))
	}
	if out := run("syncd ''", 2); !strings.Contains(out, "describe -t commands syncd command cmds") {
		t.Errorf("commands: %q", out)
	}
	out := run("syncd source dump --f", 4)
	for _, want := range []string{"--format=[output format, json|text]:value:(json text)", "--config=[", ":file:_files", "--source=["} {
		if !strings.Contains(out, want) {
			t.Errorf("source dump: lacks %q:\n%s", want, out)
		}
	}
	if out := run("syncd source ''", 3); strings.TrimSpace(out) != "compadd dump" {
		t.Errorf("source: %q", out)
	}
	if out := run("syncd sync --", 3); !strings.Contains(out, "--lock-wait=[") || !strings.Contains(out, "--format=[report format") || strings.Contains(out, "--source") {
		t.Errorf("sync:\n%s", out)
	}
}
