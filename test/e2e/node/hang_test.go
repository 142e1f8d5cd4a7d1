package node

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openshift/insights-runtime-extractor/internal/sandbox"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// A container whose workload hangs when a fingerprint asks for its
// --version: the fingerprint is killed at its limit, the scan goes on, and
// every other container's result arrives exactly as without it.
var _ = Describe("A hanging fingerprint", Label("extraction", "hang"), Ordered, func() {
	var (
		ds  *localnode.DaemonSet
		pod *localnode.Pod
	)

	BeforeAll(func(ctx SpecContext) {
		var err error
		pod, err = state.env.Node.RunPod(ctx, localnode.PodSpec{Name: "hang-version", Namespace: "hostile",
			Containers: []localnode.ContainerSpec{state.env.Images.Sample("hang-version").Container("hang")}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) { Expect(state.env.Node.RemovePod(ctx, pod)).To(Succeed()) })

		// The shipped rules plus one naming the hostile tool: adding an entry is
		// all it takes to teach the product a --version runtime (SPEC §5).
		base, err := os.ReadFile(filepath.Join(state.env.RepoDir, "config.toml"))
		Expect(err).NotTo(HaveOccurred())
		config := filepath.Join(state.env.WorkDir, "config-hang.toml")
		rule := "\n[[fingerprints.version-executables]]\nprocess-names = [\"hangtool\"]\nruntime-kind-name = \"Hangtool\"\n"
		Expect(os.WriteFile(config, append(base, rule...), 0o644)).To(Succeed())
		ds, err = startDaemonSet(ctx, "daemonset-hang", config)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(ds.Stop()).To(Succeed()) })
	})

	It("is killed at its limit while the other containers' results still arrive", func(ctx SpecContext) {
		clear := false
		start := time.Now()
		status, body, err := ds.Gather(ctx, &clear)
		elapsed := time.Since(start)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK), "%s\nextractor_server: %s", body, ds.Log("extractor_server"))
		AddReportEntry("scan with a hanging fingerprint", elapsed.String())

		var got document
		Expect(json.Unmarshal(body, &got)).To(Succeed(), string(body))
		// Listed, with nothing in it: a --version that never answered proves
		// nothing, not even the kind its rule gives (scratch image: no os).
		Expect(got["hostile"]["hang-version"]).To(HaveKey(key(pod.Containers[0].ID)), "the hanging container is listed under its key")
		hang := got["hostile"]["hang-version"][key(pod.Containers[0].ID)]
		Expect(hang).To(BeEmpty(), "the hanging --version was believed: %v", hang)
		delete(got, "hostile")
		rest, err := json.Marshal(got)
		Expect(err).NotTo(HaveOccurred())
		ok, msg := jsonMismatch(rest, state.want, ds.Log("extractor_server"))
		Expect(ok).To(BeTrue(), msg)

		// It waited for a limit (the fingerprint's own on --version, or the
		// sandbox's wall clock, whichever is shorter), not for ever; and it did
		// wait: a --version that fails at once proves nothing about hangs.
		Expect(elapsed).To(BeNumerically(">=", time.Second), "the --version run did not hang: it failed at once")
		Expect(elapsed).To(BeNumerically("<", sandbox.DefaultTimeout+90*time.Second))
		Expect(hangingVersionProcesses()).To(BeEmpty(), "the killed fingerprint left processes behind")
	})
})

// hangingVersionProcesses lists host pids running "<…hangtool> --version".
func hangingVersionProcesses() []string {
	var out []string
	matches, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if len(args) >= 2 && strings.HasSuffix(args[0], "hangtool") && args[1] == "--version" {
			out = append(out, filepath.Base(filepath.Dir(m)))
		}
	}
	return out
}
