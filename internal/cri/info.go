package cri

import (
	"encoding/json"
	"fmt"
)

// pidMaxLimit is the kernel's PID_MAX_LIMIT on 64-bit systems: no pid is larger.
const pidMaxLimit = 1 << 22

// pidFromInfo reads the container's host pid from the Info map of a verbose
// ContainerStatus. The CRI structs have no pid field; both runtimes put a
// JSON document under the key "info" whose top-level "pid" is the init
// process as the host sees it:
//   - containerd (pkg/cri/server/container_status.go, 1.6 to 2.x):
//     {"sandboxID", "pid", "removing", "snapshotKey", "snapshotter",
//     "runtimeType", "runtimeOptions", "config", "runtimeSpec"}
//   - CRI-O (server/container_status.go, createContainerInfo):
//     {"sandboxID", "pid", "runtimeSpec", "privileged"} and, with
//     checkpoint/restore enabled, "checkpointedAt", "restored".
func pidFromInfo(info map[string]string) (int, error) {
	raw, ok := info["info"]
	if !ok {
		return 0, fmt.Errorf("verbose status has no \"info\" key: %w", ErrBadResponse)
	}
	var doc struct {
		PID *json.Number `json:"pid"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return 0, fmt.Errorf("verbose status \"info\" is not JSON: %w: %w", ErrBadResponse, err)
	}
	if doc.PID == nil {
		return 0, fmt.Errorf("verbose status \"info\" has no \"pid\": %w", ErrBadResponse)
	}
	pid, err := doc.PID.Int64()
	switch {
	case err != nil || pid < 0 || pid > pidMaxLimit:
		return 0, fmt.Errorf("verbose status \"info\" has pid %.20q: %w", doc.PID.String(), ErrBadResponse)
	case pid == 0:
		// Both runtimes report 0 once the container's task has exited.
		return 0, fmt.Errorf("verbose status \"info\" has pid 0: %w", ErrContainerGone)
	}
	return int(pid), nil
}
