// Package cmdline gives the project's binaries one command line behaviour:
// -h prints the usage on stdout, -version prints the build's version, a bad
// command line is one line of error, and every binary logs its version and
// settings once at start the same way.
package cmdline

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
)

// ErrVersion is returned by Parse after it printed the version for -version.
var ErrVersion = errors.New("version printed")

// Done reports whether Parse already answered the command line (-h or
// -version): the binary then exits 0 without doing anything else.
func Done(err error) bool {
	return errors.Is(err, flag.ErrHelp) || errors.Is(err, ErrVersion)
}

// Parse adds -version to fs and parses args into it, allowing at most
// maxArgs positional arguments. On a bad flag it returns the error alone,
// without the usage text, so that the failure is one line; on -h it prints
// the usage to stdout and returns flag.ErrHelp; on -version it prints
// Version to stdout and returns ErrVersion.
func Parse(fs *flag.FlagSet, args []string, maxArgs int) error {
	version := VersionFlag(fs)
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return err
	case err != nil:
		return err
	case *version:
		fmt.Println(Version(fs.Name()))
		return ErrVersion
	case fs.NArg() > maxArgs:
		return fmt.Errorf("unexpected argument %q", fs.Arg(maxArgs))
	}
	return nil
}

// VersionFlag defines -version on fs, for the binaries that parse their
// flags themselves (the fingerprints).
func VersionFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("version", false, "print the version and exit")
}

// Version is what -version prints: the program name, the version of the
// build and the Go version it was built with, e.g.
// "coordinator v0.0.0-20260101120000-0123456789ab go1.26.8".
func Version(prog string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return prog + " unknown (built without module support)"
	}
	return prog + " " + buildVersion(info) + " " + info.GoVersion
}

// buildVersion is the main module's version when the go command stamped
// one (a tag or a pseudo-version from the VCS), else the VCS revision, else
// "(devel)": an image built from a source tree without .git has neither.
func buildVersion(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "(devel)"
	}
	if modified == "true" {
		rev += "+dirty"
	}
	return rev
}

// LogStart logs, once at start, the version of the binary and the value of
// every flag of fs, set or default: what ran, and how, is then in the log of
// every failure.
func LogStart(log *slog.Logger, level slog.Level, fs *flag.FlagSet) {
	attrs := []any{slog.String("version", Version(fs.Name()))}
	var settings []any
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "version" {
			settings = append(settings, slog.String(f.Name, f.Value.String()))
		}
	})
	attrs = append(attrs, slog.Group("settings", settings...))
	log.Log(context.Background(), level, "starting", attrs...)
}
