// Package cmdline parses the flags of the project's binaries the same way:
// -h prints the usage on stdout, a bad command line is one line of error.
package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Parse parses args into fs, allowing at most maxArgs positional arguments.
// On a bad flag it returns the error alone, without the usage text, so that
// the failure is one line; on -h it prints the usage to stdout and returns
// flag.ErrHelp.
func Parse(fs *flag.FlagSet, args []string, maxArgs int) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return err
	}
	if err == nil && fs.NArg() > maxArgs {
		return fmt.Errorf("unexpected argument %q", fs.Arg(maxArgs))
	}
	return err
}
