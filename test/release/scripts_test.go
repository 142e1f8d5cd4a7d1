package release

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestScriptsStopWithOneClearLine runs make build-image and make e2e-test in
// the situations where they must refuse at once, before any build or test.
func TestScriptsStopWithOneClearLine(t *testing.T) {
	repo := repoRoot(t)
	home := t.TempDir() // no ~/.kube/config there
	tests := []struct {
		name   string
		script string
		env    []string
		want   string
	}{
		{
			name:   "build-image without IMAGE_REGISTRY",
			script: "build-image.sh",
			want:   "build-image: IMAGE_REGISTRY is not set: IMAGE_REGISTRY=quay.io/<user> make build-image\n",
		},
		{
			name:   "build-image with an unknown build tool",
			script: "build-image.sh",
			env:    []string{"IMAGE_REGISTRY=127.0.0.1:1/x", "BUILD_TOOL=docker"},
			want:   "build-image: BUILD_TOOL must be podman or buildah, not 'docker'\n",
		},
		{
			name:   "e2e-test without a cluster",
			script: "e2e-test.sh",
			want:   "e2e-test: no cluster configured: set KUBECONFIG to the kubeconfig of the cluster to test\n",
		},
		{
			name:   "e2e-test with a KUBECONFIG that does not exist",
			script: "e2e-test.sh",
			env:    []string{"KUBECONFIG=" + filepath.Join(home, "missing")},
			want:   "e2e-test: no cluster configured: set KUBECONFIG to the kubeconfig of the cluster to test\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("bash", filepath.Join(repo, "scripts", tc.script))
			cmd.Env = append(withoutEnv(os.Environ(), "IMAGE_REGISTRY", "BUILD_TOOL", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "HOME"),
				append([]string{"HOME=" + home}, tc.env...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
				t.Errorf("exit: %v, want status 1", err)
			}
			if stderr.String() != tc.want || stdout.Len() != 0 {
				t.Errorf("stderr %q, stdout %q; want stderr %q only", stderr.String(), stdout.String(), tc.want)
			}
		})
	}
}
