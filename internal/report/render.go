package report

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Formats a report can be rendered in (DESIGN.md §4, --format).
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
	FormatHTML     = "html"
)

// Formats lists the valid formats, for flag help.
var Formats = []string{FormatText, FormatMarkdown, FormatJSON, FormatHTML}

// ValidFormat reports whether f names a report format.
func ValidFormat(f string) bool {
	for _, v := range Formats {
		if f == v {
			return true
		}
	}
	return false
}

// FormatForFile guesses a format from a file name's extension (".md",
// ".json", ".html", ".txt"), or returns "" when it cannot tell.
func FormatForFile(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt", ".log":
		return FormatText
	case ".md", ".markdown":
		return FormatMarkdown
	case ".json":
		return FormatJSON
	case ".html", ".htm":
		return FormatHTML
	}
	return ""
}

// Options tunes rendering. The zero value suits files and CI logs.
type Options struct {
	// Color adds ANSI colours to the text form (for a terminal); other forms
	// ignore it.
	Color bool
}

// Render writes r in format: "text", "markdown", "json" or "html".
func Render(w io.Writer, r *Report, format string) error {
	return RenderOptions(w, r, format, Options{})
}

// RenderOptions is Render with options.
func RenderOptions(w io.Writer, r *Report, format string, o Options) error {
	if r == nil {
		return errors.New("render report: no report")
	}
	var err error
	switch format {
	case FormatText:
		err = renderText(w, r, o)
	case FormatMarkdown:
		err = renderMarkdown(w, r)
	case FormatJSON:
		err = renderJSON(w, r)
	case FormatHTML:
		err = renderHTML(w, r)
	default:
		return fmt.Errorf("render report: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("render %s report: %w", format, err)
	}
	return nil
}
