// Package logging wires the -log-level and -log-format flags that every binary
// shares to a log/slog logger, so all binaries log the same way.
package logging

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Options are the logging settings of one binary.
type Options struct {
	Level  string // debug, info, warn, error
	Format string // text or json
}

// Register adds -log-level and -log-format to fs, storing their values in o.
func (o *Options) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.Level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&o.Format, "log-format", "text", "log format: text or json")
}

// New returns a logger writing to w as the options say, or an error naming
// the bad option so main can print one clear line.
func (o Options) New(w io.Writer) (*slog.Logger, error) {
	level, err := ParseLevel(o.Level)
	if err != nil {
		return nil, err
	}
	handlerOpts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(o.Format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, handlerOpts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, handlerOpts)), nil
	default:
		return nil, fmt.Errorf("invalid -log-format %q: want text or json", o.Format)
	}
}

// ParseLevel accepts the level names of -log-level, case-insensitively.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, fmt.Errorf("invalid -log-level %q: want debug, info, warn or error", s)
	}
}
