package sync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
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

// A change naming thousands of people is logged in lines of at most
// loggedUsersPerLine people, each whole for journald and Docker (16 KiB),
// together naming everyone once, in order.
func TestLargeChangeLoggedInParts(t *testing.T) {
	c := report.Change{Kind: report.KindAddMembers, Group: "All Staff", ID: "abc123"}
	for i := range 250 {
		c.Users = append(c.Users, report.User{ID: i + 1, Name: fmt.Sprintf("Person %d", i), Email: fmt.Sprintf("p%d@example.com", i)})
	}
	var buf bytes.Buffer
	e := &Engine{log: zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zap.InfoLevel))}
	e.logChange(zapcore.WarnLevel, "Held "+report.Describe(c), c, zap.String("reason", "over budget"))

	var named []string
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	for i, l := range lines {
		if len(l) > 16<<10 {
			t.Errorf("line %d is %d bytes", i+1, len(l))
		}
		var got struct {
			Level, Msg, Kind, Group, Reason string
			ChangeID                        string `json:"change_id"`
			Users                           []string
			Part, Parts                     int
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if got.Part != i+1 || got.Parts != 3 || got.Level != "warn" || got.Group != "All Staff" || got.ChangeID != "abc123" || got.Reason != "over budget" ||
			!strings.HasPrefix(got.Msg, "Held add 250 users to user group") {
			t.Errorf("line %d: %+v", i+1, got)
		}
		named = append(named, got.Users...)
	}
	if len(lines) != 3 || len(named) != 250 {
		t.Fatalf("%d lines naming %d people, want 3 naming 250", len(lines), len(named))
	}
	for i, u := range c.Users {
		if named[i] != report.UserLabel(u) {
			t.Fatalf("person %d logged as %q, want %q", i, named[i], report.UserLabel(u))
		}
	}

	// People with long names fill a line sooner.
	buf.Reset()
	long := c
	long.Users = nil
	for i := range 200 {
		long.Users = append(long.Users, report.User{ID: i + 1, Name: strings.Repeat("N", 250), Email: fmt.Sprintf("%s%d@example.com", strings.Repeat("e", 60), i)})
	}
	e.logChange(zapcore.InfoLevel, "x", long)
	named = nil
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if len(l) > 16<<10 {
			t.Errorf("a line of long names is %d bytes", len(l))
		}
		var got struct{ Users []string }
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		named = append(named, got.Users...)
	}
	if len(named) != len(long.Users) {
		t.Errorf("lines of long names named %d people, want %d", len(named), len(long.Users))
	}

	// A change of fewer people is one line without parts.
	buf.Reset()
	c.Users = c.Users[:loggedUsersPerLine]
	e.logChange(zapcore.InfoLevel, "x", c)
	if n := strings.Count(buf.String(), "\n"); n != 1 || strings.Contains(buf.String(), `"part"`) {
		t.Errorf("a change of %d people logged as %d lines: %s", len(c.Users), n, buf.String())
	}
}
