// Command exporter serves GET/POST /gather_runtime_info (SPEC §2): the
// unprivileged half of the pod, scraped by the Insights Operator; and
// /healthz, /readyz and /metrics.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/cmdline"
	"github.com/openshift/insights-runtime-extractor/internal/exporter"
	"github.com/openshift/insights-runtime-extractor/internal/logging"
	"github.com/openshift/insights-runtime-extractor/internal/trigger"
)

func main() {
	fs := flag.NewFlagSet("exporter", flag.ContinueOnError)
	bind := fs.String("bind", "127.0.0.1", "`address` to bind (keep the loopback behind kube-rbac-proxy: the exporter authenticates no one)")
	port := fs.Int("port", 8000, "TCP `port` to listen on")
	extractorAddress := fs.String("extractor-address", "127.0.0.1:3000", "`address` of extractor_server")
	dataDir := fs.String("data-dir", "/data", "`directory` shared with the extractor; result paths outside it are refused")
	timeout := fs.Duration("timeout", exporter.DefaultTimeout, "bound of one whole extraction")
	var logOpts logging.Options
	logOpts.Register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: exporter [flags]\n\nServes GET and POST %s, and %s, %s (a TCP connect to the extractor, no scan) and %s.\n\n",
			exporter.Path, exporter.HealthzPath, exporter.ReadyzPath, exporter.MetricsPath)
		fs.PrintDefaults()
	}
	if err := cmdline.Parse(fs, os.Args[1:], 0); err != nil {
		if cmdline.Done(err) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "exporter:", err)
		os.Exit(2)
	}
	log, err := logOpts.New(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "exporter:", err)
		os.Exit(2)
	}
	cmdline.LogStart(log, slog.LevelInfo, fs)
	if *port < 0 || *port > 65535 {
		fmt.Fprintf(os.Stderr, "exporter: invalid -port %d\n", *port)
		os.Exit(2)
	}
	if *timeout <= 0 || *timeout > time.Hour {
		fmt.Fprintf(os.Stderr, "exporter: invalid -timeout %v: want between 0 and 1h\n", *timeout)
		os.Exit(2)
	}
	if st, err := os.Stat(*dataDir); err != nil || !st.IsDir() {
		fmt.Fprintf(os.Stderr, "exporter: -data-dir %s is not a directory\n", *dataDir)
		os.Exit(1)
	}
	handler := exporter.NewHandler(exporter.Options{
		Extractor: &trigger.Client{Address: *extractorAddress},
		DataDir:   *dataDir,
		Timeout:   *timeout,
		Log:       log,
	})
	ln, err := net.Listen("tcp", net.JoinHostPort(*bind, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "exporter:", err)
		os.Exit(1)
	}
	log.Info("exporter listening", "address", ln.Addr().String(), "extractor", *extractorAddress, "data-dir", *dataDir)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := exporter.Serve(ctx, ln, handler, *timeout, log); err != nil {
		log.Error("exporter failed", "error", err)
		os.Exit(1)
	}
}
