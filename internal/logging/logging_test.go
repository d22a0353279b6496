package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/logging"
)

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := logging.New(config.Log{Level: "info", Format: "json"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("run finished", zap.Int("changes_applied", 3), zap.Stringer("token", config.Secret("s3cret")))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1 (debug is below info): %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if rec["msg"] != "run finished" || rec["level"] != "info" || rec["changes_applied"] != 3.0 || rec["time"] == nil {
		t.Errorf("record = %v", rec)
	}
	if strings.Contains(buf.String(), "s3cret") {
		t.Error("a config.Secret reached the log")
	}
}

func TestConsoleAndLevel(t *testing.T) {
	var buf bytes.Buffer
	log, err := logging.New(config.Log{Level: "debug", Format: "console"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("next run scheduled")
	if !strings.Contains(buf.String(), "DEBUG") || !strings.Contains(buf.String(), "next run scheduled") {
		t.Errorf("console output %q", buf.String())
	}
}

func TestDefaultsAndErrors(t *testing.T) {
	var buf bytes.Buffer
	if _, err := logging.New(config.Log{}, &buf); err != nil {
		t.Errorf("empty log section: %v", err)
	}
	if _, err := logging.New(config.Log{Level: "loud"}, &buf); err == nil {
		t.Error("level loud accepted")
	}
	if _, err := logging.New(config.Log{Format: "xml"}, &buf); err == nil {
		t.Error("format xml accepted")
	}
}
