package localnode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The product's binaries, as shipped in the extractor and exporter images.
var productBinaries = []string{"cmd/coordinator", "cmd/sandbox_helper", "cmd/extractor_server", "cmd/exporter"}

// BuildBinaries builds the coordinator, its sandbox helper, extractor_server, exporter and every
// fingerprints/fpr_* as static binaries into outDir, the way the extractor
// image ships them (one directory, the coordinator's -fingerprints-dir; the
// fingerprints mode 0111).
func BuildBinaries(ctx context.Context, repoDir, outDir string) error {
	var pkgs []string
	for _, b := range productBinaries {
		// An older revision (make bench's baseline) may not have them all.
		if fileExists(filepath.Join(repoDir, b)) {
			pkgs = append(pkgs, "./"+b)
		}
	}
	fprs, _ := filepath.Glob(filepath.Join(repoDir, "fingerprints", "fpr_*", "main.go"))
	if len(fprs) == 0 {
		return fmt.Errorf("no fingerprints/fpr_*/main.go under %s", repoDir)
	}
	for _, f := range fprs {
		pkgs = append(pkgs, "./fingerprints/"+filepath.Base(filepath.Dir(f)))
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	// The flags of make build and the images: without symbols, whose size every scan pays
	// in copying the fingerprints into sealed memfds.
	args := append([]string{"build", "-trimpath", "-ldflags=-s -w", "-o", outDir + "/"}, pkgs...)
	cmd := exec.CommandContext(ctx, GoTool(), args...)
	cmd.Dir = repoDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	// No logger here: the default one says that the build still runs.
	if err := runLogged(nil, "go build "+strings.Join(pkgs, " "), false, cmd); err != nil {
		return err
	}
	// As Containerfile.extractor ships them: fingerprints execute-only, so
	// that the kernel keeps them non-dumpable (the sandbox refuses others).
	for _, f := range fprs {
		if err := os.Chmod(filepath.Join(outDir, filepath.Base(filepath.Dir(f))), 0o111); err != nil {
			return err
		}
	}
	return nil
}

// DaemonSetOptions say how to run the product like its DaemonSet does.
type DaemonSetOptions struct {
	// BinDir holds the binaries built by BuildBinaries.
	BinDir string
	// Config is the extractor's config.toml.
	Config string
	// DataDir is the volume shared by the extractor and the exporter.
	DataDir string
	// Endpoint is the CRI endpoint (Node.Endpoint).
	Endpoint string
	// ExtraExtractorArgs are appended to extractor_server's flags.
	ExtraExtractorArgs []string
	// LogDir receives each binary's output (<name>.log).
	LogDir string
	Log    *slog.Logger
	// BeforeExtractor, when set, starts the exporter first and calls it, once the exporter
	// listens, before extractor_server starts: a pod whose exporter container comes up first.
	BeforeExtractor func(*DaemonSet)
}

// DaemonSet is the extractor_server and exporter pair, running.
type DaemonSet struct {
	// ExtractorAddr is extractor_server's TCP address (127.0.0.1:<port>).
	ExtractorAddr string
	// ExporterURL is the exporter's base URL (http://127.0.0.1:<port>).
	ExporterURL string
	logDir      string
	procs       []*daemonProc
}

type daemonProc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartDaemonSet starts extractor_server and exporter with the DaemonSet's
// flags, on free loopback ports, and waits until both answer. A port is
// free when FreePort looks, not necessarily when the binary binds it: other
// test processes (go test ./... runs packages at once; the node e2e on
// containerd and on CRI-O may run side by side) pick ports too, so a start
// that lost its port to one of them is tried again on new ports.
func StartDaemonSet(ctx context.Context, o DaemonSetOptions) (*DaemonSet, error) {
	var err error
	for range 3 {
		var d *DaemonSet
		if d, err = startDaemonSet(ctx, o); err == nil || !strings.Contains(err.Error(), "address already in use") {
			return d, err
		}
		if o.Log != nil {
			o.Log.Warn("a port was taken between FreePort and bind: trying new ports", "err", err)
		}
	}
	return nil, err
}

// freePort is FreePort; a test makes it hand out a taken port.
var freePort = FreePort

func startDaemonSet(ctx context.Context, o DaemonSetOptions) (*DaemonSet, error) {
	extPort, err := freePort()
	if err != nil {
		return nil, err
	}
	expPort, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &DaemonSet{
		ExtractorAddr: "127.0.0.1:" + strconv.Itoa(extPort),
		ExporterURL:   "http://127.0.0.1:" + strconv.Itoa(expPort),
		logDir:        o.LogDir,
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return nil, err
	}
	// The flags of manifests/base/insights-runtime-extractor.yaml, with this
	// machine's paths and free ports; the CRI endpoint comes, as there, from
	// CONTAINER_RUNTIME_ENDPOINT. The exporter binds loopback, as there.
	extArgs := append([]string{
		"-listen", d.ExtractorAddr,
		"-coordinator", filepath.Join(o.BinDir, "coordinator"),
		"-config", o.Config,
		"-fingerprints-dir", o.BinDir,
		"-data-dir", o.DataDir,
	}, o.ExtraExtractorArgs...)
	env := append(os.Environ(), "CONTAINER_RUNTIME_ENDPOINT="+o.Endpoint)
	extractor := func() error {
		return d.start("extractor_server", env, filepath.Join(o.BinDir, "extractor_server"), extArgs...)
	}
	exporter := func() error {
		return d.start("exporter", os.Environ(), filepath.Join(o.BinDir, "exporter"),
			"-port", strconv.Itoa(expPort), "-extractor-address", d.ExtractorAddr, "-data-dir", o.DataDir)
	}
	steps, ports := []func() error{extractor, exporter}, []int{extPort, expPort}
	if o.BeforeExtractor != nil {
		steps, ports = []func() error{exporter, extractor}, []int{expPort, extPort}
	}
	for i, start := range steps {
		if err := start(); err != nil {
			d.Stop()
			return nil, err
		}
		if i == 0 && o.BeforeExtractor != nil {
			if err := d.waitReady(ctx, ports[0]); err != nil {
				d.Stop()
				return nil, err
			}
			o.BeforeExtractor(d)
		}
	}
	if err := d.waitReady(ctx, ports...); err != nil {
		d.Stop()
		return nil, err
	}
	if o.Log != nil {
		o.Log.Info("extractor_server and exporter running", "extractor", d.ExtractorAddr, "exporter", d.ExporterURL)
	}
	return d, nil
}

func (d *DaemonSet) start(name string, env []string, path string, args ...string) error {
	logf, err := os.Create(filepath.Join(d.logDir, name+".log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &daemonProc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	d.procs = append(d.procs, p)
	return nil
}

// waitReady waits until the i-th started binary listens on ports[i].
func (d *DaemonSet) waitReady(ctx context.Context, ports ...int) error {
	deadline := time.Now().Add(30 * time.Second)
	for i, port := range ports {
		owner := d.procs[i]
		for {
			for _, p := range d.procs {
				select {
				case <-p.done:
					return fmt.Errorf("%s exited at start (%v): %s", p.name, p.err, d.Log(p.name))
				default:
				}
			}
			// Look, don't connect: every connection to extractor_server starts a scan.
			if listening(owner.cmd.Process.Pid, port) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not listen on 127.0.0.1:%d after 30s", owner.name, port)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// Log returns the end of a binary's output, for failure messages.
func (d *DaemonSet) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(d.logDir, name+".log"))
	return tail(string(b), 3000)
}

// Gather calls GET /gather_runtime_info (hash selects the query) and
// returns the status and body.
func (d *DaemonSet) Gather(ctx context.Context, hash *bool) (int, []byte, error) {
	return d.do(ctx, http.MethodGet, hash, nil)
}

// GatherIDs calls POST /gather_runtime_info with {"containerIds": ids}.
func (d *DaemonSet) GatherIDs(ctx context.Context, hash *bool, ids []string) (int, []byte, error) {
	body, err := json.Marshal(map[string][]string{"containerIds": ids})
	if err != nil {
		return 0, nil, err
	}
	return d.do(ctx, http.MethodPost, hash, body)
}

// GatherRaw posts an arbitrary body (to test the exporter's 400 answers).
func (d *DaemonSet) GatherRaw(ctx context.Context, body []byte) (int, []byte, error) {
	return d.do(ctx, http.MethodPost, nil, body)
}

func (d *DaemonSet) do(ctx context.Context, method string, hash *bool, body []byte) (int, []byte, error) {
	url := d.ExporterURL + "/gather_runtime_info"
	if hash != nil {
		url += "?hash=" + strconv.FormatBool(*hash)
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	return resp.StatusCode, b, nil
}

// PeakRSS returns the peak resident set size (VmHWM) in bytes of a running
// binary ("extractor_server" or "exporter").
func (d *DaemonSet) PeakRSS(name string) (int64, error) {
	for _, p := range d.procs {
		if p.name == name {
			return vmHWM(p.cmd.Process.Pid)
		}
	}
	return 0, fmt.Errorf("no process %s", name)
}

// vmHWM reads the peak RSS of a live process from /proc/<pid>/status.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

// Stop sends SIGTERM to both binaries and waits for them (SIGKILL after 10s).
// It returns an error if one did not stop cleanly: stopping on SIGTERM is
// part of the contract.
func (d *DaemonSet) Stop() error {
	var errs []error
	for i := len(d.procs) - 1; i >= 0; i-- {
		p := d.procs[i]
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if p.err != nil {
				errs = append(errs, fmt.Errorf("%s on SIGTERM: %w", p.name, p.err))
			}
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			errs = append(errs, fmt.Errorf("%s ignored SIGTERM for 10s", p.name))
		}
	}
	d.procs = nil
	return errors.Join(errs...)
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RepoRoot finds the repository root (the directory with go.mod) from the
// working directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "runtime-samples")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.mod with runtime-samples/) not found above the working directory")
		}
		dir = parent
	}
}

// listening says whether the process pid listens on 127.0.0.1:port: a
// LISTEN socket of /proc/net/tcp (state 0A) whose inode is one of the
// process's descriptors. Another process listening there does not count.
func listening(pid, port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == want && f[3] == "0A" {
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return false
	}
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && inodes[l] {
			return true
		}
	}
	return false
}
