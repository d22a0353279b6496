package config

import (
	"fmt"
	"strings"
)

// expandEnv replaces ${NAME} and ${NAME:-default} in s with values from
// getenv. "$${" is a literal "${"; a "$" not followed by "{" stays as it is
// (so passwords like "pa$$word" need no escaping). getenv cannot tell an
// unset variable from an empty one, so both are errors unless a default
// (possibly empty: ${NAME:-}) is given. Errors name the variable, never a
// value: the text around it may be a secret.
func expandEnv(s string, getenv func(string) string) (string, error) {
	out, _, err := expand(s, getenv)
	return out, err
}

// expand is expandEnv that also tells whether anything came from the
// environment: a value that only ${NAME:-default} defaults (or $${) made
// was written in the file all the same, and a secret written so is as
// readable as one written plainly.
func expand(s string, getenv func(string) string) (string, bool, error) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	fromEnv := false
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), fromEnv, nil
		}
		if i > 0 && s[i-1] == '$' { // "$${" -> "${"
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", false, fmt.Errorf("unterminated ${ (close it with }, or write $${ for a literal ${)")
		}
		val, env, err := lookupVar(s[i+2:i+end], getenv)
		if err != nil {
			return "", false, err
		}
		fromEnv = fromEnv || env
		b.WriteString(val)
		s = s[i+end+1:]
	}
}

// lookupVar resolves the inside of ${...}: NAME or NAME:-default, and
// tells whether the value came from the environment.
func lookupVar(expr string, getenv func(string) string) (string, bool, error) {
	name, def, hasDef := strings.Cut(expr, ":-")
	if !validVarName(name) {
		return "", false, fmt.Errorf("invalid ${...} variable reference (use ${NAME} or ${NAME:-default}, NAME of letters, digits and _; $${ writes a literal ${)")
	}
	if v := getenv(name); v != "" {
		return v, true, nil
	}
	if hasDef {
		return def, false, nil
	}
	return "", false, fmt.Errorf("environment variable %s is not set (set it, or write ${%s:-default} to give a default)", name, name)
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
