//go:build e2e

package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
)

// document is the exporter's JSON: namespace → pod → container key → fields.
type document map[string]map[string]map[string]map[string]any

// running is one sample container on the cluster and what it must report.
type running struct {
	pod, container, id, node string // id: containerStatuses[].containerID
	want                     entry
}

type runningKey struct{}

// TestRuntimeSamples runs every runtime sample (and a pod with a native
// sidecar) and checks what the exporter on each sample's node answers.
func TestRuntimeSamples(t *testing.T) {
	f := features.New("runtime samples on the cluster").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			samples, err := loadSamples(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var pods []*corev1.Pod
			var python, nodejs *sample
			for i, s := range samples {
				pods = append(pods, samplePod("sample-"+s.name, s, nil))
				switch s.name {
				case "python":
					python = &samples[i]
				case "nodejs":
					nodejs = &samples[i]
				}
			}
			if python == nil || nodejs == nil {
				t.Fatal("the sidecar pod needs the python and nodejs samples (runtime-samples/, and RUNTIME_SAMPLES when set)")
			}
			pods = append(pods, samplePod("sidecar", *python, nodejs))
			if err := runPods(ctx, cfg, pods...); err != nil {
				t.Fatal(err)
			}
			bySample := map[string]sample{}
			for _, s := range samples {
				bySample["sample-"+s.name] = s
			}
			bySample["sidecar"] = *python
			var all []running
			for _, p := range pods {
				statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
				for _, cs := range statuses {
					s := bySample[p.Name]
					if cs.Name == "sidecar" {
						s = *nodejs
					}
					want, err := expectedEntry(ctx, cfg, s, p.Name, cs.Name)
					if err != nil {
						t.Fatal(err)
					}
					all = append(all, running{pod: p.Name, container: cs.Name, id: cs.ContainerID, node: p.Spec.NodeName, want: want})
				}
			}
			return context.WithValue(ctx, runningKey{}, all)
		}).
		Assess("GET ?hash=false reports every sample container with its exact values", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			docs := map[string]document{} // node → answer
			for _, r := range ctx.Value(runningKey{}).([]running) {
				doc, ok := docs[r.node]
				if !ok {
					status, body := gather(ctx, t, cfg, r.node, http.MethodGet, "false", nil)
					g.Expect(status).To(Equal(http.StatusOK), "exporter on %s: %s", r.node, body)
					g.Expect(json.Unmarshal(body, &doc)).To(Succeed())
					docs[r.node] = doc
				}
				g.Expect(doc[namespace][r.pod]).To(HaveKey(r.id), "%s/%s (%s) missing from the answer of node %s", r.pod, r.container, r.id, r.node)
				expectEntry(g, doc[namespace][r.pod][r.id], r.want, r.pod+"/"+r.container)
			}
			return ctx
		}).
		Assess("a native sidecar is reported beside the app container of its pod", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			var ids []string
			var node string
			for _, r := range ctx.Value(runningKey{}).([]running) {
				if r.pod == "sidecar" {
					ids, node = append(ids, r.id), r.node
				}
			}
			g.Expect(ids).To(HaveLen(2))
			status, body := gather(ctx, t, cfg, node, http.MethodGet, "false", nil)
			g.Expect(status).To(Equal(http.StatusOK), string(body))
			var doc document
			g.Expect(json.Unmarshal(body, &doc)).To(Succeed())
			g.Expect(doc[namespace]["sidecar"]).To(HaveLen(2))
			g.Expect(doc[namespace]["sidecar"]).To(And(HaveKey(ids[0]), HaveKey(ids[1])))
			return ctx
		}).
		Assess("POST scans only the requested containers, with or without the runtime prefix", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			all := ctx.Value(runningKey{}).([]running)
			r := all[0]
			_, bare, _ := strings.Cut(r.id, "://")
			for _, ids := range [][]string{{r.id}, {bare}, {bare[:12]}, {r.id, "cri-o://" + strings.Repeat("0", 64)}} {
				body, _ := json.Marshal(map[string][]string{"containerIds": ids})
				status, answer := gather(ctx, t, cfg, r.node, http.MethodPost, "false", body)
				g.Expect(status).To(Equal(http.StatusOK), string(answer))
				var doc document
				g.Expect(json.Unmarshal(answer, &doc)).To(Succeed())
				g.Expect(doc).To(HaveLen(1), "POST %v: %s", ids, answer)
				g.Expect(doc[namespace]).To(HaveLen(1), "POST %v: %s", ids, answer)
				g.Expect(doc[namespace][r.pod]).To(HaveLen(1), "POST %v: %s", ids, answer)
				expectEntry(g, doc[namespace][r.pod][r.id], r.want, r.pod+"/"+r.container)
			}
			body, _ := json.Marshal(map[string][]string{"containerIds": {"containerd://" + strings.Repeat("0", 64)}})
			status, answer := gather(ctx, t, cfg, r.node, http.MethodPost, "false", body)
			g.Expect(status).To(Equal(http.StatusOK), string(answer))
			g.Expect(string(answer)).To(MatchJSON(`{}`))
			return ctx
		}).
		Assess("POST with a bad body answers 400 with the exact error", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			node := ctx.Value(runningKey{}).([]running)[0].node
			for body, want := range map[string]string{
				`{"containerIds": [`:     `{"error": "Invalid JSON in request body"}`,
				`{}`:                     `{"error": "containerIds field is required"}`,
				`{"containerIds": null}`: `{"error": "containerIds field is required"}`,
			} {
				status, answer := gather(ctx, t, cfg, node, http.MethodPost, "false", []byte(body))
				g.Expect(status).To(Equal(http.StatusBadRequest), "body %s: %s", body, answer)
				g.Expect(string(answer)).To(MatchJSON(want), "body %s", body)
			}
			return ctx
		}).
		Assess("without hash=false every value is obfuscated, names are not", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			for _, r := range ctx.Value(runningKey{}).([]running) {
				if _, isPattern := r.want["kindVersion"].(*regexp.Regexp); isPattern {
					continue // the clear value is not known exactly
				}
				body, _ := json.Marshal(map[string][]string{"containerIds": {r.id}})
				status, answer := gather(ctx, t, cfg, r.node, http.MethodPost, "", body)
				g.Expect(status).To(Equal(http.StatusOK), string(answer))
				var doc document
				g.Expect(json.Unmarshal(answer, &doc)).To(Succeed())
				expectEntry(g, doc[namespace][r.pod][r.id], hashed(r.want), r.pod+"/"+r.container+" (hashed)")
				return ctx // one container is enough
			}
			t.Fatal("no sample with exactly known values")
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			cs, err := clientset(cfg)
			if err == nil {
				err = cs.CoreV1().Pods(namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "e2e.insights-runtime-extractor/sample"})
			}
			if err != nil {
				t.Errorf("delete the sample pods: %v", err)
			}
			return ctx
		}).
		Feature()
	testenv.Test(t, f)
}

// expectEntry compares one container's fields exactly; a *regexp.Regexp
// expectation matches the value.
func expectEntry(g Gomega, got map[string]any, want entry, what string) {
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		return ks
	}
	g.Expect(keys(got)).To(ConsistOf(keys(want)), "%s: fields %v, want %v", what, got, want)
	for k, w := range want {
		if re, ok := w.(*regexp.Regexp); ok {
			g.Expect(got[k]).To(MatchRegexp(re.String()), "%s: %s", what, k)
			continue
		}
		wb, _ := json.Marshal(w)
		gb, _ := json.Marshal(got[k])
		g.Expect(string(gb)).To(MatchJSON(string(wb)), "%s: %s", what, k)
	}
}

// hashed obfuscates every value as the exporter does by default (SPEC §2).
func hashed(e entry) entry {
	h := func(v string) string {
		sum := sha256.Sum256([]byte(v))
		return base64.RawURLEncoding.EncodeToString(sum[:])[:12]
	}
	out := entry{}
	for k, v := range e {
		switch v := v.(type) {
		case string:
			out[k] = h(v)
		case []any:
			var items []any
			for _, it := range v {
				m := map[string]any{}
				for ik, iv := range it.(map[string]any) {
					m[ik] = h(iv.(string))
				}
				items = append(items, m)
			}
			out[k] = items
		}
	}
	return out
}

// gather calls /gather_runtime_info of the exporter of the DaemonSet pod on
// node, on the pod's loopback (the exporter listens nowhere else), with curl
// in the exporter container as scripts/extract.sh does; hash "" leaves the
// query out.
func gather(ctx context.Context, t *testing.T, cfg *envconf.Config, node, method, hash string, body []byte) (int, []byte) {
	t.Helper()
	url := "http://127.0.0.1:8000/gather_runtime_info"
	if hash != "" {
		url += "?hash=" + hash
	}
	return curlInPod(ctx, t, cfg, daemonPodOn(ctx, t, cfg, node), method, url, body)
}

// daemonPodOn is the name of the DaemonSet's pod on node.
func daemonPodOn(ctx context.Context, t *testing.T, cfg *envconf.Config, node string) string {
	t.Helper()
	cs, err := clientset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: appLabel, FieldSelector: "spec.nodeName=" + node})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the DaemonSet pod on node %s: %d found (%v)", node, len(pods.Items), err)
	}
	return pods.Items[0].Name
}

// curlInPod runs curl in the exporter container of pod and returns the HTTP
// status and the body of the answer.
func curlInPod(ctx context.Context, t *testing.T, cfg *envconf.Config, pod, method, url string, body []byte, extra ...string) (int, []byte) {
	t.Helper()
	cmd := append([]string{"curl", "-s", "-S", "-X", method, "-w", "\n%{http_code}"}, extra...)
	if body != nil {
		cmd = append(cmd, "-H", "Content-Type: application/json", "--data-raw", string(body))
	}
	cmd = append(cmd, url)
	var stdout, stderr bytes.Buffer
	if err := cfg.Client().Resources().ExecInPod(ctx, namespace, pod, "exporter", cmd, &stdout, &stderr); err != nil {
		t.Fatalf("%s %s in %s: %v: %s", method, url, pod, err, stderr.String())
	}
	out := stdout.Bytes()
	i := bytes.LastIndexByte(out, '\n')
	status, err := strconv.Atoi(string(out[i+1:]))
	if i < 0 || err != nil {
		t.Fatalf("%s %s in %s: no HTTP status in %q (stderr %q)", method, url, pod, out, stderr.String())
	}
	return status, out[:i]
}

// TestProxyGuardsTheExporter checks kube-rbac-proxy in front of every
// DaemonSet pod: a request without a token is refused, the probes' paths
// pass. (The pod's loopback, used above, is the only way around it.)
func TestProxyGuardsTheExporter(t *testing.T) {
	f := features.New("kube-rbac-proxy").
		Assess("no token: 401 on /gather_runtime_info; /healthz passes", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			cs, err := clientset(cfg)
			g.Expect(err).NotTo(HaveOccurred())
			pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: appLabel})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods.Items).NotTo(BeEmpty())
			for _, p := range pods.Items {
				// -k: the certificate names the Service, not 127.0.0.1.
				status, body := curlInPod(ctx, t, cfg, p.Name, http.MethodGet, "https://127.0.0.1:8443/gather_runtime_info?hash=false", nil, "-k")
				g.Expect(status).To(Equal(http.StatusUnauthorized), "%s: %s", p.Name, body)
				status, body = curlInPod(ctx, t, cfg, p.Name, http.MethodGet, "https://127.0.0.1:8443/healthz", nil, "-k")
				g.Expect(status).To(Equal(http.StatusOK), "%s: %s", p.Name, body)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
