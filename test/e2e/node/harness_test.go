package node

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rt "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// These specs check the node itself: if they fail, the extraction specs
// would test the harness instead of the product.
var _ = Describe("The local node", Label("node"), func() {
	It("runs every sample pod with kubelet-like metadata, each container running its workload", func(ctx SpecContext) {
		for _, p := range workloads.All(state.env.Images) {
			key := p.Spec.Namespace + "/" + p.Spec.Name
			pod := state.pods[key]
			Expect(pod).NotTo(BeNil(), key)
			list, err := state.env.Node.Runtime().ListContainers(ctx, &rt.ListContainersRequest{Filter: &rt.ContainerFilter{PodSandboxId: pod.SandboxID}})
			Expect(err).NotTo(HaveOccurred())
			Expect(list.Containers).To(HaveLen(len(pod.Containers)), key)
			for _, c := range list.Containers {
				Expect(c.State).To(Equal(rt.ContainerState_CONTAINER_RUNNING), "%s %s", key, c.Metadata.Name)
				Expect(c.Labels).To(HaveKeyWithValue("io.kubernetes.pod.name", p.Spec.Name))
				Expect(c.Labels).To(HaveKeyWithValue("io.kubernetes.pod.namespace", p.Spec.Namespace))
				Expect(c.Labels).To(HaveKeyWithValue("io.kubernetes.pod.uid", pod.UID))
				Expect(c.Labels).To(HaveKeyWithValue("io.kubernetes.container.name", c.Metadata.Name))
			}
			specs := append(append([]localnode.ContainerSpec{}, p.Spec.InitContainers...), p.Spec.Containers...)
			for i, c := range pod.Containers {
				if w := specs[i].WaitFor; w != "" {
					_, ok := localnode.FindInTree(c.PID, w)
					Expect(ok).To(BeTrue(), "%s %s: no process %q under pid %d", key, c.Name, w, c.PID)
				}
			}
		}
	})

	It("keys containers as the kubelet does: the runtime's name from Version, \"://\", the 64-hex id", func(ctx SpecContext) {
		v, err := state.env.Node.Runtime().Version(ctx, &rt.VersionRequest{})
		Expect(err).NotTo(HaveOccurred())
		Expect(v.RuntimeName + "://").To(Equal(state.env.Node.KeyPrefix()))
		Expect(state.env.Node.KeyPrefix()).To(Equal(map[localnode.Runtime]string{localnode.Containerd: "containerd://", localnode.CRIO: "cri-o://"}[state.env.Node.Kind()]))
		keys := 0
		for _, pods := range state.want {
			for _, ctrs := range pods {
				for k := range ctrs {
					Expect(k).To(MatchRegexp(`^` + regexp.QuoteMeta(state.env.Node.KeyPrefix()) + `[0-9a-f]{64}$`))
					keys++
				}
			}
		}
		Expect(keys).To(BeNumerically(">=", len(state.pods)))
	})

	It("runs the wrapper shell as pid 1 and the workload as its child", func() {
		c, _ := state.pods["shapes/sh-wrapper"].Container("app")
		Expect(comm(c.PID)).To(Equal("sh"))
		child, ok := localnode.FindInTree(c.PID, "python3")
		Expect(ok).To(BeTrue())
		Expect(child).NotTo(Equal(c.PID))
	})

	It("runs the non-root container as uid and gid 1000", func() {
		c, _ := state.pods["shapes/non-root"].Container("app")
		Expect(statusField(c.PID, "Uid")).To(Equal("1000 1000 1000 1000"))
		Expect(statusField(c.PID, "Gid")).To(Equal("1000 1000 1000 1000"))
	})

	It("starts the restartable init container first and keeps it running beside the main one", func() {
		pod := state.pods["shapes/with-sidecar"]
		Expect(pod.Containers).To(HaveLen(2))
		Expect(pod.Containers[0].Sidecar).To(BeTrue())
		Expect(pod.Containers[0].Name).To(Equal("sidecar"))
		for _, c := range pod.Containers {
			_, err := os.Stat(fmt.Sprintf("/proc/%d", c.PID))
			Expect(err).NotTo(HaveOccurred(), c.Name)
		}
	})
})

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// statusField returns a field of /proc/<pid>/status, inner spaces collapsed.
func statusField(pid int, key string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}
