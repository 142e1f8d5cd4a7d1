// Package cli is the command line shared by every fpr_* executable: it reads
// the process description, runs the detectors of one fingerprint against a
// root directory and prints the findings as key=value lines.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/openshift/insights-runtime-extractor/internal/cmdline"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rootfs"
	"github.com/openshift/insights-runtime-extractor/internal/logging"
	"github.com/openshift/insights-runtime-extractor/internal/procargs"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1 // could not run (bad root, unreadable request)
	ExitUsage = 2 // bad flags
)

// Main is the whole main of an fpr_* executable: it runs the fingerprint
// called name (whose detector package the main imports) on the process's
// command line and exits. SIGTERM cancels the detectors.
func Main(name string) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := Run(ctx, name, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run runs the fingerprint called name (fingerprint.NameOS …) with the
// command line args (without the program name) and returns the exit code.
func Run(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	prog := fingerprint.ExecutableName(name)
	fl := flag.NewFlagSet(prog, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	root := fl.String("root", "/", "directory standing for the container's `root` file system")
	request := fl.String("request", "", "read the request (process + rules, JSON) from `file`; \"-\" is standard input (the default without -pid)")
	pid := fl.Int("pid", 0, "describe process `N` from <root>/proc/N instead of the request's process (for debugging by hand; the rules still come from -request)")
	var logOpts logging.Options
	logOpts.Register(fl)
	version := cmdline.VersionFlag(fl)
	usage := func() {
		fmt.Fprintf(stderr, "Usage: %s [flags]\n\nRuns the %q fingerprint against -root and prints what it finds as key=value lines.\n"+
			"The process comes as JSON on standard input ({\"process\": {\"pid\", \"name\", \"cmdline\", \"env\", \"cwd\"}, ...}),\n"+
			"or from /proc with -pid. See fingerprints/README.md.\n\nFlags:\n", prog, name)
		fl.SetOutput(stderr)
		fl.PrintDefaults()
		fl.SetOutput(io.Discard)
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return ExitOK
		}
		fmt.Fprintf(stderr, "%s: %v (see -h)\n", prog, err)
		return ExitUsage
	}
	if *version {
		fmt.Fprintln(stdout, cmdline.Version(prog))
		return ExitOK
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q (see -h)\n", prog, fl.Arg(0))
		return ExitUsage
	}
	log, err := logOpts.New(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return ExitUsage
	}
	// Debug: a fingerprint starts once per container and scan, and its
	// standard error is kept only when it fails.
	cmdline.LogStart(log, slog.LevelDebug, fl)
	detectors := detect.Of(name)
	if len(detectors) == 0 {
		fmt.Fprintf(stderr, "%s: unknown fingerprint %q\n", prog, name)
		return ExitUsage
	}
	r, err := rootfs.New(*root)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return ExitError
	}
	var req fingerprint.Request
	needsProcess := false
	for _, d := range detectors {
		needsProcess = needsProcess || d.NeedsProcess
	}
	if *request != "" || (needsProcess && *pid == 0) {
		req, err = readRequest(*request, stdin)
	}
	if err == nil && *pid != 0 {
		// The rules, if any, come from -request; the process from /proc.
		req.Process, err = ReadProcess(filepath.Join(r.Dir(), "proc"), *pid)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return ExitError
	}
	found, err := detect.Run(ctx, name, detect.Env{Root: r, Request: req, Log: log})
	if err != nil {
		log.Warn("fingerprint interrupted", "err", err)
	}
	clean, dropped := found.Sanitize()
	for _, d := range dropped {
		log.Warn("value dropped: not one printable line of at most 256 bytes", "value", d)
	}
	if err := clean.Encode(stdout); err != nil {
		fmt.Fprintf(stderr, "%s: write findings: %v\n", prog, err)
		return ExitError
	}
	return ExitOK
}

func readRequest(file string, stdin io.Reader) (fingerprint.Request, error) {
	if file == "" || file == "-" {
		return fingerprint.DecodeRequest(stdin)
	}
	f, err := os.Open(file)
	if err != nil {
		return fingerprint.Request{}, fmt.Errorf("request: %w", err)
	}
	defer f.Close()
	return fingerprint.DecodeRequest(f)
}

// ReadProcess describes process pid from a /proc directory: comm, command
// line, environment and working directory (which needs the same rights as
// the fingerprint itself: same uid, or CAP_SYS_PTRACE).
func ReadProcess(procDir string, pid int) (fingerprint.Process, error) {
	dir := filepath.Join(procDir, strconv.Itoa(pid))
	p := fingerprint.Process{PID: pid}
	comm, err := os.ReadFile(filepath.Join(dir, "comm"))
	if err != nil {
		return p, fmt.Errorf("process %d comm: %w", pid, err)
	}
	p.Name = strings.TrimSuffix(string(comm), "\n")
	if p.Cmdline, err = procargs.Read(filepath.Join(dir, "cmdline")); err != nil {
		return p, fmt.Errorf("process %d cmdline: %w", pid, err)
	}
	if p.Env, err = procargs.Read(filepath.Join(dir, "environ")); err != nil {
		return p, fmt.Errorf("process %d environ: %w", pid, err)
	}
	if p.Cwd, err = os.Readlink(filepath.Join(dir, "cwd")); err != nil {
		return p, fmt.Errorf("process %d cwd: %w", pid, err)
	}
	// As the coordinator does: the detectors fall back to it when they may
	// not follow the exe link themselves.
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		p.Exe = strings.TrimSuffix(exe, " (deleted)")
	}
	return p, nil
}
