package release

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// operatorNamespace is where the Insights Operator runs its own DaemonSet.
const operatorNamespace = "openshift-insights"

// operatorObjects decodes manifests/operator/*.yaml, the reference copy of
// the Insights Operator's DaemonSet and what it comes with.
func operatorObjects(t *testing.T, repo string) *objects {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repo, "manifests", "operator", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests/operator/*.yaml: %v", err)
	}
	var rel []string
	for _, f := range files {
		rel = append(rel, filepath.Base(f))
	}
	o, err := decodeStrict(renderRaw(filepath.Join(repo, "manifests", "operator"), rel...)(t))
	if err != nil {
		t.Fatalf("manifests/operator: strict decoding: %v", err)
	}
	return o
}

// TestManifestsOperatorReferenceKeepsTheOperatorsShape checks that
// manifests/operator/ says what the research note says of the Insights
// Operator's DaemonSet (/work/shared/research/openshift-node.md), the shape
// our images must run in unmodified.
func TestManifestsOperatorReferenceKeepsTheOperatorsShape(t *testing.T) {
	o := operatorObjects(t, repoRoot(t))
	if len(o.daemonSets) != 1 {
		t.Fatalf("want one DaemonSet, got %d", len(o.daemonSets))
	}
	ds := o.daemonSets[0]
	if ds.Name != "insights-runtime-extractor" || ds.Namespace != operatorNamespace {
		t.Errorf("DaemonSet %s/%s, want %s/insights-runtime-extractor", ds.Namespace, ds.Name, operatorNamespace)
	}
	for _, id := range o.ids {
		if !clusterScoped[id.kind] && id.namespace != operatorNamespace {
			t.Errorf("%s is not in %s", id, operatorNamespace)
		}
	}
	spec := ds.Spec.Template.Spec
	if !spec.HostPID || spec.PriorityClassName != "openshift-user-critical" {
		t.Errorf("hostPID %v, priorityClassName %q; want true and openshift-user-critical", spec.HostPID, spec.PriorityClassName)
	}
	if psc := spec.SecurityContext; psc != nil && (psc.FSGroup != nil || psc.RunAsUser != nil) {
		t.Errorf("the operator's pod sets no fsGroup and no runAsUser, got %+v", psc)
	}
	if got := containerNames(spec.Containers); !slices.Equal(got, []string{"exporter", "extractor", "kube-rbac-proxy"}) {
		t.Fatalf("containers %v", got)
	}
	for _, c := range spec.Containers {
		want := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("200Mi")}
		if !c.Resources.Requests.Cpu().Equal(want[corev1.ResourceCPU]) || !c.Resources.Requests.Memory().Equal(want[corev1.ResourceMemory]) {
			t.Errorf("%s requests %v, want 10m CPU and 200Mi", c.Name, c.Resources.Requests)
		}
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}

	proxy := container(spec, "kube-rbac-proxy")
	for _, a := range []string{"--secure-listen-address=:8443", "--upstream=http://127.0.0.1:8000"} {
		if !slices.Contains(proxy.Args, a) {
			t.Errorf("kube-rbac-proxy args %q lack %s", proxy.Args, a)
		}
	}
	if sc := proxy.SecurityContext; sc == nil || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Error("kube-rbac-proxy: drop ALL")
	}

	exporter := container(spec, "exporter")
	if len(exporter.Command)+len(exporter.Args) != 0 {
		t.Errorf("exporter: command %q args %q; the operator passes none (the image's defaults serve 127.0.0.1:8000)", exporter.Command, exporter.Args)
	}
	if sc := exporter.SecurityContext; sc == nil || sc.RunAsUser != nil || sc.RunAsGroup != nil ||
		sc.Privileged != nil && *sc.Privileged || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("exporter securityContext %+v: want the image's user, not privileged, read-only root, drop ALL", sc)
	}

	extractor := container(spec, "extractor")
	if sc := extractor.SecurityContext; sc == nil || sc.Privileged == nil || !*sc.Privileged || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("extractor securityContext %+v: want privileged with a read-only root", sc)
	}
	if got := envValue(extractor, "CONTAINER_RUNTIME_ENDPOINT"); got != crio.endpoint {
		t.Errorf("extractor CONTAINER_RUNTIME_ENDPOINT = %q", got)
	}
	var socket bool
	for _, m := range extractor.VolumeMounts {
		if v := volumes[m.Name]; v.HostPath != nil && v.HostPath.Path == crio.hostPath && m.MountPath == "/crio.sock" {
			socket = true
		}
	}
	if !socket {
		t.Errorf("extractor does not mount %s at /crio.sock", crio.hostPath)
	}
	if p := extractor.LivenessProbe; p == nil || p.Exec == nil || !slices.Equal(p.Exec.Command, []string{"crictl", "--timeout", "10s", "info"}) ||
		p.PeriodSeconds != 30 || p.TimeoutSeconds != 10 {
		t.Errorf("extractor liveness probe %+v, want exec crictl --timeout 10s info every 30 s, 10 s timeout", p)
	}

	var data string
	for _, v := range spec.Volumes {
		if v.EmptyDir != nil {
			data = v.Name
			if v.EmptyDir.SizeLimit != nil {
				t.Errorf("emptyDir %s has a size limit %v; the operator's has none", v.Name, v.EmptyDir.SizeLimit)
			}
		}
	}
	for _, c := range []*corev1.Container{exporter, extractor} {
		if !hasMount(c, data, "/data") {
			t.Errorf("%s does not mount the emptyDir at /data", c.Name)
		}
	}
}

// TestManifestsStandaloneNeverCollideWithTheOperator renders every variant
// of manifests/ (the raw files and every kustomization, found by walking the
// tree) and checks that none creates an object of the same kind and name as
// one of the Insights Operator's (manifests/operator/), in any namespace, nor
// anything in the operator's namespace, nor a DaemonSet whose selector takes
// the operator's pods: applied on a cluster where the operator runs, ours
// would otherwise overwrite its objects or fight over its pods.
func TestManifestsStandaloneNeverCollideWithTheOperator(t *testing.T) {
	repo := repoRoot(t)
	op := operatorObjects(t, repo)
	operator := map[objectID]bool{}
	for _, id := range op.ids {
		operator[objectID{kind: id.kind, name: id.name}] = true
	}
	manifests := filepath.Join(repo, "manifests")
	variants := map[string]func(t *testing.T) []byte{
		"raw manifests/insights-runtime-extractor*.yaml": renderRaw(manifests, "insights-runtime-extractor.yaml", "insights-runtime-extractor-scc.yaml"),
	}
	err := filepath.WalkDir(manifests, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "operator" {
			return fs.SkipDir
		}
		if !d.IsDir() && d.Name() == "kustomization.yaml" {
			rel, _ := filepath.Rel(repo, filepath.Dir(path))
			variants["kustomize "+rel] = renderKustomize(filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kustomize manifests/base", "kustomize manifests/openshift", "kustomize manifests/kubernetes"} {
		if variants[want] == nil {
			t.Fatalf("%s not found", want)
		}
	}
	for name, render := range variants {
		t.Run(name, func(t *testing.T) {
			o, err := decodeStrict(render(t))
			if err != nil {
				t.Fatalf("strict decoding: %v", err)
			}
			if len(o.ids) == 0 {
				t.Fatal("no objects")
			}
			for _, id := range o.ids {
				if operator[objectID{kind: id.kind, name: id.name}] {
					t.Errorf("%s has the kind and name of an object of the Insights Operator", id)
				}
				if id.namespace == operatorNamespace || id.kind == "v1 Namespace" && id.name == operatorNamespace {
					t.Errorf("%s: %s is the Insights Operator's namespace", id, operatorNamespace)
				}
			}
			for _, ds := range o.daemonSets {
				sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
				if err != nil {
					t.Fatal(err)
				}
				for _, ods := range op.daemonSets {
					if sel.Matches(labels.Set(ods.Spec.Template.Labels)) {
						t.Errorf("DaemonSet %s selects the pods of the operator's DaemonSet %s (labels %v)", ds.Name, ods.Name, ods.Spec.Template.Labels)
					}
				}
			}
		})
	}
}

// TestManifestsEveryFileBelongsToAVariant keeps the collision test honest:
// every YAML file under manifests/ is rendered by it (a raw file, or a
// resource or patch of a kustomization), or is the operator's reference.
func TestManifestsEveryFileBelongsToAVariant(t *testing.T) {
	repo := repoRoot(t)
	manifests := filepath.Join(repo, "manifests")
	err := filepath.WalkDir(manifests, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		rel, _ := filepath.Rel(manifests, path)
		dir, name := filepath.Split(rel)
		switch {
		case dir == "operator/", dir == "" && slices.Contains([]string{"insights-runtime-extractor.yaml", "insights-runtime-extractor-scc.yaml"}, name),
			name == "kustomization.yaml":
			return nil
		}
		k, err := os.ReadFile(filepath.Join(filepath.Dir(path), "kustomization.yaml"))
		if err != nil {
			t.Errorf("manifests/%s is in no kustomization", rel)
			return nil
		}
		if !slices.ContainsFunc(splitLines(string(k)), func(l string) bool {
			return l == "- "+name || l == "- path: "+name
		}) {
			t.Errorf("manifests/%s is not named by manifests/%skustomization.yaml", rel, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, strings.TrimSpace(l))
	}
	return out
}
