// Package node is the node e2e: the whole product on a real, private
// containerd or CRI-O (test/localnode; $IRE_NODE=containerd, the
// default, or crio), with every sample of runtime-samples/
// running as kubelet-like pods, and extractor_server + exporter run as the
// DaemonSet runs them. It asserts the exact JSON of /gather_runtime_info,
// proves the privilege model of the fingerprint sandbox on real containers,
// that a hanging fingerprint costs only its own container's entry, and that
// a container stopping its fingerprints costs its budget once, then is backed
// off from, while a scan whose budget runs out still answers what it finished.
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

	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

func TestNodeE2E(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("node e2e skipped: it needs root to run a private container runtime (run make test as root)")
	}
	if os.Getenv(workloads.RuntimeEnv) == "openshift" {
		t.Skip("node e2e skipped: IRE_NODE=openshift selects the OpenShift VM e2e (test/e2e/vm)")
	}
	kind, err := workloads.Runtime()
	if err != nil {
		t.Fatal(err)
	}
	// Show whole JSON documents on a mismatch, not a truncated excerpt.
	format.MaxLength = 0
	format.TruncatedDiff = false
	RegisterFailHandler(Fail)
	RunSpecs(t, "Node e2e (private "+string(kind)+")")
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
	// On the terminal too: the set-up cost per runtime is worth seeing on a green run.
	fmt.Fprintf(os.Stderr, "node e2e on %s set up in %s (%d images imported in %s)\n", state.env.Node.Kind(),
		time.Since(start).Round(time.Second), len(state.env.Images.Samples), state.env.ImportTook.Round(time.Millisecond))
}, NodeTimeout(45*time.Minute)) // a cold CRI-O build alone takes 15-20 minutes

var _ = AfterSuite(func() {
	if state.ds != nil {
		Expect(state.ds.Stop()).To(Succeed(), "extractor_server and exporter stop cleanly on SIGTERM")
	}
	if state.env == nil {
		return // Setup failed and cleaned up after itself.
	}
	node := state.env.Node
	id, socket, work, nodeDir := node.ID(), node.Socket(), state.env.WorkDir, node.Dir()
	runDir := filepath.Dir(socket)
	// What the checks below look for must exist while the node runs, or
	// they could not fail. (Asserted after Close, which must run anyway.)
	daemon := string(node.Kind())
	monitor := map[localnode.Runtime]string{localnode.Containerd: "containerd-shim", localnode.CRIO: "conmon"}[node.Kind()]
	daemons, monitors := processesNamed(daemon, work), processesNamed(monitor, runDir)
	mounts, cgroups := mountsUnder(nodeDir, runDir), cgroupDirs(id)

	Expect(state.env.Close()).To(Succeed())
	Expect(daemons).NotTo(BeEmpty(), "%s runs with its config under %s", daemon, work)
	Expect(monitors).NotTo(BeEmpty(), "the containers' %s processes name %s", monitor, runDir)
	Expect(mounts).NotTo(BeEmpty(), "the running containers' mounts")
	Expect(cgroups).NotTo(BeEmpty(), "the pods' cgroups")
	// Nothing of the node outlives the suite: no runtime on its socket, no
	// shim or conmon, no mount, no directory, no cgroup.
	Expect(processesMentioning(runDir)).To(BeEmpty())
	Expect(processesMentioning(work)).To(BeEmpty())
	Expect(processesNamed(monitor, runDir)).To(BeEmpty())
	Expect(mountsUnder(nodeDir, runDir)).To(BeEmpty())
	Expect(cgroupDirs(id)).To(BeEmpty())
	for _, p := range []string{runDir, work} {
		_, err := os.Stat(p)
		Expect(os.IsNotExist(err)).To(BeTrue(), "%s still exists", p)
	}
})

// processesNamed lists the pids of processes named comm (or starting so)
// whose command line contains s.
func processesNamed(comm, s string) []string {
	var out []string
	for _, pid := range processesMentioning(s) {
		b, _ := os.ReadFile("/proc/" + pid + "/comm")
		if strings.HasPrefix(strings.TrimSpace(string(b)), comm) {
			out = append(out, pid)
		}
	}
	return out
}

// mountsUnder lists the mount points below the given directories.
func mountsUnder(dirs ...string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		for _, d := range dirs {
			if strings.HasPrefix(f[4], d+"/") {
				out = append(out, f[4])
			}
		}
	}
	return out
}

// cgroupDirs lists /<id> in every cgroup hierarchy where it exists.
func cgroupDirs(id string) []string {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	var out []string
	for _, r := range roots {
		if _, err := os.Stat(filepath.Join(r, id)); err == nil {
			out = append(out, filepath.Join(r, id))
		}
	}
	return out
}

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
func startDaemonSet(ctx context.Context, name, config string, extractorArgs ...string) (*localnode.DaemonSet, error) {
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

		ExtraExtractorArgs: extractorArgs,
	})
}
