// Command fpr_os is the "os" fingerprint (SPEC §7); see fingerprints/README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := cli.Main(ctx, fingerprint.NameOS, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
