package localnode

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openshift/insights-runtime-extractor/test/debpkg"
)

// Runtime names a container runtime the local node runs.
type Runtime string

const (
	// Containerd is Debian's containerd with its CRI plugin and runc.
	Containerd Runtime = "containerd"
	// CRIO is CRI-O (built by test/crio/build.sh) with Debian's runc and conmon.
	CRIO Runtime = "crio"
)

// ParseRuntime accepts "containerd" (also the empty string) and "crio" (or
// "cri-o").
func ParseRuntime(s string) (Runtime, error) {
	switch s {
	case "", string(Containerd):
		return Containerd, nil
	case string(CRIO), "cri-o":
		return CRIO, nil
	}
	return "", fmt.Errorf("unknown container runtime %q (want containerd or crio)", s)
}

// KeyPrefix is what Kubernetes writes before a container id of this runtime
// in pod.status.containerStatuses[].containerID.
func (r Runtime) KeyPrefix() string {
	if r == CRIO {
		return "cri-o://"
	}
	return "containerd://"
}

// CRIOAttach describes a CRI-O that runs already (started by systemd, say):
// the node uses its socket, copies images straight into its storage and
// gives pods the cgroup parent its cgroup manager expects. Stop then removes
// only the pods this Node made and leaves CRI-O running.
type CRIOAttach struct {
	// Socket is CRI-O's listen socket (e.g. /run/crio/crio.sock).
	Socket string
	// StorageDriver, StorageRoot and StorageRunRoot are CRI-O's [crio]
	// storage_driver, root and runroot (e.g. overlay, /var/lib/containers/storage,
	// /run/containers/storage).
	StorageDriver, StorageRoot, StorageRunRoot string
	// CgroupManager is CRI-O's cgroup_manager: "systemd" or "cgroupfs".
	CgroupManager string
}

// crioNode is what a CRI-O node adds to Node.
type crioNode struct {
	socket                 string
	driver, root, runroot  string
	cgroupManager          string
	attach                 bool
	storageConf, policy    string
	registriesConf, binDir string

	mu   sync.Mutex
	pods map[string]bool // sandbox ids this Node made (what Stop removes when attached)
}

// crioPackages are the Debian packages a private CRI-O runs with: runc (the
// Debian crun 1.8 is too old for CRI-O 1.34's OCI spec), conmon, and skopeo
// to copy images into its storage.
var crioPackages = []string{"runc", "conmon", "skopeo"}

// startCRIO starts a private CRI-O: binaries from test/crio/build.sh (built
// once, cached), its own config (no drop-in directory), socket, storage,
// state, logs and registries/policy files; runc under conmon, cgroupfs
// cgroups under /<node id>, no infra container, NRI and metrics off. See
// research/crio.md for why each setting is what it is on this kind of
// machine.
func (n *Node) startCRIO(ctx context.Context, opts Options) (*Node, error) {
	if err := debpkg.Ensure(ctx, n.log, crioPackages...); err != nil {
		return nil, err
	}
	bin, err := crioBinaries(ctx, n)
	if err != nil {
		return nil, err
	}
	n.runDir = filepath.Join("/run", n.id)
	n.dir = opts.Dir
	if err := n.makeDirs(); err != nil {
		return nil, err
	}
	driver := "overlay"
	if !overlayWorks(n.dir) {
		n.log.Warn("overlay mounts do not work here: CRI-O uses vfs (every image a full copy)")
		driver = "vfs"
	}
	n.crio = &crioNode{
		socket: filepath.Join(n.runDir, "crio.sock"),
		driver: driver, root: filepath.Join(n.dir, "storage"), runroot: filepath.Join(n.runDir, "storage"),
		cgroupManager: "cgroupfs",
		binDir:        bin,
		pods:          map[string]bool{},
	}
	if err := n.writeCRIOFiles(); err != nil {
		n.cleanupDirs()
		return nil, err
	}
	cmd := exec.Command(filepath.Join(bin, "crio"),
		"--config", filepath.Join(n.dir, "crio.conf"), "--config-dir", "",
		"--registries-conf", n.crio.registriesConf)
	cmd.Env = append(os.Environ(), n.crio.storageEnv()...)
	if err := n.startDaemon(ctx, cmd); err != nil {
		return nil, err
	}
	return n, nil
}

// attachCRIO connects to a running CRI-O described by opts.CRIO.
func (n *Node) attachCRIO(ctx context.Context, opts Options) (*Node, error) {
	a := opts.CRIO
	if a.Socket == "" || a.StorageDriver == "" || a.StorageRoot == "" || a.StorageRunRoot == "" {
		return nil, errors.New("attach to CRI-O: socket and storage driver, root and runroot are needed")
	}
	if a.CgroupManager != "systemd" && a.CgroupManager != "cgroupfs" {
		return nil, fmt.Errorf("attach to CRI-O: cgroup manager %q (want systemd or cgroupfs)", a.CgroupManager)
	}
	if err := debpkg.Ensure(ctx, n.log, "skopeo"); err != nil {
		return nil, err
	}
	n.dir = opts.Dir
	if err := n.makeDirs(); err != nil {
		return nil, err
	}
	n.crio = &crioNode{
		socket: a.Socket, driver: a.StorageDriver, root: a.StorageRoot, runroot: a.StorageRunRoot,
		cgroupManager: a.CgroupManager, attach: true, pods: map[string]bool{},
	}
	if err := n.writeCRIOFiles(); err != nil {
		n.cleanupDirs()
		return nil, err
	}
	if err := n.connect(ctx); err != nil {
		n.cleanupDirs()
		return nil, err
	}
	n.log.Info("attached to CRI-O", "socket", a.Socket, "cgroup-manager", a.CgroupManager)
	return n, nil
}

// crioBinaries runs test/crio/build.sh, which builds crio, pinns and crictl
// once into a cache (waiting on its lock while another process builds) and
// prints the directory; it returns that directory's bin/.
func crioBinaries(ctx context.Context, n *Node) (string, error) {
	repo, err := RepoRoot()
	if err != nil {
		return "", err
	}
	start := time.Now()
	n.log.Info("CRI-O binaries: test/crio/build.sh (cold: 15-20 min of Go compilation)")
	cmd := exec.CommandContext(ctx, filepath.Join(repo, "test", "crio", "build.sh"))
	cmd.Dir = repo
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("test/crio/build.sh: %w: %s", err, tail(stderr.String(), 2000))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	bin := filepath.Join(strings.TrimSpace(lines[len(lines)-1]), "bin")
	for _, b := range []string{"crio", "pinns"} {
		if !fileExists(filepath.Join(bin, b)) {
			return "", fmt.Errorf("test/crio/build.sh printed %s, which has no %s", bin, b)
		}
	}
	n.log.Info("CRI-O binaries ready", "dir", bin, "took", time.Since(start).Round(time.Millisecond))
	return bin, nil
}

// writeCRIOFiles writes the files CRI-O and skopeo share: storage.conf,
// registries.conf (no search registries: nothing is ever pulled),
// policy.json (the images are local and unsigned) and, for a private CRI-O,
// crio.conf.
func (n *Node) writeCRIOFiles() error {
	c := n.crio
	c.storageConf = filepath.Join(n.dir, "storage.conf")
	c.registriesConf = filepath.Join(n.dir, "registries.conf")
	c.policy = filepath.Join(n.dir, "policy.json")
	files := map[string]string{
		c.storageConf:    fmt.Sprintf("[storage]\ndriver = %q\ngraphroot = %q\nrunroot = %q\n", c.driver, c.root, c.runroot),
		c.registriesConf: "unqualified-search-registries = []\nshort-name-mode = \"disabled\"\n",
		c.policy:         `{"default": [{"type": "insecureAcceptAnything"}]}` + "\n",
	}
	if !c.attach {
		files[filepath.Join(n.dir, "crio.conf")] = n.crioConfig()
		for _, d := range []string{filepath.Join(n.dir, "cni"), filepath.Join(n.dir, "cni-bin"), filepath.Join(n.dir, "pods")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
		}
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// storageEnv points containers/storage and containers/image (in CRI-O and
// skopeo alike) at the node's files instead of the host's /etc/containers.
func (c *crioNode) storageEnv() []string {
	return []string{"CONTAINERS_STORAGE_CONF=" + c.storageConf, "CONTAINERS_REGISTRIES_CONF=" + c.registriesConf}
}

// crioConfig is the private CRI-O's crio.conf; every path is the node's own.
func (n *Node) crioConfig() string {
	c := n.crio
	runc, err := exec.LookPath("runc")
	if err != nil {
		runc = "/usr/sbin/runc"
	}
	conmon, err := exec.LookPath("conmon")
	if err != nil {
		conmon = "/usr/bin/conmon"
	}
	return fmt.Sprintf(`[crio]
root = %[1]q
runroot = %[2]q
storage_driver = %[3]q
log_dir = %[4]q
version_file = %[5]q
version_file_persist = %[6]q
clean_shutdown_file = %[7]q

[crio.api]
listen = %[8]q
stream_address = "127.0.0.1"
stream_port = "0"

[crio.runtime]
# Debian's crun 1.8 rejects CRI-O 1.34's OCI spec version: runc.
default_runtime = "runc"
# No systemd here.
cgroup_manager = "cgroupfs"
conmon_cgroup = "pod"
selinux = false
pinns_path = %[9]q
namespaces_dir = %[10]q
container_exits_dir = %[11]q
container_attach_socket_dir = %[12]q
hooks_dir = []
cdi_spec_dirs = []
log_level = "info"
# No infra container: it would get a negative oom_score_adj, which needs
# CAP_SYS_RESOURCE, which this machine lacks.
drop_infra_ctr = true

[crio.runtime.runtimes.runc]
runtime_path = %[13]q
runtime_type = "oci"
runtime_root = %[14]q
monitor_path = %[15]q

[crio.image]
signature_policy = %[16]q
signature_policy_dir = %[20]q
pause_image = %[17]q
pause_command = "/pause"

[crio.network]
# Pods use the host network: no CNI network is ever created.
network_dir = %[18]q
plugin_dirs = [%[19]q]

[crio.metrics]
enable_metrics = false

[crio.nri]
enable_nri = false
`, c.root, c.runroot, c.driver, filepath.Join(n.dir, "pods"),
		filepath.Join(n.runDir, "crio-version"), filepath.Join(n.dir, "crio-version"), filepath.Join(n.dir, "clean.shutdown"),
		c.socket, filepath.Join(c.binDir, "pinns"),
		filepath.Join(n.runDir, "ns"), filepath.Join(n.runDir, "exits"), filepath.Join(n.runDir, "attach"),
		runc, filepath.Join(n.runDir, "runc"), conmon,
		c.policy, PauseImage, filepath.Join(n.dir, "cni"), filepath.Join(n.dir, "cni-bin"), filepath.Join(n.dir, "policies"))
}

// importCRIO copies every image of a docker-format archive, or of an OCI
// image layout directory (Images.Layout), into CRI-O's storage with skopeo.
func (n *Node) importCRIO(ctx context.Context, path string) error {
	c := n.crio
	return copyImages(ctx, path, fmt.Sprintf("containers-storage:[%s@%s+%s]", c.driver, c.root, c.runroot), c.policy, c.storageEnv())
}

// CopyImages copies every image of a docker archive or an OCI layout into
// the containers-storage with that driver, root and runroot (CRI-O's [crio]
// storage settings), as Import does for a CRI-O node, and leaves the store a
// plain tree. The openshift node e2e fills its VM's image store this way on
// the host: unpacking layers under software emulation takes many times longer.
func CopyImages(ctx context.Context, path, driver, root, runroot string) error {
	policy, err := os.CreateTemp("", "ire-policy-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(policy.Name())
	if _, err := policy.WriteString(`{"default": [{"type": "insecureAcceptAnything"}]}` + "\n"); err != nil {
		return err
	}
	if err := policy.Close(); err != nil {
		return err
	}
	err = copyImages(ctx, path, fmt.Sprintf("containers-storage:[%s@%s+%s]", driver, root, runroot), policy.Name(), nil)
	// The overlay driver mounts its home on itself.
	for _, m := range mountsUnder(root) {
		if uerr := unix.Unmount(m, unix.MNT_DETACH); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unmount %s: %w", m, uerr))
		}
	}
	return err
}

// copyImages copies each image of an archive or layout at path to dest (a
// containers-storage transport prefix) with skopeo, one reference at a time;
// layers already there (the shared Debian base) are reused, not copied
// again. From an archive skopeo decompresses every compressed layer of each
// image it reads (to learn its size): a few seconds per Debian image; from a
// layout it reads only what it copies.
func copyImages(ctx context.Context, path, dest, policy string, env []string) error {
	var refs []string
	var src func(ref string) string
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if refs, err = layoutRefs(path); err != nil {
			return err
		}
		src = func(ref string) string { return "oci:" + path + ":" + ref }
	} else {
		if refs, err = archiveRefs(path); err != nil {
			return err
		}
		src = func(ref string) string { return "docker-archive:" + path + ":" + ref }
	}
	for _, ref := range refs {
		cmd := exec.CommandContext(ctx, "skopeo", "--policy", policy, "copy", "--quiet", src(ref), dest+ref)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("skopeo copy %s: %w: %s", ref, err, tail(string(out), 2000))
		}
	}
	return nil
}

// layoutRefs lists the image names of an OCI image layout, from its index.json.
func layoutRefs(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	var index struct {
		Manifests []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, fmt.Errorf("%s/index.json: %w", dir, err)
	}
	var refs []string
	for _, m := range index.Manifests {
		if r := m.Annotations[refNameAnnotation]; r != "" {
			refs = append(refs, r)
		}
	}
	sort.Strings(refs)
	if len(refs) == 0 {
		return nil, fmt.Errorf("%s: no named image", dir)
	}
	return refs, nil
}

// archiveRefs lists the image references (RepoTags) of a docker-format
// archive, from its manifest.json.
func archiveRefs(tarPath string) ([]string, error) {
	f, err := os.Open(tarPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s has no manifest.json", tarPath)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", tarPath, err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var manifest []struct{ RepoTags []string }
		if err := json.NewDecoder(io.LimitReader(tr, 16<<20)).Decode(&manifest); err != nil {
			return nil, fmt.Errorf("%s: manifest.json: %w", tarPath, err)
		}
		var refs []string
		for _, m := range manifest {
			refs = append(refs, m.RepoTags...)
		}
		sort.Strings(refs)
		if len(refs) == 0 {
			return nil, fmt.Errorf("%s: no tagged image", tarPath)
		}
		return refs, nil
	}
}

// overlayWorks tries one overlay mount under dir, as containers/storage's
// overlay driver will.
func overlayWorks(dir string) bool {
	probe, err := os.MkdirTemp(dir, "overlay-probe-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(probe)
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(probe, d), 0o700); err != nil {
			return false
		}
	}
	opts := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", probe, probe, probe)
	merged := filepath.Join(probe, "merged")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return false
	}
	return unix.Unmount(merged, 0) == nil
}

// cgroupParent is the cgroup parent of a pod, as the kubelet gives it for its
// cgroup driver: on cgroupfs a path under the node's own cgroup; on systemd
// the slice of a best-effort pod, the uid's dashes made underscores
// (kubepods-besteffort-pod<uid>.slice).
func cgroupParent(manager, nodeID, uid string) string {
	if manager == "systemd" {
		return "kubepods-besteffort-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
	}
	return "/" + nodeID + "/pod" + uid
}

// ownsPod says whether this Node made the sandbox.
func (n *Node) ownsPod(id string) bool {
	n.crio.mu.Lock()
	defer n.crio.mu.Unlock()
	return n.crio.pods[id]
}

// notePod records a sandbox this Node made, or forgets a removed one.
func (n *Node) notePod(id string, made bool) {
	if n.crio == nil {
		return
	}
	n.crio.mu.Lock()
	defer n.crio.mu.Unlock()
	if made {
		n.crio.pods[id] = true
	} else {
		delete(n.crio.pods, id)
	}
}
