// Package payload is the contract between the openshift node e2e, which runs
// on the host, and its driver inside the VM: what the driver is asked to run
// (Plan, written to the payload disk) and what it saw (Facts, written to the
// results disk). The host side asserts; the driver only acts and records.
package payload

import "github.com/openshift/insights-runtime-extractor/test/localnode"

// Paths inside the VM.
const (
	Dir      = "/payload"
	PlanFile = "plan.json"
	// Storage is a containers-storage (overlay) holding every sample image
	// and the product's two images, filled on the host.
	Storage     = "storage"
	SandboxTest = "sandbox.test"
	SandboxBins = "sandbox-bins" // probe, misbehave and sandbox_helper for SandboxTest
	FactsFile   = "facts.json"   // under the results directory
)

// The DaemonSet's pod, as the driver names it.
const (
	ProductNamespace = "openshift-insights"
	ProductPodName   = "insights-runtime-extractor-vm"
	ProductPod       = ProductNamespace + "/" + ProductPodName
)

// Plan is what the driver does, in order.
type Plan struct {
	// Pods are the sample pods, started in order.
	Pods []Pod
	// Execs lists, by "namespace/pod/container", the commands whose output
	// the expected JSON needs (the tools' own --version).
	Execs map[string][][]string
	// Product are the images of the DaemonSet's two containers.
	ExtractorImage, ExporterImage string
	// SandboxTestRun is the -test.run pattern of the sandbox package's tests
	// that the driver runs in a systemd service with Delegate=yes.
	SandboxTestRun string
	// SubsetPods ("namespace/pod") are asked for by id in the POST scan.
	SubsetPods []string
}

// Pod is one sample pod: its spec and the sample of each container (init
// containers first).
type Pod struct {
	Spec    localnode.PodSpec
	Samples []string
}

// Facts is what the driver saw.
type Facts struct {
	Node     Node
	Pods     map[string]*localnode.Pod // by "namespace/pod"
	Execs    map[string]map[string]Exec
	Scans    []Scan
	Runs     []RunCgroup // the containment pods' fingerprint runs, as watched
	Operator Operator
	After    After
	Sandbox  Command
	// Error is the first step that failed; the facts before it are kept.
	Error string
}

// Node describes the VM as the driver found it.
type Node struct {
	Kernel, CgroupFS, PID1, RuntimeName, RuntimeVersion string
	// ExtractorCgroup is extractor_server's cgroup (host view) and
	// ExtractorNS the same as extractor_server sees it, in its own cgroup
	// namespace.
	ExtractorCgroup, ExtractorNS string
	// LeafProcs are the pids in <extractor cgroup>/extractor after the scans;
	// ParentProcs the pids left directly in the extractor's cgroup (must be none).
	LeafProcs, ParentProcs []int
	SubtreeControl         string
}

// Exec is the result of one command run in a container through CRI.
type Exec struct {
	Stdout, Stderr string
	ExitCode       int32
	Error          string
}

// Scan is one request to the exporter.
type Scan struct {
	Name    string
	Method  string
	URL     string
	Body    string
	Status  int
	Answer  string
	Seconds float64
}

// RunCgroup is one run cgroup of the sandbox (reused by the containers of a scan), watched
// while it lived.
type RunCgroup struct {
	Path               string
	MemoryMax, PidsMax string
	PeakPids           int
	PeakMemory         int64
	// The counters of pids.events (max) and memory.events (max, oom_kill, oom_group_kill).
	PidsEventsMax, MemoryEventsMax, OOMKills, OOMGroupKills int64
	Procs                                                   []string // command lines seen in it
}

// Operator is what the Insights Operator's DaemonSet shape asks of the pod.
type Operator struct {
	// Liveness is its probe, `crictl --timeout 10s info`, run in the extractor container.
	Liveness Exec
	// Scrapes counts the answers of 100 operator requests by HTTP status;
	// SlowestSeconds is the longest.
	Scrapes        map[int]int
	SlowestSeconds float64
	// DataLeft are the entries of /data after the scrapes.
	DataLeft []string
	// Metrics is the exporter's /metrics after the scrapes.
	Metrics string
	// Written are the files each container wrote outside its volumes: the
	// non-empty files of its root file system's upper layer, by container.
	Written map[string][]string
}

// After is the node once the scans are done.
type After struct {
	// VersionProcesses are processes still running a --version.
	VersionProcesses []string
	// Zombies are processes in state Z.
	Zombies []string
	// RunCgroups are fingerprint run cgroups still present.
	RunCgroups []string
	// ContainersRunning says, by "namespace/pod/container", whether its
	// init still runs (the hostile ones included: only their runs die).
	ContainersRunning map[string]bool
}

// Command is a program the driver ran, with its result.
type Command struct {
	Output   string
	ExitCode int
}
