// Package logging is the one logging set-up of every binary: the
// -log-level and -log-format flags, and the log/slog logger they describe,
// writing to the io.Writer the caller gives (standard error, as a rule).
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

// New returns a logger writing to w as the options say: text (the default)
// or JSON records, at Level and above. A bad option is an error naming it,
// for main to print as one clear line. The zero Options is info, text.
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

// ParseLevel accepts the level names of -log-level, case-insensitively, as
// slog.Level.UnmarshalText reads them (debug, info, warn, error, and an
// offset such as info+2), plus "warning" and "" (info), which the flag has
// always taken.
func ParseLevel(s string) (slog.Level, error) {
	switch {
	case s == "":
		return slog.LevelInfo, nil
	case strings.EqualFold(s, "warning"):
		return slog.LevelWarn, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("invalid -log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
