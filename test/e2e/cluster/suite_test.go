//go:build e2e

package cluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/conf"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// namespace of the suite: never the Insights Operator's own openshift-insights.
const namespace = "insights-runtime-extractor-e2e"

// daemonSetName is the name of the standalone DaemonSet of manifests/.
const daemonSetName = "insights-runtime-extractor-standalone"

const appLabel = "app.kubernetes.io/name=insights-runtime-extractor"

var testenv env.Environment

func TestMain(m *testing.M) {
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster e2e:", err)
		os.Exit(2)
	}
	if cfg.KubeconfigFile() == "" {
		cfg.WithKubeconfigFile(conf.ResolveKubeConfigFile())
	}
	if cfg.KubeconfigFile() == "" && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		fmt.Fprintln(os.Stderr, "cluster e2e: no cluster configured: set KUBECONFIG to the kubeconfig of the cluster to test")
		os.Exit(2)
	}
	images, err := imagesUnderTest()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster e2e:", err)
		os.Exit(2)
	}
	cfg.WithNamespace(namespace)
	testenv = env.NewWithConfig(cfg)
	testenv.Setup(createNamespace, deployDaemonSet(images))
	testenv.Finish(collectLogs, deleteAll)
	os.Exit(testenv.Run(m))
}

// images are the product images under test.
type images struct{ extractor, exporter string }

func imagesUnderTest() (images, error) {
	registry, tag := os.Getenv("IMAGE_REGISTRY"), os.Getenv("TAG")
	if tag == "" {
		tag = "latest"
	}
	im := images{extractor: os.Getenv("INSIGHTS_RUNTIME_EXTRACTOR"), exporter: os.Getenv("INSIGHTS_RUNTIME_EXPORTER")}
	if im.extractor == "" && registry != "" {
		im.extractor = registry + "/insights-runtime-extractor:" + tag
	}
	if im.exporter == "" && registry != "" {
		im.exporter = registry + "/insights-runtime-exporter:" + tag
	}
	if im.extractor == "" || im.exporter == "" {
		return im, errors.New("no images to test: set IMAGE_REGISTRY (and TAG), or INSIGHTS_RUNTIME_EXTRACTOR and INSIGHTS_RUNTIME_EXPORTER")
	}
	return im, nil
}

func repoRoot() string {
	dir, _ := filepath.Abs(filepath.Join("..", "..", ".."))
	return dir
}

func clientset(cfg *envconf.Config) (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(cfg.Client().RESTConfig())
}

func createNamespace(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{
		// The extractor is privileged and uses the host's PID namespace.
		"pod-security.kubernetes.io/enforce": "privileged",
		"pod-security.kubernetes.io/audit":   "privileged",
		"pod-security.kubernetes.io/warn":    "privileged",
		// OpenShift: do not let the label syncer lower the level again.
		"security.openshift.io/scc.podSecurityLabelSync": "false",
	}}}
	if err := cfg.Client().Resources().Create(ctx, ns); err != nil {
		return ctx, fmt.Errorf("create namespace %s: %w", namespace, err)
	}
	return ctx, nil
}

// variant says which kustomize variant of manifests/ fits the cluster:
// openshift (CRI-O, SCC) when the cluster serves security.openshift.io,
// kubernetes (containerd) otherwise; E2E_VARIANT overrides.
func variant(cfg *envconf.Config) (string, error) {
	if v := os.Getenv("E2E_VARIANT"); v != "" {
		if v != "openshift" && v != "kubernetes" {
			return "", fmt.Errorf("E2E_VARIANT must be openshift or kubernetes, not %q", v)
		}
		return v, nil
	}
	cs, err := clientset(cfg)
	if err != nil {
		return "", err
	}
	groups, err := cs.Discovery().ServerGroups()
	if err != nil {
		return "", fmt.Errorf("discover API groups: %w", err)
	}
	for _, g := range groups.Groups {
		if g.Name == "security.openshift.io" {
			return "openshift", nil
		}
	}
	return "kubernetes", nil
}

// deployDaemonSet renders manifests/<variant> with kustomize, moves every
// object to the suite's namespace, sets the images under test and waits
// until the DaemonSet runs on every node it is scheduled to.
func deployDaemonSet(im images) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		v, err := variant(cfg)
		if err != nil {
			return ctx, err
		}
		m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(), "manifests", v))
		if err != nil {
			return ctx, fmt.Errorf("kustomize manifests/%s: %w", v, err)
		}
		stream, err := m.AsYaml()
		if err != nil {
			return ctx, err
		}
		r := cfg.Client().Resources()
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(stream), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var u unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				return ctx, fmt.Errorf("decode manifests/%s: %w", v, err)
			}
			obj, err := adapt(&u, im)
			if err != nil || obj == nil {
				return ctx, err
			}
			if ds, ok := obj.(*appsv1.DaemonSet); ok && v == "kubernetes" {
				// No service-ca here: kube-rbac-proxy's certificate, self-signed.
				if err := createTLSSecrets(ctx, cfg, ds); err != nil {
					return ctx, err
				}
			}
			if err := r.Create(ctx, obj); err != nil {
				if apierrors.IsAlreadyExists(err) && obj.GetNamespace() == "" {
					// A cluster-scoped object (the SCC) left by an earlier run or installation.
					continue
				}
				return ctx, fmt.Errorf("create %s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
		ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: daemonSetName, Namespace: namespace}}
		if err := wait.For(conditions.New(r).DaemonSetReady(ds), wait.WithTimeout(5*time.Minute), wait.WithInterval(5*time.Second)); err != nil {
			return ctx, fmt.Errorf("DaemonSet %s/%s not ready after 5 minutes (images %s, %s): %w", namespace, ds.Name, im.extractor, im.exporter, err)
		}
		return ctx, nil
	}
}

// adapt moves an object of the manifests to the suite: namespace, images,
// RoleBinding subjects; the variant's own Namespace is replaced by the suite's.
func adapt(u *unstructured.Unstructured, im images) (k8s.Object, error) {
	switch u.GetKind() {
	case "Namespace":
		return nil, nil
	case "SecurityContextConstraints", "ClusterRole":
		u.SetNamespace("")
		return u, nil
	case "ClusterRoleBinding":
		var crb rbacv1.ClusterRoleBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crb); err != nil {
			return nil, err
		}
		crb.Namespace = ""
		for i := range crb.Subjects {
			crb.Subjects[i].Namespace = namespace
		}
		return &crb, nil
	case "DaemonSet":
		var ds appsv1.DaemonSet
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ds); err != nil {
			return nil, err
		}
		ds.Namespace = namespace
		for i := range ds.Spec.Template.Spec.Containers {
			c := &ds.Spec.Template.Spec.Containers[i]
			if image, ours := map[string]string{"extractor": im.extractor, "exporter": im.exporter}[c.Name]; ours {
				c.Image = image
				c.ImagePullPolicy = corev1.PullAlways
			}
		}
		return &ds, nil
	case "RoleBinding":
		var rb rbacv1.RoleBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rb); err != nil {
			return nil, err
		}
		rb.Namespace = namespace
		for i := range rb.Subjects {
			rb.Subjects[i].Namespace = namespace
		}
		return &rb, nil
	default:
		u.SetNamespace(namespace)
		return u, nil
	}
}

// createTLSSecrets creates, in the suite's namespace, every secret the
// DaemonSet mounts (kube-rbac-proxy's serving certificate) with a
// self-signed certificate, as a Kubernetes user would with cert-manager.
func createTLSSecrets(ctx context.Context, cfg *envconf.Config, ds *appsv1.DaemonSet) error {
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.Secret == nil {
			continue
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		host := daemonSetName + "." + namespace + ".svc"
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()),
			Subject:      pkix.Name{CommonName: host},
			DNSNames:     []string{host},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: v.Secret.SecretName, Namespace: namespace},
			Type:       corev1.SecretTypeTLS,
			Data: map[string][]byte{
				corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
				corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
			},
		}
		if err := cfg.Client().Resources().Create(ctx, secret); err != nil {
			return fmt.Errorf("create the TLS secret %s: %w", secret.Name, err)
		}
	}
	return nil
}

// collectLogs writes the logs of every container of the DaemonSet's pods
// into $ARTIFACT_DIR (when set), for the post-mortem of a CI run.
func collectLogs(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	dir := os.Getenv("ARTIFACT_DIR")
	if dir == "" {
		return ctx, nil
	}
	cs, err := clientset(cfg)
	if err != nil {
		return ctx, err
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: appLabel})
	if err != nil {
		return ctx, fmt.Errorf("list the DaemonSet's pods: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ctx, err
	}
	for _, p := range pods.Items {
		for _, c := range p.Spec.Containers {
			rc, err := cs.CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name}).Stream(ctx)
			if err != nil {
				fmt.Fprintf(os.Stderr, "cluster e2e: logs of %s/%s: %v\n", p.Name, c.Name, err)
				continue
			}
			var buf bytes.Buffer
			_, err = io.Copy(&buf, io.LimitReader(rc, 64<<20))
			rc.Close()
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s_%s_%s.log", p.Spec.NodeName, p.Name, c.Name)), buf.Bytes(), 0o644)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "cluster e2e: logs of %s/%s: %v\n", p.Name, c.Name, err)
			}
		}
	}
	return ctx, nil
}

// deleteAll removes the suite's namespace (and with it every sample and the
// DaemonSet). The cluster-scoped objects (SCC, ClusterRole,
// ClusterRoleBinding) stay: they may be shared with an installation.
func deleteAll(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if err := cfg.Client().Resources().Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
		return ctx, fmt.Errorf("delete namespace %s: %w", namespace, err)
	}
	return ctx, nil
}
