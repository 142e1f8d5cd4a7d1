// Package workloads is the set of sample pods the node e2e, make demo and
// make bench run on the local node: which sample runs in which pod, under
// which namespace, with which pod-level settings (a sidecar, two
// containers, a non-root user, JAVA_HOME set or not).
package workloads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/debpkg"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// JavaHome is where Debian's OpenJDK 17 lives in the Debian samples.
const JavaHome = "/usr/lib/jvm/java-17-openjdk-amd64"

// Pod is one pod to run, by name.
type Pod struct {
	Spec localnode.PodSpec
	// Samples are the recipes its containers use.
	Samples []string
}

// All is every scenario of the node e2e, built from the images.
func All(im *localnode.Images) []Pod {
	return pods(im, nil)
}

// VM is every scenario but those of the samples that config.toml alone
// teaches (Ruby, Eclipse Jetty, the Java servers) and of the runtimes read
// from their files alone (PHP, Perl, Erlang/OTP, Elixir, Mono, Rust, Deno,
// Bun, .NET): the VM emulates without KVM, where each more runtime costs
// minutes (Deno and Bun are 100 MB each), and an entry of config.toml or a
// file read in the container works alike on every node, which the
// containerd and CRI-O nodes prove.
func VM(im *localnode.Images) []Pod {
	var out []Pod
	for _, p := range pods(im, nil) {
		if !notOnVM[p.Spec.Name] && p.Spec.Namespace != "java-servers" {
			out = append(out, p)
		}
	}
	return out
}

// notOnVM are the pods VM leaves out, besides the Java servers.
var notOnVM = map[string]bool{"ruby": true, "jetty": true, "php": true, "php-fpm": true, "perl": true, "erlang": true,
	"elixir": true, "mono": true, "rust": true, "deno": true, "bun": true, "dotnet": true, "dotnet-self-contained": true,
	"dotnet-single-file": true}

// Demo is the handful of pods make demo shows; it needs only DemoSamples.
func Demo(im *localnode.Images) []Pod {
	return pods(im, map[string]bool{"debian-sleep": true, "go-server": true, "python": true, "nodejs": true, "tomcat": true, "quarkus": true, "sh-wrapper": true})
}

// DemoSamples are the recipes Demo needs.
var DemoSamples = []string{"debian-sleep", "go-server", "python", "nodejs", "tomcat", "quarkus", "sh-wrapper"}

// pods lists the scenarios, keeping only the named pods when keep is not nil
// (before touching their samples, which may not have been built).
func pods(im *localnode.Images, keep map[string]bool) []Pod {
	type def struct {
		ns, name string
		samples  []string
		make     func(s func(string) *localnode.Sample) localnode.PodSpec
	}
	single := func(ns, pod, sample, container string) def {
		return def{ns, pod, []string{sample}, func(s func(string) *localnode.Sample) localnode.PodSpec {
			return localnode.PodSpec{Containers: []localnode.ContainerSpec{s(sample).Container(container)}}
		}}
	}
	uid := int64(1000)
	defs := []def{
		single("os-only", "debian-sleep", "debian-sleep", "sleep"),
		single("golang", "go-server", "go-server", "server"),
		single("python", "python", "python", "app"),
		single("nodejs", "nodejs", "nodejs", "app"),
		single("ruby", "ruby", "ruby", "app"),
		single("php", "php", "php", "app"),
		single("php", "php-fpm", "php-fpm", "fpm"),
		single("perl", "perl", "perl", "app"),
		single("beam", "erlang", "erlang", "app"),
		single("beam", "elixir", "elixir", "app"),
		single("mono", "mono", "mono", "app"),
		{"java", "java-home", []string{"java-plain"}, func(s func(string) *localnode.Sample) localnode.PodSpec {
			c := s("java-plain").Container("app")
			c.Env = append(c.Env, "JAVA_HOME="+JavaHome)
			return localnode.PodSpec{Containers: []localnode.ContainerSpec{c}}
		}},
		single("java", "java-path", "java-plain", "app"),
		single("java", "tomcat", "tomcat", "tomcat"),
		single("frameworks", "spring-boot", "spring-boot", "app"),
		single("frameworks", "quarkus", "quarkus", "app"),
		single("frameworks", "jetty", "jetty", "server"),
		single("frameworks", "wildfly", "wildfly", "server"),
		single("frameworks", "eap", "eap", "server"),
		single("frameworks", "graalvm-quarkus", "graalvm-quarkus", "app"),
		// Java servers and frameworks beyond the original (issue 15).
		single("java-servers", "jetty-embedded", "jetty-embedded", "app"),
		single("java-servers", "undertow", "undertow", "app"),
		single("java-servers", "micronaut", "micronaut", "app"),
		single("java-servers", "helidon", "helidon", "app"),
		single("java-servers", "vertx", "vertx", "app"),
		single("java-servers", "dropwizard", "dropwizard", "app"),
		single("java-servers", "open-liberty", "open-liberty", "server"),
		single("java-servers", "websphere-liberty", "websphere-liberty", "server"),
		single("java-servers", "glassfish", "glassfish", "server"),
		single("java-servers", "payara", "payara", "server"),
		single("native", "rust", "rust", "app"),
		single("js", "deno", "deno", "app"),
		single("js", "bun", "bun", "app"),
		single("dotnet", "dotnet", "dotnet", "app"),
		single("dotnet", "dotnet-self-contained", "dotnet-self-contained", "app"),
		single("dotnet", "dotnet-single-file", "dotnet-single-file", "app"),
		single("shapes", "sh-wrapper", "sh-wrapper", "app"),
		// What a fingerprint runs from a container runs in the container's namespaces,
		// under the seccomp filter: the sample's --version checks it. CAP_SYS_ADMIN lets
		// its PID 1 make net, uts and cgroup namespaces of its own: the pod's are the host's.
		{"isolation", "net-probe", []string{"net-probe-version"}, func(s func(string) *localnode.Sample) localnode.PodSpec {
			c := s("net-probe-version").Container("probe")
			c.AddCapabilities = []string{"SYS_ADMIN"}
			return localnode.PodSpec{Containers: []localnode.ContainerSpec{c}}
		}},
		{"shapes", "non-root", []string{"nodejs"}, func(s func(string) *localnode.Sample) localnode.PodSpec {
			c := s("nodejs").Container("app")
			c.RunAsUser, c.RunAsGroup = &uid, &uid
			return localnode.PodSpec{Containers: []localnode.ContainerSpec{c}}
		}},
		{"shapes", "two-containers", []string{"python", "nodejs"}, func(s func(string) *localnode.Sample) localnode.PodSpec {
			return localnode.PodSpec{Containers: []localnode.ContainerSpec{s("python").Container("python"), s("nodejs").Container("node")}}
		}},
		// A restartable init container (sidecar) is started first and keeps running.
		{"shapes", "with-sidecar", []string{"go-server", "python"}, func(s func(string) *localnode.Sample) localnode.PodSpec {
			return localnode.PodSpec{
				InitContainers: []localnode.ContainerSpec{s("go-server").Container("sidecar")},
				Containers:     []localnode.ContainerSpec{s("python").Container("app")},
			}
		}},
	}
	var out []Pod
	for _, d := range defs {
		if keep != nil && !keep[d.name] {
			continue
		}
		spec := d.make(im.Sample)
		spec.Name, spec.Namespace = d.name, d.ns
		out = append(out, Pod{Spec: spec, Samples: d.samples})
	}
	return out
}

// Packages are the Debian packages the sample builds need: the rootfs
// builder, a JDK to compile the Java samples, a static C toolchain for the
// GraalVM-like executable and the .NET fixture's host, and Debian's rustc
// for the Rust sample. Setup installs the missing ones with apt-get;
// localnode.Start installs its runtime's own. (Deno and Bun are fetched with
// the machine's npm.)
var Packages = []string{"debootstrap", "openjdk-17-jdk-headless", "gcc", "libc6-dev", "binutils", "rustc"}

// RuntimeEnv selects the node's container runtime: containerd (the
// default) or crio.
const RuntimeEnv = "IRE_NODE"

// Runtime is the runtime $IRE_NODE selects.
func Runtime() (localnode.Runtime, error) {
	r, err := localnode.ParseRuntime(os.Getenv(RuntimeEnv))
	if err != nil {
		return "", fmt.Errorf("$%s: %w", RuntimeEnv, err)
	}
	return r, nil
}

// Env is a local node with the sample images imported.
type Env struct {
	Node    *localnode.Node
	Images  *localnode.Images
	RepoDir string
	WorkDir string
	// ImportTook is how long the node took to import every image.
	ImportTook time.Duration
}

// Setup installs what is missing, builds the named samples (all when none),
// starts a private node of the runtime $IRE_NODE selects and imports the
// images. Close undoes it.
func Setup(ctx context.Context, log *slog.Logger, samples ...string) (*Env, error) {
	kind, err := Runtime()
	if err != nil {
		return nil, err
	}
	repo, err := localnode.RepoRoot()
	if err != nil {
		return nil, err
	}
	if err := debpkg.Ensure(ctx, log, Packages...); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "ire-e2e-")
	if err != nil {
		return nil, err
	}
	e := &Env{RepoDir: repo, WorkDir: work}
	b := &localnode.Builder{RepoDir: repo, WorkDir: filepath.Join(work, "images"), OCILayout: kind == localnode.CRIO, Log: log}
	if e.Images, err = b.Build(ctx, samples...); err != nil {
		e.Close()
		return nil, err
	}
	if e.Node, err = localnode.Start(ctx, localnode.Options{Runtime: kind, Dir: filepath.Join(work, "node"), Log: log}); err != nil {
		e.Close()
		return nil, err
	}
	start := time.Now()
	images := e.Images.Archive
	if e.Images.Layout != "" {
		images = e.Images.Layout // CRI-O's faster way in
	}
	if err := e.Node.Import(ctx, images); err != nil {
		e.Close()
		return nil, err
	}
	e.ImportTook = time.Since(start)
	return e, nil
}

// RunPods starts the pods in order and returns them by "namespace/name".
func (e *Env) RunPods(ctx context.Context, pods []Pod) (map[string]*localnode.Pod, error) {
	out := make(map[string]*localnode.Pod, len(pods))
	for _, p := range pods {
		running, err := e.Node.RunPod(ctx, p.Spec)
		if err != nil {
			return out, err
		}
		out[p.Spec.Namespace+"/"+p.Spec.Name] = running
	}
	return out, nil
}

// Close stops the node and removes the work directory.
func (e *Env) Close() error {
	if e == nil {
		return nil
	}
	var errs []error
	if e.Node != nil {
		errs = append(errs, e.Node.Stop())
	}
	errs = append(errs, os.RemoveAll(e.WorkDir))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tear down local node: %w", err)
	}
	return nil
}
