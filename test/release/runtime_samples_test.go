package release

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/test/debpkg/debpkgtest"
	"github.com/openshift/insights-runtime-extractor/test/runtimesamples"
)

// TestEveryRuntimeSampleIsBuildableAndChecked: every folder of
// runtime-samples/ has a Containerfile whose every FROM is pinned, and either
// a recipe.json (the node e2e builds it offline) or a strictly valid
// expect.json (what the cluster e2e asserts); the README's table lists it, and
// a base image behind a Red Hat login says so where a builder looks.
func TestEveryRuntimeSampleIsBuildableAndChecked(t *testing.T) {
	repo := repoRoot(t)
	entries, err := os.ReadDir(filepath.Join(repo, "runtime-samples"))
	if err != nil {
		t.Fatal(err)
	}
	samples, err := runtimesamples.List(repo)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]runtimesamples.Sample{}
	for _, s := range samples {
		listed[s.Name] = s
	}
	readme, err := os.ReadFile(filepath.Join(repo, "runtime-samples", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs int
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dirs++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			s, ok := listed[name]
			if !ok {
				t.Fatalf("runtime-samples/%s has no Containerfile", name)
			}
			if s.NodeOnly && !s.HasRecipe {
				t.Errorf("%s runs only on the node e2e but has no recipe.json", name)
			}
			containerfile, err := os.ReadFile(filepath.Join(s.Dir, "Containerfile"))
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range unpinnedFroms(string(containerfile)) {
				t.Errorf("Containerfile: FROM %s is not pinned to a tag or digest", bad)
			}
			if bytes.Contains(containerfile, []byte("FROM registry.redhat.io/")) {
				if !bytes.Contains(containerfile, []byte("podman login registry.redhat.io")) {
					t.Error("Containerfile: a registry.redhat.io base image without the login it needs in a comment")
				}
				if !regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(name) + ` \|.*Red Hat login`).Match(readme) {
					t.Error("README.md: the row does not say the sample needs a Red Hat login")
				}
			}
			if !regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(name) + ` \|`).Match(readme) {
				t.Error("README.md: no row in the table")
			}
		})
	}
	if dirs != len(samples) {
		t.Errorf("%d folders, %d samples listed", dirs, len(samples))
	}
}

// unpinnedFroms returns the base images of a Containerfile that are neither
// pinned (a tag other than latest, or a digest), scratch, nor an earlier stage.
func unpinnedFroms(containerfile string) []string {
	var bad []string
	stages := map[string]bool{"scratch": true}
	sc := bufio.NewScanner(strings.NewReader(containerfile))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.EqualFold(f[0], "FROM") {
			continue
		}
		args := f[1:]
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			args = args[1:]
		}
		if len(args) == 0 {
			bad = append(bad, sc.Text())
			continue
		}
		image := args[0]
		if len(args) == 3 && strings.EqualFold(args[1], "AS") {
			stages[strings.ToLower(args[2])] = true
		}
		if stages[strings.ToLower(image)] || strings.Contains(image, "@sha256:") {
			continue
		}
		last := image[strings.LastIndex(image, "/")+1:]
		_, tag, ok := strings.Cut(last, ":")
		if !ok || tag == "" || tag == "latest" || strings.Contains(image, "$") {
			bad = append(bad, image)
		}
	}
	return bad
}

func TestUnpinnedFromsFindsFloatingBaseImages(t *testing.T) {
	tests := []struct {
		name, containerfile string
		want                []string
	}{
		{"tag", "FROM docker.io/library/debian:12\n", nil},
		{"registry with a port and a tag", "FROM localhost:5000/base:1.2\n", nil},
		{"digest", "FROM quay.io/x/y@sha256:0123\n", nil},
		{"stage and scratch", "FROM golang:1.26 AS build\nFROM scratch\nCOPY --from=build /a /a\nFROM build\n", nil},
		{"platform flag", "FROM --platform=$BUILDPLATFORM golang:1.26 AS b\n", nil},
		{"no tag", "FROM docker.io/library/debian\n", []string{"docker.io/library/debian"}},
		{"registry port without tag", "FROM localhost:5000/base\n", []string{"localhost:5000/base"}},
		{"latest", "from quay.io/wildfly/wildfly:latest\n", []string{"quay.io/wildfly/wildfly:latest"}},
		{"build argument", "FROM ${BASE_IMAGE}\n", []string{"${BASE_IMAGE}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := unpinnedFroms(tc.containerfile)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("unpinnedFroms = %q, want %q", got, tc.want)
			}
		})
	}
}

// runSamplesScript runs scripts/runtime-samples.sh (or make runtime-samples)
// with only the given variables of its own set.
func runSamplesScript(t *testing.T, viaMake bool, env ...string) (stdout, stderr string, err error) {
	t.Helper()
	repo := repoRoot(t)
	cmd := exec.Command("bash", filepath.Join(repo, "scripts", "runtime-samples.sh"))
	if viaMake {
		cmd = exec.Command("make", "-s", "--no-print-directory", "-C", repo, "runtime-samples")
	}
	cmd.Env = append(withoutEnv(os.Environ(), "IMAGE_REGISTRY", "INSIGHTS_RUNTIME_SAMPLES_REGISTRY", "TAG", "RUNTIME_SAMPLES",
		"BUILD_TOOL", "BUILD_FLAGS", "PUSH", "TLS_VERIFY", "WORK_DIR", "DRY_RUN", "GO", "MAKEFLAGS", "MAKELEVEL"), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func TestRuntimeSamplesDryRunPrintsExactlyTheBuildAndPushCommands(t *testing.T) {
	const gen = "bin/runtime-samples/samplerootfs"
	tests := []struct {
		name    string
		viaMake bool
		env     []string
		want    string
	}{
		{
			name:    "make runtime-samples: a generated, a source-built and a registry.redhat.io sample, IMAGE_REGISTRY",
			viaMake: true,
			env:     []string{"IMAGE_REGISTRY=quay.io/me", "TAG=v1", "BUILD_TOOL=podman", "RUNTIME_SAMPLES=eap python2 jws"},
			want: `mkdir -p bin/runtime-samples
go -C test build -o ../` + gen + ` ./e2e/cluster/samplerootfs
rm -rf bin/runtime-samples/eap
mkdir -p bin/runtime-samples/eap
cp -R runtime-samples/eap/. bin/runtime-samples/eap
` + gen + ` -recipe runtime-samples/eap -rootfs bin/runtime-samples/eap/rootfs
podman build -t quay.io/me/insights-runtime-sample-eap:v1 -f bin/runtime-samples/eap/Containerfile bin/runtime-samples/eap
podman push quay.io/me/insights-runtime-sample-eap:v1 docker://quay.io/me/insights-runtime-sample-eap:v1
podman build -t quay.io/me/insights-runtime-sample-python2:v1 -f runtime-samples/python2/Containerfile runtime-samples/python2
podman push quay.io/me/insights-runtime-sample-python2:v1 docker://quay.io/me/insights-runtime-sample-python2:v1
podman build -t quay.io/me/insights-runtime-sample-jws:v1 -f runtime-samples/jws/Containerfile runtime-samples/jws
podman push quay.io/me/insights-runtime-sample-jws:v1 docker://quay.io/me/insights-runtime-sample-jws:v1
`,
		},
		{
			name: "the samples registry wins over IMAGE_REGISTRY; buildah, flags, TLS, work dir, Go, default tag",
			env: []string{"IMAGE_REGISTRY=quay.io/me", "INSIGHTS_RUNTIME_SAMPLES_REGISTRY=127.0.0.1:5000/samples", "BUILD_TOOL=buildah",
				"BUILD_FLAGS=--pull --platform linux/amd64", "TLS_VERIFY=false", "WORK_DIR=/tmp/ctx dir", "GO=/usr/local/go/bin/go",
				"RUNTIME_SAMPLES=spring-boot"},
			want: `mkdir -p /tmp/ctx\ dir
/usr/local/go/bin/go -C test build -o /tmp/ctx\ dir/samplerootfs ./e2e/cluster/samplerootfs
rm -rf /tmp/ctx\ dir/spring-boot
mkdir -p /tmp/ctx\ dir/spring-boot
cp -R runtime-samples/spring-boot/. /tmp/ctx\ dir/spring-boot
/tmp/ctx\ dir/samplerootfs -recipe runtime-samples/spring-boot -rootfs /tmp/ctx\ dir/spring-boot/rootfs
buildah build --pull --platform linux/amd64 -t 127.0.0.1:5000/samples/insights-runtime-sample-spring-boot:latest -f /tmp/ctx\ dir/spring-boot/Containerfile /tmp/ctx\ dir/spring-boot
buildah push --tls-verify=false 127.0.0.1:5000/samples/insights-runtime-sample-spring-boot:latest docker://127.0.0.1:5000/samples/insights-runtime-sample-spring-boot:latest
`,
		},
		{
			name: "PUSH=false only builds, and no generator for source-built samples",
			env:  []string{"INSIGHTS_RUNTIME_SAMPLES_REGISTRY=r.example/x", "TAG=t", "BUILD_TOOL=podman", "PUSH=false", "RUNTIME_SAMPLES=ubi-minimal go-server"},
			want: `podman build -t r.example/x/insights-runtime-sample-ubi-minimal:t -f runtime-samples/ubi-minimal/Containerfile runtime-samples/ubi-minimal
podman build -t r.example/x/insights-runtime-sample-go-server:t -f runtime-samples/go-server/Containerfile runtime-samples/go-server
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runSamplesScript(t, tc.viaMake, append(tc.env, "DRY_RUN=1")...)
			if err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			if stdout != tc.want || stderr != "" {
				t.Errorf("stdout:\n%s\nstderr: %q\nwant stdout:\n%s", stdout, stderr, tc.want)
			}
		})
	}
}

// By default every sample a cluster runs is built, once, under the name the
// cluster e2e pulls; the node-only samples never are.
func TestRuntimeSamplesDryRunBuildsEveryClusterSample(t *testing.T) {
	samples, err := runtimesamples.List(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runSamplesScript(t, false, "IMAGE_REGISTRY=quay.io/me", "TAG=v1", "BUILD_TOOL=buildah", "PUSH=false", "DRY_RUN=1")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	var want, got []string
	for _, s := range samples {
		if s.NodeOnly {
			continue
		}
		want = append(want, "quay.io/me/insights-runtime-sample-"+s.Name+":v1")
	}
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "buildah" && f[1] == "build" && f[2] == "-t" {
			got = append(got, f[3])
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("built images:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRuntimeSamplesScriptStopsWithOneClearLine(t *testing.T) {
	// BUILD_TOOL=podman is checked for being installed before the samples are.
	debpkgtest.Need(t, "podman")
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no registry", nil,
			"runtime-samples: no registry: set INSIGHTS_RUNTIME_SAMPLES_REGISTRY or IMAGE_REGISTRY, e.g. IMAGE_REGISTRY=quay.io/<user> make runtime-samples\n"},
		{"an unknown build tool", []string{"IMAGE_REGISTRY=quay.io/me", "BUILD_TOOL=docker"},
			"runtime-samples: BUILD_TOOL must be podman or buildah, not 'docker'\n"},
		{"an unknown sample", []string{"IMAGE_REGISTRY=quay.io/me", "BUILD_TOOL=podman", "RUNTIME_SAMPLES=python nope"},
			"runtime-samples: no runtime sample 'nope' (runtime-samples/nope/Containerfile)\n"},
		{"a node-only sample", []string{"IMAGE_REGISTRY=quay.io/me", "BUILD_TOOL=podman", "RUNTIME_SAMPLES=ptrace-target"},
			"runtime-samples: 'ptrace-target' runs only on the local node of the node e2e, never on a cluster\n"},
		{"a bad PUSH", []string{"IMAGE_REGISTRY=quay.io/me", "PUSH=yes"},
			"runtime-samples: PUSH must be true or false, not 'yes'\n"},
		{"a bad DRY_RUN", []string{"IMAGE_REGISTRY=quay.io/me", "DRY_RUN=true"},
			"runtime-samples: DRY_RUN must be 1 or unset, not 'true'\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runSamplesScript(t, false, tc.env...)
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
				t.Errorf("exit: %v, want status 1", err)
			}
			if stderr != tc.want || stdout != "" {
				t.Errorf("stderr %q, stdout %q; want stderr %q only", stderr, stdout, tc.want)
			}
		})
	}
}
