package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// settle waits until the node's pods use less than a twentieth of a core
// (over one second), at most limit: the first scan of a real node comes long
// after its workloads started, not while a JVM or Node.js still starts. It
// returns how long it waited and whether the pods settled.
func settle(ctx context.Context, nodeID string, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	prev, ok := podsCPU(nodeID)
	if !ok {
		return 0, false
	}
	for time.Since(start) < limit {
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-time.After(time.Second):
		}
		now, _ := podsCPU(nodeID)
		if now-prev < 50*time.Millisecond {
			return time.Since(start), true
		}
		prev = now
	}
	return time.Since(start), false
}

// podsCPU is the CPU time used so far by the processes of the node's pods,
// whose cgroups are all below one named after the node: cpuacct.usage on
// cgroup v1, usage_usec of cpu.stat on v2.
func podsCPU(nodeID string) (time.Duration, bool) {
	if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuacct", nodeID, "cpuacct.usage")); err == nil {
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return time.Duration(ns), err == nil
	}
	for _, root := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		b, err := os.ReadFile(filepath.Join(root, nodeID, "cpu.stat"))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
				us, err := strconv.ParseInt(v, 10, 64)
				return time.Duration(us) * time.Microsecond, err == nil
			}
		}
	}
	return 0, false
}
