package logging

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"strings"
	"testing"
)

func TestOptionsNew(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantErr    string
		logDebug   bool // whether a debug record is written
		wantJSON   bool
		wantInText string
	}{
		{name: "defaults are info and text", args: nil, wantInText: "level=INFO msg=hello"},
		{name: "debug level writes debug records", args: []string{"-log-level", "DEBUG"}, logDebug: true, wantInText: "level=DEBUG msg=debugging"},
		{name: "json format writes one JSON object per record", args: []string{"-log-format", "json"}, wantJSON: true},
		{name: "unknown level is refused with its name", args: []string{"-log-level", "loud"}, wantErr: `invalid -log-level "loud"`},
		{name: "unknown format is refused with its name", args: []string{"-log-format", "xml"}, wantErr: `invalid -log-format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Options
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			o.Register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			log, err := o.New(&buf)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("debugging")
			log.Info("hello")
			out := buf.String()
			if got := strings.Contains(out, "debugging"); got != tt.logDebug {
				t.Errorf("debug record written = %v, want %v; log:\n%s", got, tt.logDebug, out)
			}
			if tt.wantJSON {
				var rec map[string]any
				if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &rec); err != nil {
					t.Fatalf("not one JSON record: %v\n%s", err, out)
				}
				if rec["msg"] != "hello" || rec["level"] != "INFO" {
					t.Errorf("record = %v", rec)
				}
			}
			if tt.wantInText != "" && !strings.Contains(out, tt.wantInText) {
				t.Errorf("log %q does not contain %q", out, tt.wantInText)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"": slog.LevelInfo, "debug": slog.LevelDebug, "INFO": slog.LevelInfo, "Warn": slog.LevelWarn,
		"warning": slog.LevelWarn, "error": slog.LevelError, "info+2": slog.LevelInfo + 2,
	} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"loud", "trace", " info", "5"} {
		if _, err := ParseLevel(in); err == nil || !strings.Contains(err.Error(), "invalid -log-level") {
			t.Errorf("ParseLevel(%q) = %v, want an error", in, err)
		}
	}
}
