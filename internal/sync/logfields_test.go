package sync

import (
	"bytes"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/syncd/syncd/internal/report"
)

// A change's log line names every person as report.UserLabel does, in
// the JSON and the console encoding, whatever their names hold.
func TestChangeLogNamesEveryone(t *testing.T) {
	c := report.Change{Kind: report.KindAddMembers, Group: "Platform", Users: []report.User{
		{ID: 1, Name: "Ann Lee", Email: "ann@example.com"}, {ID: 2, Email: "bob@example.com"}, {ID: 3, Name: "Cat \"C\" <x>\n"},
		{ID: 4}, {ID: 5, Name: "Zoë \x1b[2J", Email: "z\xff@x.org"}}}
	var labels []string
	for _, u := range c.Users {
		labels = append(labels, report.UserLabel(u))
	}
	for _, enc := range []func(zapcore.EncoderConfig) zapcore.Encoder{zapcore.NewJSONEncoder, zapcore.NewConsoleEncoder} {
		cfg := zap.NewProductionEncoderConfig()
		cfg.TimeKey = "" // two lines, one time
		line := func(fields ...zap.Field) string {
			var buf bytes.Buffer
			log := zap.New(zapcore.NewCore(enc(cfg), zapcore.AddSync(&buf), zap.InfoLevel))
			log.Info("x", fields...)
			return buf.String()
		}
		got := line(changeFields(c)...)
		want := line(zap.String("kind", c.Kind), zap.String("group", c.Group), zap.Strings("users", labels))
		if got != want {
			t.Errorf("log line:\n got %s\nwant %s", got, want)
		}
	}
}
