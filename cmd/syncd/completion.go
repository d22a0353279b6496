package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// cmdCompletion prints a completion script for bash or zsh. The script is
// static, generated from the commands and their flag sets, so it lists
// exactly the flags each command parses: file names after a FILE flag,
// the alternatives after a a|b|c one.
func cmdCompletion(_ context.Context, e env, args []string) error {
	fs := newFlagSet("completion")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("name one shell: bash or zsh")
	}
	switch fs.Arg(0) {
	case "bash":
		writeBash(e.stdout, completionSpecs())
	case "zsh":
		writeZsh(e.stdout, completionSpecs())
	default:
		return usageErrorf("no completion for %q: bash or zsh", fs.Arg(0))
	}
	return nil
}

// compSpec is what the completion knows of one command.
type compSpec struct {
	name, summary string
	flags         []compFlag
	args          []string // words to offer as arguments (help, completion)
}

type compFlag struct {
	name, usage string
	files       bool     // the value is a file name
	values      []string // the value is one of these
	takesValue  bool
}

func completionSpecs() []compSpec {
	var specs []compSpec
	var names []string
	for _, c := range commands() {
		s := compSpec{name: c.name, summary: c.summary}
		if c.flags != nil {
			c.flags().VisitAll(func(f *flag.Flag) { s.flags = append(s.flags, compFlagOf(f)) })
		}
		specs = append(specs, s)
		names = append(names, strings.Fields(c.name)[0])
	}
	for i := range specs {
		switch specs[i].name {
		case "help":
			specs[i].args = names
		case "completion":
			specs[i].args = []string{"bash", "zsh"}
		}
	}
	return specs
}

func compFlagOf(f *flag.Flag) compFlag {
	value, usage := flag.UnquoteUsage(f)
	cf := compFlag{name: f.Name, usage: usage, takesValue: value != ""}
	switch {
	case value == "FILE":
		cf.files = true
	case strings.Contains(value, "|"):
		cf.values = strings.Split(value, "|")
	}
	return cf
}

func writeBash(w io.Writer, specs []compSpec) {
	var cmds []string
	for _, s := range specs {
		cmds = append(cmds, strings.Fields(s.name)[0])
	}
	fmt.Fprintf(w, `# bash completion for syncd, printed by: syncd completion bash
# Load it with: source <(syncd completion bash)
_syncd() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=${COMP_WORDS[1]} first=2
	COMPREPLY=()
	if [[ $cur == = ]]; then cur=; fi
	if [[ $prev == = ]]; then prev=${COMP_WORDS[COMP_CWORD-2]}; fi
	if (( COMP_CWORD == 1 )); then
		COMPREPLY=($(compgen -W %q -- "$cur"))
		return
	fi
	if [[ $cmd == source ]]; then
		if (( COMP_CWORD == 2 )); then
			COMPREPLY=($(compgen -W "dump" -- "$cur"))
			return
		fi
		cmd="source ${COMP_WORDS[2]}" first=3
	fi
	local words=
	case $cmd in
`, strings.Join(uniq(cmds), " "))
	for _, s := range specs {
		writeBashCase(w, s)
	}
	fmt.Fprint(w, `	esac
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _syncd syncd
`)
}

func writeBashCase(w io.Writer, s compSpec) {
	fmt.Fprintf(w, "\t%q)\n", s.name)
	var words []string
	var files, free []string
	valueCases := map[string][]string{}
	for _, f := range s.flags {
		words = append(words, "--"+f.name)
		switch {
		case f.files:
			files = append(files, "--"+f.name)
		case len(f.values) > 0:
			valueCases["--"+f.name] = f.values
		case f.takesValue:
			free = append(free, "--"+f.name)
		}
	}
	if len(files)+len(free)+len(valueCases) > 0 {
		fmt.Fprint(w, "\t\tcase $prev in\n")
		if len(files) > 0 {
			fmt.Fprintf(w, "\t\t%s) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", strings.Join(files, "|"))
		}
		for _, name := range sortedKeys(valueCases) {
			fmt.Fprintf(w, "\t\t%s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", name, strings.Join(valueCases[name], " "))
		}
		if len(free) > 0 {
			fmt.Fprintf(w, "\t\t%s) return ;;\n", strings.Join(free, "|"))
		}
		fmt.Fprint(w, "\t\tesac\n")
	}
	if len(s.args) > 0 {
		fmt.Fprintf(w, "\t\t(( COMP_CWORD == first )) && words=%q\n", strings.Join(s.args, " "))
	} else {
		fmt.Fprintf(w, "\t\twords=%q\n", strings.Join(words, " "))
	}
	fmt.Fprint(w, "\t\t;;\n")
}

func writeZsh(w io.Writer, specs []compSpec) {
	fmt.Fprint(w, `#compdef syncd
# zsh completion for syncd, printed by: syncd completion zsh
# Load it with: source <(syncd completion zsh)  (after compinit), or save
# it as _syncd in a directory of $fpath.
_syncd() {
	local -a cmds
	cmds=(
`)
	seen := map[string]bool{}
	for _, s := range specs {
		name := strings.Fields(s.name)[0]
		if seen[name] {
			continue
		}
		seen[name] = true
		summary := s.summary
		if name != s.name { // source dump
			summary = s.name + ": " + summary
		}
		fmt.Fprintf(w, "\t\t%s\n", zshQuote(name+":"+summary))
	}
	fmt.Fprint(w, `	)
	if (( CURRENT == 2 )); then
		_describe -t commands 'syncd command' cmds
		return
	fi
	local cmd=$words[2]
	shift words; (( CURRENT-- ))
	if [[ $cmd == source ]]; then
		if (( CURRENT == 2 )); then
			compadd dump
			return
		fi
		cmd="source $words[2]"
		shift words; (( CURRENT-- ))
	fi
	case $cmd in
`)
	for _, s := range specs {
		writeZshCase(w, s)
	}
	fmt.Fprint(w, `	esac
}
if [[ $funcstack[1] == _syncd ]]; then
	_syncd "$@"
else
	compdef _syncd syncd
fi
`)
}

func writeZshCase(w io.Writer, s compSpec) {
	fmt.Fprintf(w, "\t%s)\n", zshQuote(s.name))
	if len(s.args) > 0 {
		fmt.Fprintf(w, "\t\t(( CURRENT == 2 )) && compadd %s\n\t\t;;\n", strings.Join(s.args, " "))
		return
	}
	fmt.Fprint(w, "\t\t_arguments")
	for _, f := range s.flags {
		desc := strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`).Replace(f.usage)
		spec := "--" + f.name
		switch {
		case f.files:
			spec += "=[" + desc + "]:file:_files"
		case len(f.values) > 0:
			spec += "=[" + desc + "]:value:(" + strings.Join(f.values, " ") + ")"
		case f.takesValue:
			spec += "=[" + desc + "]:value: "
		default:
			spec += "[" + desc + "]"
		}
		fmt.Fprintf(w, " \\\n\t\t\t%s", zshQuote(spec))
	}
	fmt.Fprint(w, "\n\t\t;;\n")
}

// zshQuote quotes s for zsh (and bash): single quotes, each ' as '\”.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func uniq(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
