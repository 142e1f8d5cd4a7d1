package release

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const appLabel = "app.kubernetes.io/name"

// securityContextConstraints mirrors the JSON fields of OpenShift's
// security.openshift.io/v1 SecurityContextConstraints (openshift/api,
// security/v1/types.go), so that a misspelt or unknown field of the SCC
// fails strict decoding like it would fail on the API server.
type securityContextConstraints struct {
	metav1.TypeMeta                 `json:",inline"`
	metav1.ObjectMeta               `json:"metadata,omitempty"`
	Priority                        *int32                    `json:"priority"`
	AllowPrivilegedContainer        bool                      `json:"allowPrivilegedContainer"`
	DefaultAddCapabilities          []corev1.Capability       `json:"defaultAddCapabilities"`
	RequiredDropCapabilities        []corev1.Capability       `json:"requiredDropCapabilities"`
	AllowedCapabilities             []corev1.Capability       `json:"allowedCapabilities"`
	AllowHostDirVolumePlugin        bool                      `json:"allowHostDirVolumePlugin"`
	Volumes                         []string                  `json:"volumes"`
	AllowedFlexVolumes              []struct{ Driver string } `json:"allowedFlexVolumes,omitempty"`
	AllowHostNetwork                bool                      `json:"allowHostNetwork"`
	AllowHostPorts                  bool                      `json:"allowHostPorts"`
	AllowHostPID                    bool                      `json:"allowHostPID"`
	AllowHostIPC                    bool                      `json:"allowHostIPC"`
	DefaultAllowPrivilegeEscalation *bool                     `json:"defaultAllowPrivilegeEscalation,omitempty"`
	AllowPrivilegeEscalation        *bool                     `json:"allowPrivilegeEscalation,omitempty"`
	SELinuxContext                  sccStrategy               `json:"seLinuxContext,omitempty"`
	RunAsUser                       sccStrategy               `json:"runAsUser,omitempty"`
	SupplementalGroups              sccStrategy               `json:"supplementalGroups,omitempty"`
	FSGroup                         sccStrategy               `json:"fsGroup,omitempty"`
	ReadOnlyRootFilesystem          bool                      `json:"readOnlyRootFilesystem"`
	Users                           []string                  `json:"users"`
	Groups                          []string                  `json:"groups"`
	SeccompProfiles                 []string                  `json:"seccompProfiles,omitempty"`
	AllowedUnsafeSysctls            []string                  `json:"allowedUnsafeSysctls,omitempty"`
	ForbiddenSysctls                []string                  `json:"forbiddenSysctls,omitempty"`
}

// sccStrategy is the union of the SCC strategy options; only the type is used here.
type sccStrategy struct {
	Type string `json:"type,omitempty"`
}

// objects is one decoded manifest set.
type objects struct {
	daemonSets          []appsv1.DaemonSet
	serviceAccounts     []corev1.ServiceAccount
	namespaces          []corev1.Namespace
	services            []corev1.Service
	networkPolicies     []networkingv1.NetworkPolicy
	roles               []rbacv1.Role
	roleBindings        []rbacv1.RoleBinding
	clusterRoles        []rbacv1.ClusterRole
	clusterRoleBindings []rbacv1.ClusterRoleBinding
	sccs                []securityContextConstraints
	ids                 []objectID // every object, in stream order
}

// objectID is what the API server keys an object by.
type objectID struct {
	kind      string // apiVersion and kind
	namespace string // "" for a cluster-scoped kind, whatever the manifest says
	name      string
}

func (id objectID) String() string {
	if id.namespace == "" {
		return id.kind + " " + id.name
	}
	return id.kind + " " + id.namespace + "/" + id.name
}

// clusterScoped are the kinds of the manifests that have no namespace
// (kustomize writes one into the SCC, which it does not know; the API server
// ignores it).
var clusterScoped = map[string]bool{
	"v1 Namespace": true,
	"security.openshift.io/v1 SecurityContextConstraints": true,
	"rbac.authorization.k8s.io/v1 ClusterRole":            true,
	"rbac.authorization.k8s.io/v1 ClusterRoleBinding":     true,
}

// decodeStrict decodes every YAML document of a manifest stream into its
// k8s.io/api type, refusing unknown fields, duplicate fields and unknown kinds.
func decodeStrict(stream []byte) (*objects, error) {
	var o objects
	for i, doc := range splitYAML(stream) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		id := objectID{kind: tm.APIVersion + " " + tm.Kind, namespace: meta.Metadata.Namespace, name: meta.Metadata.Name}
		if clusterScoped[id.kind] {
			id.namespace = ""
		}
		o.ids = append(o.ids, id)
		var err error
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Service":
			err = appendStrict(doc, &o.services)
		case "networking.k8s.io/v1 NetworkPolicy":
			err = appendStrict(doc, &o.networkPolicies)
		case "rbac.authorization.k8s.io/v1 ClusterRole":
			err = appendStrict(doc, &o.clusterRoles)
		case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
			err = appendStrict(doc, &o.clusterRoleBindings)
		case "apps/v1 DaemonSet":
			err = appendStrict(doc, &o.daemonSets)
		case "v1 ServiceAccount":
			err = appendStrict(doc, &o.serviceAccounts)
		case "v1 Namespace":
			err = appendStrict(doc, &o.namespaces)
		case "rbac.authorization.k8s.io/v1 Role":
			err = appendStrict(doc, &o.roles)
		case "rbac.authorization.k8s.io/v1 RoleBinding":
			err = appendStrict(doc, &o.roleBindings)
		case "security.openshift.io/v1 SecurityContextConstraints":
			err = appendStrict(doc, &o.sccs)
		default:
			err = fmt.Errorf("unexpected kind %q", tm.APIVersion+" "+tm.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, tm.Kind, err)
		}
	}
	return &o, nil
}

// appendStrict decodes like the API server does: case-sensitive field names
// (sigs.k8s.io/yaml alone would accept "hostPid" for hostPID), no unknown and
// no duplicate fields.
func appendStrict[T any](doc []byte, to *[]T) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	var v T
	strictErrs, err := sigsjson.UnmarshalStrict(j, &v)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		return errors.Join(strictErrs...)
	}
	*to = append(*to, v)
	return nil
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

func splitYAML(stream []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSeparator.Split(string(stream), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(d)))) > 0 {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// runtimeSocket is what a variant of the DaemonSet must mount for its CRI.
type runtimeSocket struct {
	hostPath string // the socket on the node
	endpoint string // CONTAINER_RUNTIME_ENDPOINT inside the extractor
}

var (
	crio       = runtimeSocket{hostPath: "/run/crio/crio.sock", endpoint: "unix:///crio.sock"}
	containerd = runtimeSocket{hostPath: "/run/containerd/containerd.sock", endpoint: "unix:///containerd.sock"}
)

const (
	// standalone is the name of our DaemonSet and of every object of ours
	// (with a suffix): never one of the Insights Operator's names.
	standalone = "insights-runtime-extractor-standalone"
	// defaultNamespace is where both kustomize variants deploy.
	defaultNamespace = "insights-runtime-extractor"
	// proxyPort is kube-rbac-proxy's, the only port of the pod.
	proxyPort = 8443
	// servingCertAnnotation makes OpenShift's service-ca write a serving certificate.
	servingCertAnnotation = "service.beta.openshift.io/serving-cert-secret-name"
)

// renderRaw concatenates manifests files (relative to dir) into one stream.
func renderRaw(dir string, files ...string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			all = append(append(all, b...), []byte("\n---\n")...)
		}
		return all
	}
}

// renderKustomize builds the kustomization in dir with sigs.k8s.io/kustomize.
func renderKustomize(dir string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
		m, err := k.Run(filesys.MakeFsOnDisk(), dir)
		if err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
		b, err := m.AsYaml()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// movedVariant copies manifests/{base,<variant>} into a temporary directory
// with the variant's `namespace:` changed, as the README tells users to do,
// and returns the copy of the variant.
func movedVariant(t *testing.T, repo, variant, namespace string) string {
	t.Helper()
	dst := t.TempDir()
	for _, dir := range []string{"base", variant} {
		entries, err := os.ReadDir(filepath.Join(repo, "manifests", dir))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(repo, "manifests", dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if dir == variant && e.Name() == "kustomization.yaml" {
				re := regexp.MustCompile(`(?m)^namespace: ` + defaultNamespace + `$`)
				if !re.Match(b) {
					t.Fatalf("manifests/%s/kustomization.yaml has no line `namespace: %s`", variant, defaultNamespace)
				}
				b = re.ReplaceAll(b, []byte("namespace: "+namespace))
			}
			if err := os.WriteFile(filepath.Join(dst, dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(dst, variant)
}

// TestManifestsDecodeStrictlyAndKeepTheirInvariants decodes the raw
// manifests and both kustomize renderings (OpenShift on CRI-O, Kubernetes on
// containerd) into k8s.io/api types and checks what the product relies on.
func TestManifestsDecodeStrictlyAndKeepTheirInvariants(t *testing.T) {
	repo := repoRoot(t)
	flags := binaryFlags(t, repo)
	manifests := filepath.Join(repo, "manifests")
	tests := []struct {
		name      string
		render    func(t *testing.T) []byte
		socket    runtimeSocket
		openshift bool   // SCC, Role, RoleBinding and the service-ca annotation present
		namespace string // every namespaced object's namespace ("" for none)
		subjectNS string // the namespace of the ServiceAccount the ClusterRoleBinding names
	}{
		{name: "raw OpenShift manifests", render: renderRaw(manifests, "insights-runtime-extractor.yaml", "insights-runtime-extractor-scc.yaml"),
			socket: crio, openshift: true, subjectNS: defaultNamespace},
		{name: "kustomize OpenShift variant", render: renderKustomize(filepath.Join(manifests, "openshift")),
			socket: crio, openshift: true, namespace: defaultNamespace, subjectNS: defaultNamespace},
		{name: "kustomize Kubernetes containerd overlay", render: renderKustomize(filepath.Join(manifests, "kubernetes")),
			socket: containerd, namespace: defaultNamespace, subjectNS: defaultNamespace},
		{name: "kustomize OpenShift variant moved to another namespace", render: func(t *testing.T) []byte {
			return renderKustomize(movedVariant(t, repo, "openshift", "elsewhere"))(t)
		}, socket: crio, openshift: true, namespace: "elsewhere", subjectNS: "elsewhere"},
		{name: "kustomize Kubernetes overlay moved to another namespace", render: func(t *testing.T) []byte {
			return renderKustomize(movedVariant(t, repo, "kubernetes", "elsewhere"))(t)
		}, socket: containerd, namespace: "elsewhere", subjectNS: "elsewhere"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := decodeStrict(tc.render(t))
			if err != nil {
				t.Fatalf("strict decoding: %v", err)
			}
			if len(o.daemonSets) != 1 || len(o.serviceAccounts) != 1 {
				t.Fatalf("want one DaemonSet and one ServiceAccount, got %d and %d", len(o.daemonSets), len(o.serviceAccounts))
			}
			ds := &o.daemonSets[0]
			checkDaemonSet(t, ds, tc.socket, flags)
			if ds.Spec.Template.Spec.ServiceAccountName != o.serviceAccounts[0].Name {
				t.Errorf("DaemonSet runs as ServiceAccount %q, the manifests create %q", ds.Spec.Template.Spec.ServiceAccountName, o.serviceAccounts[0].Name)
			}
			if tc.openshift {
				checkSCC(t, o, ds)
			} else if len(o.sccs)+len(o.roles)+len(o.roleBindings) != 0 {
				t.Errorf("Kubernetes variant holds OpenShift objects: %d SCC, %d Role, %d RoleBinding", len(o.sccs), len(o.roles), len(o.roleBindings))
			}
			checkAccess(t, o, ds, tc.openshift, tc.subjectNS)
			for _, id := range o.ids {
				if !clusterScoped[id.kind] && id.namespace != tc.namespace {
					t.Errorf("%s is in namespace %q, want %q", id, id.namespace, tc.namespace)
				}
			}
			if tc.namespace != "" {
				// Both kustomize variants create their namespace, admitting a privileged, hostPID pod.
				if len(o.namespaces) != 1 {
					t.Fatalf("want one Namespace, got %d", len(o.namespaces))
				}
				if ns := o.namespaces[0]; ns.Name != tc.namespace {
					t.Errorf("the variant creates namespace %s, its objects are in %s", ns.Name, tc.namespace)
				}
				if got := o.namespaces[0].Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
					t.Errorf("namespace %s enforces Pod Security level %q, want privileged", o.namespaces[0].Name, got)
				}
				if tc.openshift && o.namespaces[0].Labels["security.openshift.io/scc.podSecurityLabelSync"] != "false" {
					t.Errorf("namespace %s: OpenShift's label syncer would lower its Pod Security level: set security.openshift.io/scc.podSecurityLabelSync: \"false\"", o.namespaces[0].Name)
				}
			}
		})
	}
}

func checkDaemonSet(t *testing.T, ds *appsv1.DaemonSet, socket runtimeSocket, flags map[string][]string) {
	t.Helper()
	if ds.Name != standalone || ds.Labels[appLabel] != "insights-runtime-extractor" {
		t.Errorf("DaemonSet %q labels %v", ds.Name, ds.Labels)
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || sel.Empty() {
		t.Fatalf("DaemonSet selector %v: %v", ds.Spec.Selector, err)
	}
	pod := ds.Spec.Template
	if pod.Labels[appLabel] != "insights-runtime-extractor" {
		// scripts/extract.sh finds the pods by this label.
		t.Errorf("pod label %s = %q", appLabel, pod.Labels[appLabel])
	}
	if !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("selector %v does not match the pod labels %v", ds.Spec.Selector, pod.Labels)
	}
	spec := pod.Spec
	if !spec.HostPID {
		t.Error("hostPID is not set: the coordinator needs the host's processes")
	}
	if spec.HostNetwork || spec.HostIPC {
		t.Error("the pod must not share the host's network or IPC")
	}
	if spec.NodeSelector["kubernetes.io/os"] != "linux" {
		t.Errorf("nodeSelector = %v, want kubernetes.io/os: linux", spec.NodeSelector)
	}
	if got := containerNames(spec.Containers); !slices.Equal(got, []string{"exporter", "extractor", "kube-rbac-proxy"}) {
		t.Fatalf("containers = %v, want exporter, extractor and kube-rbac-proxy", got)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	var dataVolume string
	for _, v := range spec.Volumes {
		if v.EmptyDir != nil {
			dataVolume = v.Name
		}
	}
	if dataVolume == "" {
		t.Fatal("no emptyDir volume to share /data")
	}
	exporter, extractor, proxy := container(spec, "exporter"), container(spec, "extractor"), container(spec, "kube-rbac-proxy")
	for _, c := range []*corev1.Container{exporter, extractor} {
		if !hasMount(c, dataVolume, "/data") {
			t.Errorf("%s does not mount the emptyDir %s at /data", c.Name, dataVolume)
		}
		if len(c.Command) == 0 || c.Command[0] != "/"+c.Name && !(c.Name == "extractor" && c.Command[0] == "/extractor_server") {
			t.Errorf("%s: command %q does not start the image's binary", c.Name, c.Command)
		}
		if len(c.Command) > 0 {
			checkFlags(t, c.Name, c.Command[1:], flags[filepath.Base(c.Command[0])])
		}
		// Only kube-rbac-proxy is reachable from outside the pod.
		if len(c.Ports) != 0 {
			t.Errorf("%s exposes ports %+v: only kube-rbac-proxy may", c.Name, c.Ports)
		}
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: root file system not read-only", c.Name)
		}
		if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
			t.Errorf("%s: terminationMessagePolicy = %q", c.Name, c.TerminationMessagePolicy)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			t.Errorf("%s: cpu and memory requests must be set, got %v", c.Name, c.Resources.Requests)
		}
	}

	// extractor: privileged, with the CRI socket.
	if sc := extractor.SecurityContext; sc == nil || sc.Privileged == nil || !*sc.Privileged {
		t.Error("extractor is not privileged")
	}
	mountPath := strings.TrimPrefix(socket.endpoint, "unix://")
	if got := envValue(extractor, "CONTAINER_RUNTIME_ENDPOINT"); got != socket.endpoint {
		t.Errorf("extractor CONTAINER_RUNTIME_ENDPOINT = %q, want %q", got, socket.endpoint)
	}
	var socketMounted bool
	for _, m := range extractor.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Errorf("extractor mounts the unknown volume %q", m.Name)
			continue
		}
		if v.HostPath != nil {
			if m.MountPath != mountPath || v.HostPath.Path != socket.hostPath ||
				v.HostPath.Type == nil || *v.HostPath.Type != corev1.HostPathSocket {
				t.Errorf("extractor mounts host path %s (type %v) at %s, want the socket %s at %s",
					v.HostPath.Path, v.HostPath.Type, m.MountPath, socket.hostPath, mountPath)
			}
			socketMounted = true
		}
	}
	if !socketMounted {
		t.Errorf("extractor does not mount the CRI socket %s", socket.hostPath)
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil && v.HostPath.Path != socket.hostPath {
			t.Errorf("volume %s: unexpected host path %s", v.Name, v.HostPath.Path)
		}
	}
	wantArgs := map[string]string{"-fingerprints-dir": "/", "-data-dir": "/data", "-config": "/config.toml", "-coordinator": "/coordinator"}
	checkArgValues(t, "extractor", extractor.Command[1:], wantArgs)

	// exporter and kube-rbac-proxy: no privileges at all.
	for _, c := range []*corev1.Container{exporter, proxy} {
		sc := c.SecurityContext
		if sc == nil || sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s is privileged", c.Name)
			continue
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", c.Name)
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
			t.Errorf("%s capabilities = %+v, want drop ALL, add none", c.Name, sc.Capabilities)
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Errorf("%s: runAsNonRoot with a non-zero runAsUser is required", c.Name)
		}
		for _, m := range c.VolumeMounts {
			if v := volumes[m.Name]; v.HostPath != nil {
				t.Errorf("%s mounts the host path %s", c.Name, v.HostPath.Path)
			}
		}
	}
	// The unprivileged exporter reads and deletes what the extractor writes in /data.
	if sc, psc := exporter.SecurityContext, spec.SecurityContext; sc == nil || psc == nil || psc.FSGroup == nil || sc.RunAsGroup == nil || *psc.FSGroup != *sc.RunAsGroup {
		t.Error("the pod's fsGroup must be the exporter's group, so that /data is writable for it")
	}
	// The exporter serves loopback only: kube-rbac-proxy is the way in.
	checkArgValues(t, "exporter", exporter.Command[1:], map[string]string{"-bind": "127.0.0.1", "-port": "8000", "-data-dir": "/data"})
	if exporter.LivenessProbe == nil || exporter.ReadinessProbe == nil {
		t.Error("exporter needs liveness and readiness probes")
	}
	ignored := checkProxy(t, spec, proxy, volumes)
	for _, p := range []*corev1.Probe{exporter.LivenessProbe, exporter.ReadinessProbe} {
		// The kubelet cannot reach the exporter's 127.0.0.1: it probes through
		// the proxy, on a path the proxy passes on unauthenticated, that runs
		// no scan.
		if p == nil {
			continue
		}
		g := p.HTTPGet
		if g == nil || g.Scheme != corev1.URISchemeHTTPS || g.Port.IntValue() != proxyPort ||
			!slices.Contains([]string{"/healthz", "/readyz"}, g.Path) || !slices.Contains(ignored, g.Path) {
			t.Errorf("exporter probe %+v, want an HTTPS GET of /healthz or /readyz on the proxy's port %d, a path of its --ignore-paths %v", p.ProbeHandler, proxyPort, ignored)
		}
	}
}

// checkProxy checks kube-rbac-proxy: TLS on :8443, the exporter's loopback
// as its upstream, the serving certificate from a secret, its own token
// (and only it), a pinned image. It returns its --ignore-paths.
func checkProxy(t *testing.T, spec corev1.PodSpec, proxy *corev1.Container, volumes map[string]corev1.Volume) []string {
	t.Helper()
	if len(proxy.Command) != 0 {
		t.Errorf("kube-rbac-proxy: command %q replaces the image's entrypoint", proxy.Command)
	}
	args := map[string]string{}
	for _, a := range proxy.Args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(k, "--") {
			t.Errorf("kube-rbac-proxy: argument %q is not --flag=value", a)
		}
		if _, dup := args[k]; dup {
			t.Errorf("kube-rbac-proxy: %s given twice", k)
		}
		args[k] = v
	}
	for flag, want := range map[string]string{
		"--secure-listen-address": ":8443",
		"--upstream":              "http://127.0.0.1:8000",
	} {
		if args[flag] != want {
			t.Errorf("kube-rbac-proxy: %s = %q, want %q", flag, args[flag], want)
		}
	}
	for _, flag := range []string{"--insecure-listen-address", "--allow-paths", "--config-file"} {
		if _, ok := args[flag]; ok {
			t.Errorf("kube-rbac-proxy: %s is set", flag)
		}
	}
	// Unauthenticated paths: at most the probes', never a scan or the metrics.
	var ignored []string
	if v, ok := args["--ignore-paths"]; ok {
		ignored = strings.Split(v, ",")
	}
	for _, p := range ignored {
		if p != "/healthz" && p != "/readyz" {
			t.Errorf("kube-rbac-proxy passes %q on without authentication: only /healthz and /readyz may be", p)
		}
	}
	// The serving certificate: both files from the mount of one secret volume.
	var certDir string
	for _, m := range proxy.VolumeMounts {
		if v := volumes[m.Name]; v.Secret != nil {
			certDir = m.MountPath
			if v.Secret.Optional != nil && *v.Secret.Optional {
				t.Errorf("kube-rbac-proxy: the TLS secret %s is optional: the proxy cannot start without it", v.Secret.SecretName)
			}
		}
	}
	if certDir == "" || args["--tls-cert-file"] != certDir+"/tls.crt" || args["--tls-private-key-file"] != certDir+"/tls.key" {
		t.Errorf("kube-rbac-proxy: --tls-cert-file %q, --tls-private-key-file %q, want tls.crt and tls.key of its secret volume's mount %q",
			args["--tls-cert-file"], args["--tls-private-key-file"], certDir)
	}
	if !slices.Contains([]string{"VersionTLS12", "VersionTLS13"}, args["--tls-min-version"]) {
		t.Errorf("kube-rbac-proxy: --tls-min-version = %q, want VersionTLS12 or VersionTLS13", args["--tls-min-version"])
	}
	if len(proxy.Ports) != 1 || proxy.Ports[0].ContainerPort != proxyPort || proxy.Ports[0].Name != "https" ||
		proxy.Ports[0].Protocol != corev1.ProtocolTCP || proxy.Ports[0].HostPort != 0 {
		t.Errorf("kube-rbac-proxy ports %+v, want only https: %d/TCP, no host port", proxy.Ports, proxyPort)
	}
	if proxy.LivenessProbe == nil {
		t.Error("kube-rbac-proxy needs a liveness probe")
	}
	// Pinned by tag (or digest), never latest.
	if ref := proxy.Image; !strings.Contains(ref, "@sha256:") {
		i := strings.LastIndex(ref, ":")
		if i < 0 || strings.Contains(ref[i:], "/") || ref[i+1:] == "latest" {
			t.Errorf("kube-rbac-proxy image %q is not pinned by tag or digest", ref)
		}
	}
	// The service account token: the proxy's alone (TokenReview,
	// SubjectAccessReview); the privileged extractor and the exporter get none.
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken must be false: the token is mounted into kube-rbac-proxy only")
	}
	const tokenDir = "/var/run/secrets/kubernetes.io/serviceaccount"
	for _, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			v := volumes[m.Name]
			hasToken := v.Projected != nil && slices.ContainsFunc(v.Projected.Sources, func(s corev1.VolumeProjection) bool { return s.ServiceAccountToken != nil })
			switch {
			case hasToken && c.Name != proxy.Name:
				t.Errorf("%s mounts the service account token (volume %s)", c.Name, m.Name)
			case hasToken && (m.MountPath != tokenDir || !m.ReadOnly):
				t.Errorf("kube-rbac-proxy mounts its token at %s (read-only %v), want %s read-only", m.MountPath, m.ReadOnly, tokenDir)
			case v.Secret != nil && c.Name != proxy.Name:
				t.Errorf("%s mounts the secret %s", c.Name, v.Secret.SecretName)
			}
		}
	}
	if !slices.ContainsFunc(proxy.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == tokenDir }) {
		t.Errorf("kube-rbac-proxy has no service account token at %s: it cannot ask the API server", tokenDir)
	}
	return ignored
}

// checkAccess checks what stands around the proxy: the Service that gets its
// certificate (service-ca on OpenShift), the NetworkPolicy that admits its
// port only, and the RBAC it needs.
func checkAccess(t *testing.T, o *objects, ds *appsv1.DaemonSet, openshift bool, subjectNS string) {
	t.Helper()
	pod := ds.Spec.Template
	var secret string
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			secret = v.Secret.SecretName
		}
	}

	if len(o.services) != 1 {
		t.Fatalf("want one Service, got %d", len(o.services))
	}
	svc := o.services[0]
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
		t.Errorf("Service %s selects %v, not the pod (%v)", svc.Name, svc.Spec.Selector, pod.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != proxyPort || svc.Spec.Ports[0].TargetPort.String() != "https" {
		t.Errorf("Service %s ports %+v, want only %d to the proxy's https port", svc.Name, svc.Spec.Ports, proxyPort)
	}
	if got := svc.Annotations[servingCertAnnotation]; openshift && got != secret {
		t.Errorf("Service %s: %s = %q, want the proxy's TLS secret %q", svc.Name, servingCertAnnotation, got, secret)
	} else if !openshift && got != "" {
		t.Errorf("Service %s asks for an OpenShift serving certificate on Kubernetes", svc.Name)
	}

	if len(o.networkPolicies) != 1 {
		t.Fatalf("want one NetworkPolicy, got %d", len(o.networkPolicies))
	}
	np := o.networkPolicies[0]
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("NetworkPolicy %s selects %v, not the pod (%v): %v", np.Name, np.Spec.PodSelector, pod.Labels, err)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		t.Errorf("NetworkPolicy %s policyTypes %v do not include Ingress", np.Name, np.Spec.PolicyTypes)
	}
	if len(np.Spec.Ingress) == 0 {
		t.Errorf("NetworkPolicy %s admits nothing: the proxy's port must stay reachable", np.Name)
	}
	for _, rule := range np.Spec.Ingress {
		if len(rule.Ports) == 0 {
			t.Errorf("NetworkPolicy %s: an ingress rule without ports admits every port", np.Name)
		}
		for _, p := range rule.Ports {
			if p.Port == nil || !(p.Port.IntValue() == proxyPort || p.Port.String() == "https") || p.EndPort != nil ||
				p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
				t.Errorf("NetworkPolicy %s admits %+v: only TCP %d", np.Name, p, proxyPort)
			}
		}
	}

	// kube-rbac-proxy: TokenReview and SubjectAccessReview for its ServiceAccount.
	var delegated bool
	for _, crb := range o.clusterRoleBindings {
		if crb.RoleRef.Kind != "ClusterRole" || crb.RoleRef.Name != "system:auth-delegator" {
			t.Errorf("ClusterRoleBinding %s grants %s %s: only system:auth-delegator is expected", crb.Name, crb.RoleRef.Kind, crb.RoleRef.Name)
			continue
		}
		for _, s := range crb.Subjects {
			if s.Kind != rbacv1.ServiceAccountKind || s.Name != pod.Spec.ServiceAccountName || s.Namespace != subjectNS {
				t.Errorf("ClusterRoleBinding %s: subject %+v, want the ServiceAccount %s/%s", crb.Name, s, subjectNS, pod.Spec.ServiceAccountName)
			} else {
				delegated = true
			}
		}
	}
	if !delegated {
		t.Error("no ClusterRoleBinding gives the proxy's ServiceAccount system:auth-delegator: it cannot check a caller")
	}
	// The readers' ClusterRole: the exporter's URLs, nothing else.
	for _, cr := range o.clusterRoles {
		for _, r := range cr.Rules {
			if len(r.Resources)+len(r.APIGroups)+len(r.ResourceNames) != 0 || len(r.NonResourceURLs) == 0 ||
				slices.ContainsFunc(r.NonResourceURLs, func(u string) bool { return strings.Contains(u, "*") }) ||
				slices.ContainsFunc(r.Verbs, func(v string) bool { return v != "get" && v != "create" }) {
				t.Errorf("ClusterRole %s rule %+v: want get/create on the exporter's URLs only", cr.Name, r)
			}
		}
	}
}

func checkSCC(t *testing.T, o *objects, ds *appsv1.DaemonSet) {
	t.Helper()
	if len(o.sccs) != 1 || len(o.roles) != 1 || len(o.roleBindings) != 1 {
		t.Fatalf("want one SCC, Role and RoleBinding, got %d, %d, %d", len(o.sccs), len(o.roles), len(o.roleBindings))
	}
	scc, role, rb := o.sccs[0], o.roles[0], o.roleBindings[0]
	if !scc.AllowPrivilegedContainer || !scc.AllowHostPID || !scc.AllowHostDirVolumePlugin {
		t.Errorf("SCC must allow privileged containers, hostPID and hostPath: %+v", scc)
	}
	if scc.AllowHostNetwork || scc.AllowHostIPC || scc.AllowHostPorts {
		t.Error("SCC allows more host sharing than the pod needs")
	}
	for _, v := range ds.Spec.Template.Spec.Volumes {
		var kind string
		switch {
		case v.EmptyDir != nil:
			kind = "emptyDir"
		case v.HostPath != nil:
			kind = "hostPath"
		case v.Secret != nil:
			kind = "secret"
		case v.Projected != nil:
			kind = "projected"
		default:
			t.Errorf("volume %s: a kind this check does not know", v.Name)
		}
		if !slices.Contains(scc.Volumes, kind) {
			t.Errorf("SCC volumes %v do not admit the %s volume %s", scc.Volumes, kind, v.Name)
		}
	}
	for _, s := range []sccStrategy{scc.RunAsUser, scc.FSGroup, scc.SELinuxContext, scc.SupplementalGroups} {
		if s.Type != "RunAsAny" {
			t.Errorf("SCC strategy %q: the pod sets fixed users and groups, want RunAsAny", s.Type)
		}
	}
	if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Verbs, []string{"use"}) ||
		!slices.Equal(role.Rules[0].Resources, []string{"securitycontextconstraints"}) ||
		!slices.Equal(role.Rules[0].ResourceNames, []string{scc.Name}) ||
		!slices.Equal(role.Rules[0].APIGroups, []string{"security.openshift.io"}) {
		t.Errorf("Role %s rules %+v, want exactly: use securitycontextconstraints/%s", role.Name, role.Rules, scc.Name)
	}
	if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != role.Name || rb.RoleRef.APIGroup != rbacv1.GroupName {
		t.Errorf("RoleBinding refers to %+v, want Role %s", rb.RoleRef, role.Name)
	}
	if len(rb.Subjects) != 1 || rb.Subjects[0].Kind != rbacv1.ServiceAccountKind ||
		rb.Subjects[0].Name != ds.Spec.Template.Spec.ServiceAccountName {
		t.Errorf("RoleBinding subjects %+v, want the ServiceAccount %s", rb.Subjects, ds.Spec.Template.Spec.ServiceAccountName)
	}
}

// binaryFlags builds the exporter and extractor_server and lists the flags
// each one accepts (from its -h output), so that the manifests cannot pass a
// flag the binaries do not know.
func binaryFlags(t *testing.T, repo string) map[string][]string {
	t.Helper()
	dir := t.TempDir()
	flags := map[string][]string{}
	for _, name := range []string{"exporter", "extractor_server"} {
		bin := filepath.Join(dir, name)
		build := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
		build.Dir = repo
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/%s: %v: %s", name, err, out)
		}
		out, _ := exec.Command(bin, "-h").CombinedOutput()
		for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
			flags[name] = append(flags[name], "-"+m[1])
		}
		if len(flags[name]) == 0 {
			t.Fatalf("%s -h lists no flags: %s", name, out)
		}
	}
	return flags
}

func checkFlags(t *testing.T, name string, args, known []string) {
	t.Helper()
	for i := 0; i < len(args); i += 2 {
		if !slices.Contains(known, args[i]) {
			t.Errorf("%s: argument %q is not a flag of the binary (it has %v)", name, args[i], known)
		}
	}
}

func checkArgValues(t *testing.T, name string, args []string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for i := 0; i+1 < len(args); i += 2 {
		got[args[i]] = args[i+1]
	}
	for flag, v := range want {
		if got[flag] != v {
			t.Errorf("%s: %s = %q, want %q", name, flag, got[flag], v)
		}
	}
}

func containerNames(cs []corev1.Container) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return names
}

func container(spec corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
}

func hasMount(c *corev1.Container, volume, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == volume && m.MountPath == path {
			return true
		}
	}
	return false
}

func envValue(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
