package vm

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// smokePayload checks the node from the inside and writes what it saw to
// /results; the host side decides. It also runs one pod, the way kubelet
// asks CRI-O for one (a systemd slice as cgroup parent), from an image the
// host built.
const smokePayload = `#!/bin/bash
set -u
R=/results
step() { echo "smoke: $* (uptime $(cut -d' ' -f1 /proc/uptime) s)"; }
cat /proc/1/comm > $R/pid1-comm
stat -fc %T /sys/fs/cgroup > $R/cgroup-fstype
grep -E ' cgroup2? ' /proc/mounts > $R/cgroup-mounts
cat /sys/fs/cgroup/cgroup.controllers > $R/root-controllers
step "crictl version"
crictl version > $R/crictl-version 2>&1
crio status info > $R/crio-info 2>&1
step "import the test image"
skopeo copy oci:/payload/image:busybox containers-storage:localhost/insights-runtime-extractor/pause:e2e || exit 1
skopeo copy oci:/payload/image:busybox containers-storage:localhost/ire-vm/busybox:1 || exit 1
step "run a pod"
pod=$(crictl runp /payload/pod.json) || exit 1
ctr=$(crictl create "$pod" /payload/ctr.json /payload/pod.json) || exit 1
crictl start "$ctr" > /dev/null || exit 1
echo "$ctr" > $R/container-id
pid=$(crictl inspect -o go-template --template '{{.info.pid}}' "$ctr")
cat /proc/$pid/cgroup > $R/container-cgroup
step "clean up"
# busybox as PID 1 ignores SIGTERM: do not wait out the grace period.
crictl stop -t 1 "$ctr" > /dev/null || exit 1
crictl stopp "$pod" > /dev/null || exit 1
crictl rmp "$pod" > /dev/null || exit 1
step done
`

const podUID = "0a1b2c3d-0000-4000-8000-000000000001"

func TestNodeSmoke(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: builds a VM image (apt-get, debootstrap, chroot) and runs qemu")
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-30*time.Second))
		defer cancel()
	}
	t0 := time.Now()
	img, err := EnsureImage(ctx, log, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image ready in %s: %s", time.Since(t0).Round(time.Second), img.Dir)

	payload := t.TempDir()
	if err := os.WriteFile(filepath.Join(payload, "run"), []byte(smokePayload), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteBusyboxImage(ctx, log, filepath.Join(payload, "image"), []string{"/bin/busybox", "sleep", "3600"}); err != nil {
		t.Fatal(err)
	}
	nsOpts := map[string]any{"pid": 1} // CONTAINER: no infra container needed
	writeJSON(t, filepath.Join(payload, "pod.json"), map[string]any{
		"metadata":      map[string]any{"name": "smoke", "namespace": "ire-vm", "uid": podUID, "attempt": 0},
		"log_directory": "/var/log/pods/ire-vm_smoke_" + podUID,
		"linux": map[string]any{
			"cgroup_parent":    "kubepods-besteffort-pod" + strings.ReplaceAll(podUID, "-", "_") + ".slice",
			"security_context": map[string]any{"namespace_options": nsOpts},
		},
	})
	writeJSON(t, filepath.Join(payload, "ctr.json"), map[string]any{
		"metadata": map[string]any{"name": "sleeper"},
		"image":    map[string]any{"image": "localhost/ire-vm/busybox:1"},
		"log_path": "sleeper.log",
		"linux":    map[string]any{"security_context": map[string]any{"namespace_options": nsOpts}},
	})

	out := t.TempDir()
	res, err := Run(ctx, Options{Image: img, PayloadDir: payload, OutputDir: out, Timeout: 12 * time.Minute, Log: log})
	if err != nil {
		if res != nil {
			t.Logf("console log:\n%s", tail(res.ConsoleLog, 60))
		}
		t.Fatal(err)
	}
	t.Logf("boot %s, payload %s, total %s", res.Boot.Round(time.Second), res.Payload.Round(time.Second), res.Total.Round(time.Second))
	if res.ExitCode != 0 {
		t.Fatalf("payload exit code %d\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(res.ResultsDir, name))
		if err != nil {
			t.Error(err)
		}
		return strings.TrimSpace(string(b))
	}

	if got := read("pid1-comm"); got != "systemd" {
		t.Errorf("PID 1 is %q, want systemd", got)
	}
	if got := read("cgroup-fstype"); got != "cgroup2fs" {
		t.Errorf("/sys/fs/cgroup is %q, want cgroup2fs", got)
	}
	for _, l := range strings.Split(read("cgroup-mounts"), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[2] != "cgroup2" {
			t.Errorf("cgroup v1 mount: %s", l)
		}
	}
	ctrls := strings.Fields(read("root-controllers"))
	for _, c := range []string{"cpu", "memory", "pids"} {
		if !slices.Contains(ctrls, c) {
			t.Errorf("root cgroup.controllers %v lacks %s", ctrls, c)
		}
	}
	version := fields(read("crictl-version"))
	if version["RuntimeName"] != "cri-o" || version["RuntimeVersion"] != "1.34.0" {
		t.Errorf("crictl version: %v, want RuntimeName cri-o, RuntimeVersion 1.34.0", version)
	}
	if got := fields(read("crio-info"))["cgroup driver"]; got != "systemd" {
		t.Errorf("crio status info: cgroup driver %q, want systemd\n%s", got, read("crio-info"))
	}
	id := read("container-id")
	want := "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
		strings.ReplaceAll(podUID, "-", "_") + ".slice/crio-" + id + ".scope"
	if got := read("container-cgroup"); got != want {
		t.Errorf("container cgroup:\n got %s\nwant %s", got, want)
	}
}

// fields parses "key: value" lines.
func fields(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

func writeJSON(t *testing.T, p string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func tail(p string, n int) string {
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
