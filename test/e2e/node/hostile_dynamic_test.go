package node

import (
	"debug/elf"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// A dynamically linked fingerprint would run the container's own ld.so and
// libraries with the fingerprint's view: the container would choose the
// code that reads its files. Here fpr_os is built dynamic (cgo, external
// link) and put in the fingerprints directory: extractor_server refuses to
// start with it, and when it replaces the static one after the start, the
// sandbox refuses to run it. Every Debian container of the node has the
// loader it asks for, so only the refusal keeps it from running there.
var _ = Describe("Hostile: a dynamically linked fingerprint", Label("hostile"), func() {
	It("is refused at start and at run time, while the other fingerprints still report exactly", func(ctx SpecContext) {
		dynamic := filepath.Join(state.env.WorkDir, "fpr_os-dynamic")
		build := exec.CommandContext(ctx, localnode.GoTool(), "build", "-trimpath", "-ldflags=-linkmode=external", "-o", dynamic, "./fingerprints/fpr_os")
		build.Dir, build.Env = state.env.RepoDir, append(os.Environ(), "CGO_ENABLED=1")
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(os.Chmod(dynamic, 0o111)).To(Succeed())
		f, err := elf.Open(dynamic)
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Progs).To(ContainElement(HaveField("Type", elf.PT_INTERP)), "the build is not dynamic: the spec would prove nothing")
		f.Close()

		// A directory of binaries of its own, the static ones first.
		bin := filepath.Join(state.env.WorkDir, "dynamic-bin")
		entries, err := os.ReadDir(state.binDir)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.MkdirAll(bin, 0o755)).To(Succeed())
		for _, e := range entries {
			copyExecutable(filepath.Join(state.binDir, e.Name()), filepath.Join(bin, e.Name()))
		}
		start := func(name string) (*localnode.DaemonSet, error) {
			dir := filepath.Join(state.env.WorkDir, name)
			return localnode.StartDaemonSet(ctx, localnode.DaemonSetOptions{
				BinDir: bin, Config: filepath.Join(state.env.RepoDir, "config.toml"), DataDir: filepath.Join(dir, "data"),
				Endpoint: state.env.Node.Endpoint(), LogDir: dir, Log: state.log,
			})
		}

		copyExecutable(dynamic, filepath.Join(bin, "fpr_os"))
		_, err = start("daemonset-dynamic-at-start")
		Expect(err).To(MatchError(ContainSubstring("dynamically linked (PT_INTERP /lib64/ld-linux")), "extractor_server started with a dynamic fingerprint")

		copyExecutable(filepath.Join(state.binDir, "fpr_os"), filepath.Join(bin, "fpr_os"))
		ds, err := start("daemonset-dynamic")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(ds.Stop()).To(Succeed()) })
		copyExecutable(dynamic, filepath.Join(bin, "fpr_os"))

		var ids []string
		for _, p := range state.pods {
			for _, c := range p.Containers {
				ids = append(ids, c.ID)
			}
		}
		clear := false
		status, body, err := ds.GatherIDs(ctx, &clear, ids)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK), "%s\nextractor_server: %s", body, ds.Log("extractor_server"))
		// Every container exactly, without what fpr_os alone finds.
		want := document{}
		for ns, pods := range state.want {
			for pod, ctrs := range pods {
				for key, fields := range ctrs {
					kept := map[string]any{}
					for k, v := range fields {
						if k != "os" && k != "osVersion" {
							kept[k] = v
						}
					}
					if want[ns] == nil {
						want[ns] = map[string]map[string]map[string]any{}
					}
					if want[ns][pod] == nil {
						want[ns][pod] = map[string]map[string]any{}
					}
					want[ns][pod][key] = kept
				}
			}
		}
		ok, msg := jsonMismatch(body, want, ds.Log("extractor_server"))
		Expect(ok).To(BeTrue(), msg)
		Expect(ds.Log("extractor_server")).To(And(ContainSubstring("fingerprint could not start"),
			ContainSubstring("dynamically linked (PT_INTERP): it would load the container's ld.so")))
	})
})

// copyExecutable replaces dst by a copy of src with src's mode, atomically:
// a running extractor_server never sees half a file.
func copyExecutable(src, dst string) {
	st, err := os.Stat(src)
	Expect(err).NotTo(HaveOccurred())
	b, err := os.ReadFile(src)
	Expect(err).NotTo(HaveOccurred())
	tmp := dst + ".new"
	Expect(os.WriteFile(tmp, b, st.Mode().Perm())).To(Succeed())
	Expect(os.Chmod(tmp, st.Mode().Perm())).To(Succeed())
	Expect(os.Rename(tmp, dst)).To(Succeed())
}
