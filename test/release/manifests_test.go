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
	daemonSets      []appsv1.DaemonSet
	serviceAccounts []corev1.ServiceAccount
	namespaces      []corev1.Namespace
	roles           []rbacv1.Role
	roleBindings    []rbacv1.RoleBinding
	sccs            []securityContextConstraints
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
		var err error
		switch tm.APIVersion + " " + tm.Kind {
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

// TestManifestsDecodeStrictlyAndKeepTheirInvariants decodes the raw
// manifests and both kustomize renderings (OpenShift on CRI-O, Kubernetes on
// containerd) into k8s.io/api types and checks what the product relies on.
func TestManifestsDecodeStrictlyAndKeepTheirInvariants(t *testing.T) {
	repo := repoRoot(t)
	flags := binaryFlags(t, repo)
	raw := func(files ...string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			var all []byte
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(repo, "manifests", f))
				if err != nil {
					t.Fatal(err)
				}
				all = append(append(all, b...), []byte("\n---\n")...)
			}
			return all
		}
	}
	kustomize := func(dir string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
			m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repo, "manifests", dir))
			if err != nil {
				t.Fatalf("kustomize build manifests/%s: %v", dir, err)
			}
			b, err := m.AsYaml()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	tests := []struct {
		name      string
		render    func(t *testing.T) []byte
		socket    runtimeSocket
		openshift bool   // SCC, Role and RoleBinding present
		namespace string // every namespaced object's namespace ("" for none)
	}{
		{name: "raw OpenShift manifests", render: raw("insights-runtime-extractor.yaml", "insights-runtime-extractor-scc.yaml"), socket: crio, openshift: true},
		{name: "kustomize OpenShift variant", render: kustomize("openshift"), socket: crio, openshift: true, namespace: "openshift-insights"},
		{name: "kustomize Kubernetes containerd overlay", render: kustomize("kubernetes"), socket: containerd, namespace: "insights-runtime-extractor"},
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
			namespaced := []metav1.ObjectMeta{ds.ObjectMeta, o.serviceAccounts[0].ObjectMeta}
			for _, r := range o.roles {
				namespaced = append(namespaced, r.ObjectMeta)
			}
			for _, rb := range o.roleBindings {
				namespaced = append(namespaced, rb.ObjectMeta)
			}
			for _, m := range namespaced {
				if m.Namespace != tc.namespace {
					t.Errorf("%s is in namespace %q, want %q", m.Name, m.Namespace, tc.namespace)
				}
			}
			if tc.namespace != "" && !tc.openshift {
				if len(o.namespaces) != 1 || o.namespaces[0].Name != tc.namespace {
					t.Fatalf("want the Namespace %s, got %v", tc.namespace, o.namespaces)
				}
				// Pod Security admission must admit a privileged, hostPID pod there.
				if got := o.namespaces[0].Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
					t.Errorf("namespace %s enforces Pod Security level %q, want privileged", tc.namespace, got)
				}
			}
		})
	}
}

func checkDaemonSet(t *testing.T, ds *appsv1.DaemonSet, socket runtimeSocket, flags map[string][]string) {
	t.Helper()
	if ds.Name != "insights-runtime-extractor" || ds.Labels[appLabel] != "insights-runtime-extractor" {
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
	if got := containerNames(spec.Containers); !slices.Equal(got, []string{"exporter", "extractor"}) {
		t.Fatalf("containers = %v, want exporter and extractor", got)
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
	exporter, extractor := container(spec, "exporter"), container(spec, "extractor")
	for _, c := range []*corev1.Container{exporter, extractor} {
		if !hasMount(c, dataVolume, "/data") {
			t.Errorf("%s does not mount the emptyDir %s at /data", c.Name, dataVolume)
		}
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
		if len(c.Command) == 0 || c.Command[0] != "/"+c.Name && !(c.Name == "extractor" && c.Command[0] == "/extractor_server") {
			t.Errorf("%s: command %q does not start the image's binary", c.Name, c.Command)
		}
		if len(c.Command) > 0 {
			checkFlags(t, c.Name, c.Command[1:], flags[filepath.Base(c.Command[0])])
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

	// exporter: no privileges at all.
	sc := exporter.SecurityContext
	if sc == nil || sc.Privileged != nil && *sc.Privileged {
		t.Error("exporter is privileged")
	} else {
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("exporter: allowPrivilegeEscalation is not false")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
			t.Errorf("exporter capabilities = %+v, want drop ALL, add none", sc.Capabilities)
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Error("exporter: runAsNonRoot with a non-zero runAsUser is required")
		}
		// The unprivileged exporter reads and deletes what the extractor writes in /data.
		if psc := spec.SecurityContext; psc == nil || psc.FSGroup == nil || sc.RunAsGroup == nil || *psc.FSGroup != *sc.RunAsGroup {
			t.Error("the pod's fsGroup must be the exporter's group, so that /data is writable for it")
		}
	}
	for _, m := range exporter.VolumeMounts {
		if v := volumes[m.Name]; v.HostPath != nil {
			t.Errorf("exporter mounts the host path %s", v.HostPath.Path)
		}
	}
	checkArgValues(t, "exporter", exporter.Command[1:], map[string]string{"-bind": "0.0.0.0", "-data-dir": "/data"})
	if exporter.LivenessProbe == nil || exporter.ReadinessProbe == nil {
		t.Error("exporter needs liveness and readiness probes")
	}
	for _, p := range []*corev1.Probe{exporter.LivenessProbe, exporter.ReadinessProbe} {
		if p != nil && (p.TCPSocket == nil || p.TCPSocket.Port.IntValue() != 8000) {
			t.Errorf("exporter probe %+v, want a TCP check of port 8000 (an HTTP GET would start a scan)", p.ProbeHandler)
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
		kind := map[bool]string{true: "emptyDir", false: "hostPath"}[v.EmptyDir != nil]
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
