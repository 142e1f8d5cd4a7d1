// Package node is the node e2e: the whole product on a real, private
// containerd (internal/localnode), with every sample of runtime-samples/
// running as kubelet-like pods, and extractor_server + exporter run as the
// DaemonSet runs them. It asserts the exact JSON of /gather_runtime_info,
// proves the privilege model of the fingerprint sandbox on real containers,
// and that a hanging fingerprint costs only its own container's entry.
//
// It needs root; otherwise it skips with one line. It is part of `make test`.
package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/format"

	"github.com/openshift/insights-runtime-extractor/internal/localnode"
	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
)

func TestNodeE2E(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("node e2e skipped: it needs root to run a private containerd (run make test as root)")
	}
	// Show whole JSON documents on a mismatch, not a truncated excerpt.
	format.MaxLength = 0
	format.TruncatedDiff = false
	RegisterFailHandler(Fail)
	RunSpecs(t, "Node e2e (private containerd)")
}

// state is what BeforeSuite sets up for every spec; specs never change it.
var state struct {
	log    *slog.Logger
	env    *workloads.Env
	pods   map[string]*localnode.Pod
	binDir string // the product's binaries
	ds     *localnode.DaemonSet
	// want is the expected clear-text answer for every running pod.
	want document
}

var _ = BeforeSuite(func(ctx SpecContext) {
	start := time.Now()
	state.log = slog.New(slog.NewTextHandler(GinkgoWriter, nil))
	var err error
	state.env, err = workloads.Setup(ctx, state.log)
	Expect(err).NotTo(HaveOccurred())
	state.pods, err = state.env.RunPods(ctx, workloads.All(state.env.Images))
	Expect(err).NotTo(HaveOccurred())

	state.binDir = filepath.Join(state.env.WorkDir, "bin")
	Expect(localnode.BuildBinaries(ctx, state.env.RepoDir, state.binDir)).To(Succeed())
	state.ds, err = startDaemonSet(ctx, "daemonset", filepath.Join(state.env.RepoDir, "config.toml"))
	Expect(err).NotTo(HaveOccurred())
	state.want, err = expectedDocument(ctx, state.env, workloads.All(state.env.Images), state.pods)
	Expect(err).NotTo(HaveOccurred())
	fmt.Fprintf(GinkgoWriter, "node e2e set up in %s\n", time.Since(start).Round(time.Second))
}, NodeTimeout(20*time.Minute))

var _ = AfterSuite(func() {
	if state.ds != nil {
		Expect(state.ds.Stop()).To(Succeed(), "extractor_server and exporter stop cleanly on SIGTERM")
	}
	if state.env == nil {
		return // Setup failed and cleaned up after itself.
	}
	id, socket, work := state.env.Node.ID(), state.env.Node.Socket(), state.env.WorkDir
	Expect(state.env.Close()).To(Succeed())
	// Nothing of the node outlives the suite: no containerd or shim on its
	// socket, no directory, no cgroup.
	Expect(processesMentioning(socket)).To(BeEmpty())
	Expect(processesMentioning(work)).To(BeEmpty())
	for _, p := range []string{filepath.Dir(socket), work, "/sys/fs/cgroup/memory/" + id, "/sys/fs/cgroup/unified/" + id, "/sys/fs/cgroup/" + id} {
		_, err := os.Stat(p)
		Expect(os.IsNotExist(err)).To(BeTrue(), "%s still exists", p)
	}
})

// processesMentioning lists the pids whose command line contains s.
func processesMentioning(s string) []string {
	var out []string
	matches, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, m := range matches {
		if b, err := os.ReadFile(m); err == nil && strings.Contains(string(b), s) {
			out = append(out, filepath.Base(filepath.Dir(m)))
		}
	}
	return out
}

// startDaemonSet runs extractor_server + exporter with the DaemonSet's flags
// on the suite's node, with their own data directory.
func startDaemonSet(ctx context.Context, name, config string) (*localnode.DaemonSet, error) {
	dir := filepath.Join(state.env.WorkDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return localnode.StartDaemonSet(ctx, localnode.DaemonSetOptions{
		BinDir:   state.binDir,
		Config:   config,
		DataDir:  filepath.Join(dir, "data"),
		Endpoint: state.env.Node.Endpoint(),
		LogDir:   dir,
		Log:      state.log,
	})
}
