// Package plural writes a count with its noun, "1 group" and "3 groups",
// so that every message and report of syncd gets its plurals right in one
// place.
package plural

import (
	"strconv"
	"strings"
)

// Count returns n followed by noun, in the plural unless n is 1. The
// plural is the regular English one of the noun's last word ("user group":
// "user groups", "entry": "entries", "address": "addresses"); use Of for
// any other ("person", "people") and for phrases whose first word varies.
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + regular(noun)
}

// Of returns n followed by one when n is 1, else by many.
func Of(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// regular makes the last word of noun plural by the regular rules.
func regular(noun string) string {
	lower := strings.ToLower(noun)
	switch {
	case noun == "":
		return noun
	case strings.HasSuffix(lower, "y") && len(lower) > 1 && !strings.ContainsRune("aeiou", rune(lower[len(lower)-2])):
		return noun[:len(noun)-1] + "ies"
	case strings.HasSuffix(lower, "s"), strings.HasSuffix(lower, "x"), strings.HasSuffix(lower, "z"),
		strings.HasSuffix(lower, "ch"), strings.HasSuffix(lower, "sh"):
		return noun + "es"
	}
	return noun + "s"
}
