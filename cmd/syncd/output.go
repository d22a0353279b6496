package main

import (
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"
)

// The report or the log, not both. `syncd sync` and `syncd apply` print the
// report on stdout and log on stderr. When both are the same person's
// terminal, the report already shows every change and the run's summary:
// logging each change again at info would print it twice. There the log
// keeps its warnings and errors only (and, in a long apply, its progress
// line once a minute); --verbose brings the rest back.
// Anywhere else (a pipe, a file, journald, CI) the log is left as the
// configuration says, one line per change: operations search it.

// quietOnTerminal raises the log to warnings when the report and the log
// both go to a terminal, unless verbose.
func (w *wiring) quietOnTerminal(verbose bool) {
	if verbose || !isTerminal(w.e.stdout) || !isTerminal(w.e.stderr) {
		return
	}
	if w.log.Core().Enabled(zapcore.InfoLevel) { // never lowers a level set above warn
		// A long apply still says how far it is: the report comes at the end.
		w.progress = w.log
		w.log = w.log.WithOptions(zap.IncreaseLevel(zapcore.WarnLevel))
	}
}

// isTerminal tells whether w is a terminal (not merely a character
// device: /dev/null is one, and gets neither colour nor a quieter log).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
