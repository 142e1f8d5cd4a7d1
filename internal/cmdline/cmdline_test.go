package cmdline

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		maxArgs int
		wantErr string
		wantN   int
	}{
		{name: "flags only", args: []string{"-n", "3"}, wantN: 3},
		{name: "a positional argument within the limit", args: []string{"-n", "1", "ids"}, maxArgs: 1, wantN: 1},
		{name: "a positional argument too many", args: []string{"ids"}, wantErr: `unexpected argument "ids"`},
		{name: "the second positional argument is named", args: []string{"a", "b"}, maxArgs: 1, wantErr: `unexpected argument "b"`},
		{name: "an unknown flag is one line", args: []string{"-nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "a bad value is one line", args: []string{"-n", "x"}, wantErr: `invalid value "x" for flag -n: parse error`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			n := fs.Int("n", 0, "a number")
			err := Parse(fs, tc.args, tc.maxArgs)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || *n != tc.wantN {
				t.Fatalf("n = %d, err = %v; want %d, nil", *n, err, tc.wantN)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	called := false
	fs.Usage = func() { called = true }
	if err := Parse(fs, []string{"-h"}, 0); !errors.Is(err, flag.ErrHelp) || !called {
		t.Fatalf("err = %v, usage printed = %v; want flag.ErrHelp and the usage", err, called)
	}
}

func TestBuildVersion(t *testing.T) {
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{name: "a tagged or pseudo version wins", info: debug.BuildInfo{
			Main:     debug.Module{Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}},
		}, want: "v1.2.3"},
		{name: "a devel build names its revision", info: debug.BuildInfo{
			Main:     debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "false"}},
		}, want: "0123456789abcdef"},
		{name: "uncommitted changes are said", info: debug.BuildInfo{
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}},
		}, want: "abc+dirty"},
		{name: "a tree without VCS is devel", info: debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, want: "(devel)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := buildVersion(&tc.info); got != tc.want {
				t.Errorf("buildVersion = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	fs := flag.NewFlagSet("prog", flag.ContinueOnError)
	fs.Int("n", 0, "a number")
	// Even with arguments that would otherwise be refused, -version answers.
	if err := Parse(fs, []string{"-version"}, 0); !errors.Is(err, ErrVersion) || !Done(err) {
		t.Fatalf("err = %v, want ErrVersion", err)
	}
	if err := Parse(flag.NewFlagSet("prog", flag.ContinueOnError), nil, 0); Done(err) {
		t.Fatalf("a plain command line is not done: %v", err)
	}
}

func TestLogStart(t *testing.T) {
	fs := flag.NewFlagSet("prog", flag.ContinueOnError)
	fs.Int("n", 7, "a number")
	fs.String("dir", "/data", "a directory")
	if err := Parse(fs, []string{"-n", "3"}, 0); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	LogStart(slog.New(slog.NewTextHandler(&buf, nil)), slog.LevelInfo, fs)
	line := buf.String()
	// Set and default values alike, and the version; -version itself is noise.
	for _, want := range []string{"msg=starting", "version=\"prog ", " go1.", "settings.n=3", "settings.dir=/data"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "settings.version") {
		t.Errorf("log %q lists -version", line)
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("log %q is not one record", line)
	}
}
