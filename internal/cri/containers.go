package cri

import (
	"cmp"
	"log/slog"
	"slices"

	rt "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The labels the kubelet puts on every sandbox and container it creates
// (k8s.io/kubelet/pkg/types). They are the fallback when a runtime leaves
// the CRI metadata empty.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
)

// assemble joins the listed containers with their sandboxes and host pids.
// A container without a pid (it vanished, or its status was unusable) is
// left out: it cannot be scanned. The result is sorted by pod namespace,
// pod name, container name and id so that scans are reproducible.
func assemble(runtime string, ctrs []*rt.Container, sandboxes []*rt.PodSandbox, pids map[string]int, log *slog.Logger) []Container {
	byID := make(map[string]*rt.PodSandbox, len(sandboxes))
	for _, s := range sandboxes {
		byID[s.GetId()] = s
	}
	out := make([]Container, 0, len(ctrs))
	seen := make(map[string]bool, len(ctrs))
	for _, c := range ctrs {
		id := c.GetId()
		pid, ok := pids[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		sb := byID[c.GetPodSandboxId()]
		if sb == nil {
			log.Debug("container's sandbox not listed; pod taken from labels", "container", runtime+"://"+id, "sandbox", c.GetPodSandboxId())
		}
		out = append(out, Container{
			ID:           id,
			Name:         first(c.GetMetadata().GetName(), c.GetLabels()[labelContainerName]),
			PodName:      first(sb.GetMetadata().GetName(), sb.GetLabels()[labelPodName], c.GetLabels()[labelPodName]),
			PodNamespace: first(sb.GetMetadata().GetNamespace(), sb.GetLabels()[labelPodNamespace], c.GetLabels()[labelPodNamespace]),
			PodUID:       first(sb.GetMetadata().GetUid(), sb.GetLabels()[labelPodUID], c.GetLabels()[labelPodUID]),
			Runtime:      runtime,
			PID:          pid,
		})
	}
	slices.SortFunc(out, func(a, b Container) int {
		return cmp.Or(
			cmp.Compare(a.PodNamespace, b.PodNamespace),
			cmp.Compare(a.PodName, b.PodName),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.ID, b.ID),
		)
	})
	return out
}

// first returns the first non-empty value.
func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
