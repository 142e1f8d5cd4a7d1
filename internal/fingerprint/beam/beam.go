// Package beam reads the files that say which Erlang/OTP release an
// installation is and which Elixir runs on it: releases/start_erl.data,
// releases/<release>/OTP_VERSION, and the vsn of an application resource
// file (lib/elixir/ebin/elixir.app). Everything here parses bytes: where
// the files are is the detector's business.
package beam

import (
	"bytes"
	"errors"
	"path"
	"regexp"
	"strings"
)

// MaxSmallFile bounds start_erl.data and OTP_VERSION: one short line each.
const MaxSmallFile = 4 << 10

// ErtsDir returns the installation root and the ERTS version of an emulator
// at <root>/erts-<version>/bin/<name>, as every OTP installation and every
// release with its own ERTS lays it out; ok=false for any other path.
func ErtsDir(exe string) (root, ertsVersion string, ok bool) {
	bin := path.Dir(path.Clean(exe))
	erts := path.Dir(bin)
	if path.Base(bin) != "bin" || !strings.HasPrefix(path.Base(erts), "erts-") {
		return "", "", false
	}
	v := strings.TrimPrefix(path.Base(erts), "erts-")
	if !ertsVersionShape.MatchString(v) {
		return "", "", false
	}
	return path.Dir(erts), v, true
}

var ertsVersionShape = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// StartErlData parses releases/start_erl.data: the ERTS version and the name
// of the release started by default ("13.1.5 25"). The release is a single
// path element, never "." or "..".
func StartErlData(b []byte) (ertsVersion, release string, err error) {
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return "", "", errors.New("start_erl.data: want two fields")
	}
	if !ertsVersionShape.MatchString(fields[0]) {
		return "", "", errors.New("start_erl.data: no ERTS version")
	}
	if !releaseName.MatchString(fields[1]) || fields[1] == "." || fields[1] == ".." {
		return "", "", errors.New("start_erl.data: no release name")
	}
	return fields[0], fields[1], nil
}

var releaseName = regexp.MustCompile(`^[A-Za-z0-9._+-]{1,64}$`)

// OTPVersion parses an OTP_VERSION file: "25.2.3", or with "**" appended
// when patches were applied to the installation ("25.2.3.1**").
func OTPVersion(b []byte) (string, bool) {
	v := string(bytes.TrimSpace(b))
	return v, otpVersionShape.MatchString(v)
}

var otpVersionShape = regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,6}){0,5}(\*\*)?$`)

// AppVsn returns the vsn of the application resource file b, provided it
// describes application app: `{application, elixir, [{description, "elixir"},
// {vsn, "1.14.0"}, …]}.`. Comments (% to the end of the line) are ignored.
func AppVsn(b []byte, app string) (string, bool) {
	terms := stripComments(b)
	head := appHead.FindSubmatch(terms)
	if head == nil || string(head[1]) != app {
		return "", false
	}
	// Only a {vsn, …} of the property list itself counts, not one nested
	// in another property (an env value, say).
	list := terms[len(head[0]):]
	depth, quote := 0, byte(0)
	for i := 0; i < len(list) && depth >= 0; i++ {
		c := list[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{' && depth == 0:
			if m := vsnTuple.FindSubmatch(list[i:]); m != nil {
				v := string(m[1])
				return v, vsnShape.MatchString(v)
			}
			depth++
		case c == '{' || c == '[' || c == '(':
			depth++
		case c == '}' || c == ']' || c == ')':
			depth--
		}
	}
	return "", false
}

var (
	appHead  = regexp.MustCompile(`^\s*\{\s*application\s*,\s*'?([a-z][A-Za-z0-9_@]*)'?\s*,\s*\[`)
	vsnTuple = regexp.MustCompile(`^\{\s*vsn\s*,\s*"([^"\\]{0,64})"\s*\}`)
	vsnShape = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?([-+][A-Za-z0-9.+-]+)?$`)
)

// stripComments blanks Erlang comments, which run from a % outside a string
// to the end of the line, so that a commented-out vsn is never taken.
func stripComments(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString, escaped, inComment := false, false, false
	for _, c := range b {
		switch {
		case inComment:
			if c == '\n' {
				inComment = false
				out = append(out, c)
			}
			continue
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '%':
			inComment = true
			continue
		}
		out = append(out, c)
	}
	return out
}

// ElixirEbin returns the code path entry of Elixir's own application on an
// emulator's command line: the -pa directory the elixir script adds
// (".../lib/elixir/ebin"), or a release's ".../lib/elixir-1.14.0/ebin".
func ElixirEbin(args []string) (string, bool) {
	for _, a := range args {
		if !strings.HasSuffix(a, "/ebin") && a != "ebin" {
			continue
		}
		a = path.Clean(a)
		if dir := path.Base(path.Dir(a)); dir == "elixir" || strings.HasPrefix(dir, "elixir-") {
			return a, true
		}
	}
	return "", false
}

// ReleaseLib returns the lib directory of a release started with its boot
// script (-boot_var RELEASE_LIB <dir>, as mix releases start), where Elixir's
// ebin is lib/elixir-<vsn>/ebin.
func ReleaseLib(args []string) (string, bool) {
	for i := 0; i+2 < len(args); i++ {
		if args[i] == "-boot_var" && args[i+1] == "RELEASE_LIB" {
			return args[i+2], args[i+2] != ""
		}
	}
	return "", false
}
