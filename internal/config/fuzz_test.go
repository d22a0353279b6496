package config

import (
	"errors"
	"strings"
	"testing"
)

// A configuration file, however broken, gives a config or errors that
// name the file and a line: never a panic, never an error without a place.
// (The seeds are small: the fuzzer minimises every input it finds new,
// which takes minutes for one the size of config.example.yaml.)
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"teams:\n  url: https://x/api/v3\n  token: t\nsources:\n  - name: a\n    ldif: {path: a.ldif}\ngroups:\n  - {source: a, from: g, to: G}\n",
		"sources:\n  - name: a\n    ldap: {url: ldap://x, users: {base_dn: dc=x}, groups: {base_dn: dc=x}}\n",
		"groups:\n  - from: [a, {b: c}]\n    to: [[1]]\nsmes:\n  - {tag: go, from: x}\n",
		"sync: {interval: 5x, max_removal_percent: -3, state_dir: ${HOME}/s}\n",
		"server: {listen: ':9', pprof: true}\nlog: {level: loud}\nnotify: {webhooks: [{url: 'http://x'}]}\n",
		"&a [*a, *a]\n", "key: !!binary zzz\n", "? [a]\n: b\n", "\t- x\n", "teams: &t {url: *t}\n",
	} {
		f.Add(s)
	}
	getenv := func(string) string { return "" }
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := Parse("fuzz.yaml", []byte(text), getenv)
		if err == nil {
			if cfg == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		for _, e := range Errors(err) {
			var ce *Error
			if !errors.As(e, &ce) && !strings.Contains(e.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file's name: %v", e)
			}
		}
	})
}
