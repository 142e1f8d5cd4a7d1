package detect_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Each fpr_* executable runs inside untrusted containers: it must link the
// detectors of its own fingerprint and nothing of the coordinator's side
// (config.toml parsing, the plan, CRI, the sandbox), nor procfs, whose package
// initialisation alone (0.75 ms) would be paid by every fingerprint run.
func TestFingerprintsLinkOnlyTheirDetectors(t *testing.T) {
	const mod = "github.com/openshift/insights-runtime-extractor/"
	detectors := []string{"java", "native", "osrelease", "versionexec"}
	for _, tc := range []struct{ main, detectors string }{
		{"fpr_os", "osrelease"},
		{"fpr_java", "java"},
		{"fpr_native_executable", "native"},
		{"fpr_version_executable", "versionexec"},
	} {
		t.Run(tc.main, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", "./fingerprints/"+tc.main)
			cmd.Dir = filepath.Join("..", "..", "..")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			for _, d := range detectors {
				linked := slices.Contains(deps, mod+"internal/fingerprint/detect/"+d)
				if linked != (d == tc.detectors) {
					t.Errorf("links detect/%s: %v", d, linked)
				}
			}
			for _, dep := range deps {
				for _, banned := range []string{
					"github.com/BurntSushi/toml", mod + "internal/fingerprint/rules", mod + "internal/coordinator",
					mod + "internal/cri", mod + "internal/sandbox", mod + "internal/extractor", mod + "internal/result",
					"github.com/prometheus/procfs",
				} {
					if dep == banned || strings.HasPrefix(dep, banned+"/") {
						t.Errorf("links %s", dep)
					}
				}
			}
		})
	}
}
