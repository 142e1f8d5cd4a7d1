//go:build e2e

package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
	"github.com/openshift/insights-runtime-extractor/test/runtimesamples"
)

// sample is one runtime sample as the cluster runs it.
type sample struct {
	name string
	// recipe is set for the samples the node e2e builds too; expect for the
	// registry-only ones (runtime-samples/<name>/expect.json).
	recipe *localnode.Recipe
	expect *runtimesamples.Expect
	// generated is set for samples whose content (and command line) a
	// generator of test/samples makes: the registry image holds that
	// content but no command.
	generated *localnode.Generated
}

// loadSamples reads runtime-samples/*: every folder with a Containerfile but
// the node-only ones (only those of $RUNTIME_SAMPLES when set, as for make
// runtime-samples); for a recipe, its generator runs to know the command
// line and the framework version the generated sample holds; for a
// registry-only sample, its expect.json.
func loadSamples(ctx context.Context) ([]sample, error) {
	all, err := runtimesamples.List(repoRoot())
	if err != nil {
		return nil, err
	}
	recipes, err := localnode.LoadRecipes(repoRoot())
	if err != nil {
		return nil, err
	}
	selected, err := selectedSamples(all)
	if err != nil {
		return nil, err
	}
	gens := localnode.DefaultGenerators()
	var out []sample
	for _, rs := range all {
		if rs.NodeOnly || (selected != nil && !selected[rs.Name]) {
			continue
		}
		name := rs.Name
		if rs.Expect != nil {
			out = append(out, sample{name: name, expect: rs.Expect})
			continue
		}
		r := recipes[name]
		s := sample{name: name, recipe: r}
		if r.Generate != nil {
			gen, ok := gens[r.Generate.Generator]
			if !ok {
				return nil, fmt.Errorf("sample %s: unknown generator %q", name, r.Generate.Generator)
			}
			dir, err := os.MkdirTemp("", "insights-runtime-extractor-e2e-"+name+"-")
			if err != nil {
				return nil, err
			}
			g, err := gen(ctx, dir, r.Generate.Params)
			os.RemoveAll(dir) // only its command line and versions are needed here
			if err != nil {
				return nil, fmt.Errorf("sample %s: generator %s: %w", name, r.Generate.Generator, err)
			}
			s.generated = &g
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// selectedSamples is the set of $RUNTIME_SAMPLES (nil: every sample), e.g.
// without jws and eap7 when no Red Hat login was at hand to build them.
func selectedSamples(all []runtimesamples.Sample) (map[string]bool, error) {
	names := strings.Fields(os.Getenv("RUNTIME_SAMPLES"))
	if len(names) == 0 {
		return nil, nil
	}
	known := map[string]bool{}
	for _, s := range all {
		known[s.Name] = !s.NodeOnly
	}
	set := map[string]bool{}
	for _, n := range names {
		if !known[n] {
			return nil, fmt.Errorf("RUNTIME_SAMPLES: %q is not a runtime sample a cluster runs", n)
		}
		set[n] = true
	}
	return set, nil
}

// sampleImage is where the samples' images are pushed (see README.adoc):
// $INSIGHTS_RUNTIME_SAMPLES_REGISTRY (default $IMAGE_REGISTRY)/insights-runtime-sample-<name>:$TAG.
func sampleImage(name string) string {
	registry := os.Getenv("INSIGHTS_RUNTIME_SAMPLES_REGISTRY")
	if registry == "" {
		registry = os.Getenv("IMAGE_REGISTRY")
	}
	tag := os.Getenv("TAG")
	if tag == "" {
		tag = "latest"
	}
	return registry + "/insights-runtime-sample-" + name + ":" + tag
}

// container is the pod container that runs the sample.
func (s sample) container(name string) corev1.Container {
	c := corev1.Container{Name: name, Image: sampleImage(s.name), ImagePullPolicy: corev1.PullIfNotPresent}
	if g := s.generated; g != nil {
		c.Command = g.Cmdline
		c.WorkingDir = g.Cwd
		for _, kv := range g.Env {
			k, v, _ := strings.Cut(kv, "=")
			c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: v})
		}
	}
	return c
}

// pod is the sample's pod: one container "app" (plus a native sidecar for
// the sidecar pod).
func samplePod(name string, app sample, sidecar *sample) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"e2e.insights-runtime-extractor/sample": app.name}},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{app.container("app")},
			NodeSelector:                  map[string]string{"kubernetes.io/os": "linux"},
			TerminationGracePeriodSeconds: ptr(int64(1)),
		},
	}
	if sidecar != nil {
		c := sidecar.container("sidecar")
		always := corev1.ContainerRestartPolicyAlways
		c.RestartPolicy = &always
		p.Spec.InitContainers = []corev1.Container{c}
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// runPods creates the pods and waits until every container of each runs.
func runPods(ctx context.Context, cfg *envconf.Config, pods ...*corev1.Pod) error {
	r := cfg.Client().Resources()
	for _, p := range pods {
		if err := r.Create(ctx, p); err != nil {
			return fmt.Errorf("create pod %s: %w", p.Name, err)
		}
	}
	for _, p := range pods {
		if err := wait.For(conditions.New(r).PodReady(p), wait.WithTimeout(5*time.Minute), wait.WithInterval(2*time.Second)); err != nil {
			return fmt.Errorf("pod %s (%s) not ready after 5 minutes: %w", p.Name, p.Spec.Containers[0].Image, err)
		}
		if err := r.Get(ctx, p.Name, p.Namespace, p); err != nil {
			return err
		}
	}
	return nil
}

// entry is one container's expected fields, as the exporter writes them.
type entry map[string]any

// expectedEntry asks the running container itself what the extractor must
// report: its os-release, the runtime's own --version or JDK release file,
// Tomcat's version.sh, and the framework versions the generators wrote.
func expectedEntry(ctx context.Context, cfg *envconf.Config, s sample, pod, container string) (entry, error) {
	e := entry{}
	execRaw := func(cmd ...string) ([]byte, []byte, error) {
		var stdout, stderr bytes.Buffer
		if err := cfg.Client().Resources().ExecInPod(ctx, namespace, pod, container, cmd, &stdout, &stderr); err != nil {
			return nil, nil, fmt.Errorf("exec %q in %s/%s: %w: %s", cmd, pod, container, err, stderr.String())
		}
		return stdout.Bytes(), stderr.Bytes(), nil
	}
	exec := func(cmd ...string) (string, error) {
		stdout, stderr, err := execRaw(cmd...)
		return strings.TrimSpace(string(stdout) + string(stderr)), err
	}
	if s.expect != nil {
		return fromExpectation(s.expect, execRaw)
	}
	if s.recipe.Base == "debian12" {
		out, err := exec("cat", "/etc/os-release")
		if err != nil {
			return nil, err
		}
		kv := runtimesamples.KeyValues(out)
		e.set("os", kv["ID"])
		e.set("osVersion", kv["VERSION_ID"])
	}
	java := func() error {
		out, err := exec("sh", "-c", `cat "${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}/release"`)
		if err != nil {
			return err
		}
		kv := runtimesamples.KeyValues(out)
		e.set("kind", "Java")
		e.set("kindVersion", kv["JAVA_VERSION"])
		e.set("kindImplementer", kv["IMPLEMENTOR"])
		return nil
	}
	var err error
	switch {
	case s.name == "debian-sleep":
		// Only the OS: sleep is neither a known runtime nor Go nor GraalVM.
	case s.recipe.Go != nil:
		e.set("kind", "Golang")
		// No shell in a scratch image to ask: the version is matched against
		// the Go of the Containerfile's builder (see goVersionPattern).
		e["kindVersion"] = goVersionPattern(s)
	case s.name == "python" || s.name == "sh-wrapper":
		e.set("kind", "Python")
		var v string
		v, err = exec("python3", "--version")
		e.set("kindVersion", v)
	case s.name == "nodejs":
		e.set("kind", "Node.js")
		var v string
		v, err = exec("node", "--version")
		e.set("kindVersion", v)
	case s.name == "ruby":
		e.set("kind", "Ruby")
		var v string
		v, err = exec("ruby", "--version")
		e.set("kindVersion", v)
	case s.name == "php":
		e.set("kind", "PHP")
		var v string
		v, err = exec("php", "-r", "echo PHP_VERSION;")
		e.set("kindVersion", v)
	case s.name == "php-fpm":
		e.set("kind", "PHP")
		var out string
		if out, err = exec("php-fpm8.2", "-v"); err == nil {
			m := regexp.MustCompile(`^PHP (\S+) \(fpm-fcgi\)`).FindStringSubmatch(out)
			if m == nil {
				return nil, fmt.Errorf("no version in php-fpm8.2 -v output: %s", out)
			}
			e.set("kindVersion", m[1])
		}
	case s.name == "perl":
		e.set("kind", "Perl")
		var v string
		v, err = exec("perl", "-e", `printf "%vd", $^V`)
		e.set("kindVersion", v)
	case s.name == "erlang" || s.name == "elixir":
		e.set("kind", "Erlang/OTP")
		var v string
		v, err = exec("erl", "-noshell", "-eval",
			`{ok, V} = file:read_file(filename:join([code:root_dir(), "releases", erlang:system_info(otp_release), "OTP_VERSION"])), io:put_chars(string:trim(V)), halt().`)
		e.set("kindVersion", v)
		if err == nil && s.name == "elixir" {
			v, err = exec("elixir", "-e", "IO.write(System.version())")
			e.setRuntime("Elixir", v)
		}
	case s.name == "mono":
		e.set("kind", "Mono")
		var v string
		v, err = exec("mono", "--version=number")
		e.set("kindVersion", v)
	case s.name == "deno":
		e.set("kind", "Deno")
		var out string
		if out, err = exec("deno", "--version"); err == nil {
			if f := strings.Fields(out); len(f) > 1 && f[0] == "deno" {
				e.set("kindVersion", f[1])
			}
		}
	case s.name == "bun":
		e.set("kind", "Bun")
		var v string
		v, err = exec("bun", "--version")
		e.set("kindVersion", v)
	case s.generated != nil && s.generated.KindVersion != "":
		// What built the program (Debian's rustc) or what the fixture copies (.NET).
		e.set("kind", s.generated.Kind)
		e.set("kindVersion", s.generated.KindVersion)
	case s.name == "java-plain":
		err = java()
	case s.name == "jetty":
		if err = java(); err == nil {
			var out string
			if out, err = exec("java", "-Djetty.home=/usr/share/jetty9", "-Djetty.base=/usr/share/jetty9", "-jar", "/usr/share/jetty9/start.jar", "--version"); err == nil {
				m := regexp.MustCompile(`(?m)^\s*\d+:\s+(\S+) \| \S*/jetty9?-server[^/\s]*\.jar$`).FindStringSubmatch(out)
				if m == nil {
					return nil, fmt.Errorf("no jetty-server jar in start.jar --version output: %s", out)
				}
				e.setRuntime("Eclipse Jetty", m[1])
			}
		}
	case s.name == "jetty-embedded":
		if err = java(); err == nil {
			// Jetty's Server main prints its version (last line, after its log).
			var out string
			if out, err = exec("java", "-cp", "/usr/share/java/jetty9-server.jar:/usr/share/java/jetty9-util.jar:/usr/share/java/jetty9-http.jar:/usr/share/java/jetty9-io.jar:/usr/share/java/servlet-api.jar", "org.eclipse.jetty.server.Server"); err == nil {
				lines := strings.Split(out, "\n")
				e.setRuntime("Eclipse Jetty", strings.TrimSpace(lines[len(lines)-1]))
			}
		}
	case s.name == "dropwizard":
		// The generator's versions: Dropwizard and the Jetty it embeds.
		if err = java(); err == nil {
			e.setRuntime("Dropwizard", s.generated.RuntimeVersion)
			e["runtimes"] = append(e["runtimes"].([]any), map[string]any{"name": "Eclipse Jetty", "version": s.recipe.Generate.Params["jettyVersion"]})
		}
	case s.name == "tomcat":
		if err = java(); err == nil {
			var out string
			if out, err = exec("/usr/share/tomcat10/bin/version.sh"); err == nil {
				m := regexp.MustCompile(`Server version:\s*Apache Tomcat/(\S+)`).FindStringSubmatch(out)
				if m == nil {
					return nil, fmt.Errorf("no Server version in version.sh output: %s", out)
				}
				e.setRuntime("Apache Tomcat", m[1])
			}
		}
	case s.generated != nil && s.generated.Kind == "Java":
		if err = java(); err == nil {
			e.setRuntime(s.generated.RuntimeName, s.generated.RuntimeVersion)
		}
	case s.generated != nil:
		e.set("kind", s.generated.Kind)
		e.setRuntime(s.generated.RuntimeName, s.generated.RuntimeVersion)
	default:
		return nil, fmt.Errorf("the suite does not know what sample %s should report", s.name)
	}
	return e, err
}

func (e entry) set(k, v string) {
	if v != "" {
		e[k] = v
	}
}

func (e entry) setRuntime(name, version string) {
	item := map[string]any{"name": name}
	if version != "" {
		item["version"] = version
	}
	e["runtimes"] = []any{item}
}

// fromExpectation is the entry of a registry-only sample: its expect.json,
// every "from-image" value read from the running container.
func fromExpectation(x *runtimesamples.Expect, exec runtimesamples.Exec) (entry, error) {
	r, err := x.Resolve(exec)
	if err != nil {
		return nil, err
	}
	e := entry{}
	e.set("os", r.OS)
	e.set("osVersion", r.OSVersion)
	e.set("kind", r.Kind)
	e.set("kindVersion", r.KindVersion)
	e.set("kindImplementer", r.KindImplementer)
	var items []any
	for _, rt := range r.Runtimes {
		item := map[string]any{"name": rt.Name}
		if rt.Version != "" {
			item["version"] = rt.Version
		}
		items = append(items, item)
	}
	if items != nil {
		e["runtimes"] = items
	}
	return e, nil
}

// goVersionPattern is the Go version a sample built FROM golang:X.Y reports.
func goVersionPattern(s sample) *regexp.Regexp {
	b, _ := os.ReadFile(filepath.Join(s.recipe.Dir, "Containerfile"))
	m := regexp.MustCompile(`golang:(\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		return regexp.MustCompile(`^go1\.\d+(\.\d+)?$`)
	}
	return regexp.MustCompile(`^go` + regexp.QuoteMeta(string(m[1])) + `(\.\d+)?$`)
}
