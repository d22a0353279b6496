// Package logging builds syncd's zap logger from the log section of the
// configuration.
package logging

import (
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/syncd/syncd/internal/config"
)

// New returns a logger writing to w: format "json" (the default, for
// journald and log shippers) or "console" (for people), at log.level
// (default info). Secrets never reach it: config.Secret prints as REDACTED.
func New(l config.Log, w io.Writer) (*zap.Logger, error) {
	level := zapcore.InfoLevel
	if l.Level != "" {
		var err error
		if level, err = zapcore.ParseLevel(l.Level); err != nil {
			return nil, fmt.Errorf("log.level: %w", err)
		}
	}
	enc, err := encoder(l.Format)
	if err != nil {
		return nil, err
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core, zap.ErrorOutput(zapcore.Lock(zapcore.AddSync(w)))), nil
}

func encoder(format string) (zapcore.Encoder, error) {
	switch format {
	case "", "json":
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "time"
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		ec.EncodeDuration = zapcore.SecondsDurationEncoder
		return zapcore.NewJSONEncoder(ec), nil
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout(time.RFC3339)
		ec.EncodeDuration = zapcore.StringDurationEncoder
		return zapcore.NewConsoleEncoder(ec), nil
	}
	return nil, fmt.Errorf("log.format %q: want json or console", format)
}
