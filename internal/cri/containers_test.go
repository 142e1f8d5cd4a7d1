package cri

import (
	"log/slog"
	"slices"
	"testing"

	rt "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestAssemble(t *testing.T) {
	kubeletLabels := func(pod, ns, uid, ctr string) map[string]string {
		l := map[string]string{labelPodName: pod, labelPodNamespace: ns, labelPodUID: uid}
		if ctr != "" {
			l[labelContainerName] = ctr
		}
		return l
	}
	sandboxes := []*rt.PodSandbox{
		{Id: "s1", Metadata: &rt.PodSandboxMetadata{Name: "web", Namespace: "shop", Uid: "u1"},
			Labels: kubeletLabels("label-web", "label-shop", "label-u1", "")},
		{Id: "s2", Labels: kubeletLabels("db", "store", "u2", "")}, // no metadata: labels are the fallback
	}
	for _, tc := range []struct {
		name    string
		runtime string
		ctrs    []*rt.Container
		pids    map[string]int
		want    []Container
	}{
		{
			name:    "sandbox metadata wins over labels",
			runtime: "containerd",
			ctrs:    []*rt.Container{{Id: "c1", PodSandboxId: "s1", Metadata: &rt.ContainerMetadata{Name: "app"}, Labels: kubeletLabels("x", "y", "z", "w")}},
			pids:    map[string]int{"c1": 100},
			want:    []Container{{ID: "c1", Name: "app", PodName: "web", PodNamespace: "shop", PodUID: "u1", Runtime: "containerd", PID: 100}},
		},
		{
			name:    "sandbox labels when its metadata is empty",
			runtime: "cri-o",
			ctrs:    []*rt.Container{{Id: "c2", PodSandboxId: "s2", Metadata: &rt.ContainerMetadata{Name: "postgres"}}},
			pids:    map[string]int{"c2": 200},
			want:    []Container{{ID: "c2", Name: "postgres", PodName: "db", PodNamespace: "store", PodUID: "u2", Runtime: "cri-o", PID: 200}},
		},
		{
			name:    "container labels when the sandbox is not listed",
			runtime: "cri-o",
			ctrs:    []*rt.Container{{Id: "c3", PodSandboxId: "gone", Labels: kubeletLabels("batch", "jobs", "u3", "worker")}},
			pids:    map[string]int{"c3": 300},
			want:    []Container{{ID: "c3", Name: "worker", PodName: "batch", PodNamespace: "jobs", PodUID: "u3", Runtime: "cri-o", PID: 300}},
		},
		{
			name:    "containers without a pid are left out",
			runtime: "containerd",
			ctrs: []*rt.Container{
				{Id: "c1", PodSandboxId: "s1", Metadata: &rt.ContainerMetadata{Name: "app"}},
				{Id: "c4", PodSandboxId: "s1", Metadata: &rt.ContainerMetadata{Name: "vanished"}},
			},
			pids: map[string]int{"c1": 100},
			want: []Container{{ID: "c1", Name: "app", PodName: "web", PodNamespace: "shop", PodUID: "u1", Runtime: "containerd", PID: 100}},
		},
		{
			name:    "a container listed twice is reported once",
			runtime: "containerd",
			ctrs: []*rt.Container{
				{Id: "c1", PodSandboxId: "s1", Metadata: &rt.ContainerMetadata{Name: "app"}},
				{Id: "c1", PodSandboxId: "s1", Metadata: &rt.ContainerMetadata{Name: "app"}},
			},
			pids: map[string]int{"c1": 100},
			want: []Container{{ID: "c1", Name: "app", PodName: "web", PodNamespace: "shop", PodUID: "u1", Runtime: "containerd", PID: 100}},
		},
		{
			name:    "sorted by namespace, pod, container name",
			runtime: "containerd",
			ctrs: []*rt.Container{
				{Id: "c1", PodSandboxId: "s1", Metadata: &rt.ContainerMetadata{Name: "sidecar"}},
				{Id: "c2", PodSandboxId: "s2", Metadata: &rt.ContainerMetadata{Name: "postgres"}},
				{Id: "c3", PodSandboxId: "s1", Metadata: &rt.ContainerMetadata{Name: "app"}},
			},
			pids: map[string]int{"c1": 1, "c2": 2, "c3": 3},
			want: []Container{
				{ID: "c3", Name: "app", PodName: "web", PodNamespace: "shop", PodUID: "u1", Runtime: "containerd", PID: 3},
				{ID: "c1", Name: "sidecar", PodName: "web", PodNamespace: "shop", PodUID: "u1", Runtime: "containerd", PID: 1},
				{ID: "c2", Name: "postgres", PodName: "db", PodNamespace: "store", PodUID: "u2", Runtime: "containerd", PID: 2},
			},
		},
		{name: "nothing running", runtime: "containerd", want: []Container{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := assemble(tc.runtime, tc.ctrs, sandboxes, tc.pids, slog.New(slog.DiscardHandler))
			if !slices.Equal(got, tc.want) {
				t.Errorf("assemble:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestKeyIsTheKubeletContainerID(t *testing.T) {
	id := "8f1f6a2d9c3e4b5a6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"
	for runtime, want := range map[string]string{
		"cri-o":      "cri-o://" + id,
		"containerd": "containerd://" + id,
	} {
		if got := (Container{ID: id, Runtime: runtime}).Key(); got != want {
			t.Errorf("Key() = %q, want %q", got, want)
		}
	}
}
