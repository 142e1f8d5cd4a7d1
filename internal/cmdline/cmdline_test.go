package cmdline

import (
	"errors"
	"flag"
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
