package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/localnode"
	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
)

// document is the exporter's JSON: namespace → pod → container key → fields.
type document map[string]map[string]map[string]map[string]any

// entry is one container's expected fields; empty ones are omitted, as the
// exporter omits them.
type entry struct {
	OS, OSVersion, Kind, KindVersion, KindImplementer string
	Runtimes                                          [][2]string
}

func (e entry) fields() map[string]any {
	m := map[string]any{}
	for k, v := range map[string]string{"os": e.OS, "osVersion": e.OSVersion, "kind": e.Kind, "kindVersion": e.KindVersion, "kindImplementer": e.KindImplementer} {
		if v != "" {
			m[k] = v
		}
	}
	if len(e.Runtimes) > 0 {
		var rs []any
		for _, r := range e.Runtimes {
			item := map[string]any{"name": r[0]}
			if r[1] != "" {
				item["version"] = r[1]
			}
			rs = append(rs, item)
		}
		m["runtimes"] = rs
	}
	return m
}

// expectedDocument derives, from the samples themselves, what the extractor
// must report for every running container: the rootfs's os-release and JDK
// release file, the tools' own --version run inside the container, the Go
// version in the built binary, and the framework versions given to the
// generators. Nothing is typed in by hand.
func expectedDocument(ctx context.Context, env *workloads.Env, pods []workloads.Pod, running map[string]*localnode.Pod) (document, error) {
	doc := document{}
	for _, p := range pods {
		rp := running[p.Spec.Namespace+"/"+p.Spec.Name]
		specs := append(append([]localnode.ContainerSpec{}, p.Spec.InitContainers...), p.Spec.Containers...)
		for i, c := range rp.Containers {
			sample := env.Images.Sample(p.Samples[i])
			e, err := expectedEntry(ctx, env, sample, specs[i], c)
			if err != nil {
				return nil, fmt.Errorf("expected values of %s/%s %s: %w", p.Spec.Namespace, p.Spec.Name, c.Name, err)
			}
			doc.add(p.Spec.Namespace, p.Spec.Name, key(c.ID), e)
		}
	}
	return doc, nil
}

// key is a container's key in the exporter's JSON: exactly what Kubernetes
// shows as its containerID, "<runtime>://<64 hex>" with the node's runtime
// ("cri-o://" on CRI-O, the key the Insights Operator joins on).
func key(id string) string {
	return state.env.Node.KeyPrefix() + id
}

func (d document) add(ns, pod, key string, e entry) {
	if d[ns] == nil {
		d[ns] = map[string]map[string]map[string]any{}
	}
	if d[ns][pod] == nil {
		d[ns][pod] = map[string]map[string]any{}
	}
	d[ns][pod][key] = e.fields()
}

// subset keeps only the containers with these (bare) ids.
func (d document) subset(ids ...string) document {
	keep := map[string]bool{}
	for _, id := range ids {
		keep[key(id)] = true
	}
	out := document{}
	for ns, pods := range d {
		for pod, ctrs := range pods {
			for key, fields := range ctrs {
				if keep[key] {
					if out[ns] == nil {
						out[ns] = map[string]map[string]map[string]any{}
					}
					if out[ns][pod] == nil {
						out[ns][pod] = map[string]map[string]any{}
					}
					out[ns][pod][key] = fields
				}
			}
		}
	}
	return out
}

// hashed is the document as the exporter answers without hash=false: every
// value obfuscated (SPEC §2), names of namespaces, pods and containers kept.
func (d document) hashed() document {
	h := func(v string) string {
		if v == "" {
			return ""
		}
		sum := sha256.Sum256([]byte(v))
		return base64.RawURLEncoding.EncodeToString(sum[:])[:12]
	}
	out := document{}
	for ns, pods := range d {
		out[ns] = map[string]map[string]map[string]any{}
		for pod, ctrs := range pods {
			out[ns][pod] = map[string]map[string]any{}
			for key, fields := range ctrs {
				m := map[string]any{}
				for k, v := range fields {
					switch v := v.(type) {
					case string:
						m[k] = h(v)
					case []any:
						var rs []any
						for _, r := range v {
							item := map[string]any{}
							for rk, rv := range r.(map[string]any) {
								item[rk] = h(rv.(string))
							}
							rs = append(rs, item)
						}
						m[k] = rs
					}
				}
				out[ns][pod][key] = m
			}
		}
	}
	return out
}

// canonical renders JSON with sorted keys and indentation, so that two
// documents compare as text and a difference shows as a readable diff.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	out, _ := json.MarshalIndent(generic, "", "  ")
	return string(out)
}

// canonicalBody is canonical for a response body; invalid JSON is shown as is.
func canonicalBody(body []byte) string {
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		return "invalid JSON: " + string(body)
	}
	out, _ := json.MarshalIndent(generic, "", "  ")
	return string(out)
}

func expectedEntry(ctx context.Context, env *workloads.Env, s *localnode.Sample, spec localnode.ContainerSpec, c localnode.Container) (entry, error) {
	var e entry
	var err error
	if s.Base == localnode.BaseDebian12 {
		if e.OS, e.OSVersion, err = osRelease(env.Images.Rootfs.Dir); err != nil {
			return e, err
		}
	}
	java := func() error {
		e.Kind = "Java"
		e.KindVersion, e.KindImplementer, err = javaRelease(env.Images.Rootfs.Dir, envValue(spec.Env, "JAVA_HOME"))
		return err
	}
	switch {
	case s.Name == "debian-sleep" || s.Name == "ptrace-target":
		// Only the OS: sleep is neither a known runtime nor Go nor GraalVM.
	case s.Go != nil:
		e.Kind = "Golang"
		info, err := buildinfo.ReadFile(s.GoBinary)
		if err != nil {
			return e, err
		}
		e.KindVersion = info.GoVersion
	case s.Name == "python" || s.Name == "sh-wrapper":
		e.Kind = "Python"
		e.KindVersion, err = toolVersion(ctx, env, c.ID, "python3", "--version")
	case s.Name == "nodejs":
		e.Kind = "Node.js"
		e.KindVersion, err = toolVersion(ctx, env, c.ID, "node", "--version")
	case s.Name == "java-plain":
		err = java()
	case s.Name == "tomcat":
		if err = java(); err == nil {
			var v string
			v, err = tomcatVersion(ctx, env, c.ID)
			e.Runtimes = [][2]string{{"Apache Tomcat", v}}
		}
	case s.Generated != nil && s.Generated.Kind == "Java":
		if err = java(); err == nil {
			e.Runtimes = [][2]string{{s.Generated.RuntimeName, s.Generated.RuntimeVersion}}
		}
	case s.Generated != nil:
		e.Kind = s.Generated.Kind
		e.Runtimes = [][2]string{{s.Generated.RuntimeName, s.Generated.RuntimeVersion}}
	default:
		return e, fmt.Errorf("the suite does not know what sample %s should report", s.Name)
	}
	return e, err
}

// toolVersion runs the tool's own --version inside the container and trims
// it, as the version-executable fingerprint reports it.
func toolVersion(ctx context.Context, env *workloads.Env, id string, cmd ...string) (string, error) {
	res, err := env.Node.ExecSync(ctx, id, 30*time.Second, cmd...)
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("%q exited %d: %s", cmd, res.ExitCode, res.Stderr)
	}
	return strings.TrimSpace(res.Stdout + res.Stderr), nil
}

// tomcatVersion asks Tomcat itself (version.sh): "Server version: Apache
// Tomcat/10.1.55 (Debian)" gives 10.1.55.
func tomcatVersion(ctx context.Context, env *workloads.Env, id string) (string, error) {
	out, err := toolVersion(ctx, env, id, "/usr/share/tomcat10/bin/version.sh")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "Server version:"); ok {
			v := strings.TrimSpace(rest)
			v = strings.TrimPrefix(v, "Apache Tomcat/")
			v, _, _ = strings.Cut(v, " ")
			return v, nil
		}
	}
	return "", fmt.Errorf("no Server version in version.sh output: %s", out)
}

// osRelease reads ID and VERSION_ID of the rootfs's os-release.
func osRelease(rootfs string) (id, version string, err error) {
	kv, err := keyValues(filepath.Join(rootfs, "etc", "os-release"))
	if err != nil {
		kv, err = keyValues(filepath.Join(rootfs, "usr", "lib", "os-release"))
	}
	return kv["ID"], kv["VERSION_ID"], err
}

// javaRelease reads JAVA_VERSION and IMPLEMENTOR of the JDK at home, or,
// when home is empty, of the JDK that /usr/bin/java leads to through the
// alternatives symlinks of the rootfs.
func javaRelease(rootfs, home string) (version, implementor string, err error) {
	if home == "" {
		java, err := resolveIn(rootfs, "/usr/bin/java")
		if err != nil {
			return "", "", err
		}
		home = path.Dir(path.Dir(java))
	}
	kv, err := keyValues(filepath.Join(rootfs, home, "release"))
	return kv["JAVA_VERSION"], kv["IMPLEMENTOR"], err
}

// resolveIn follows symlinks of p inside the tree at root, as the container sees them.
func resolveIn(root, p string) (string, error) {
	for range 40 {
		target, err := os.Readlink(filepath.Join(root, p))
		if err != nil {
			return p, nil // not a link (any more)
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = target
	}
	return "", fmt.Errorf("too many links from %s", p)
}

// keyValues parses KEY=value lines, quotes removed.
func keyValues(file string) (map[string]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			kv[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return kv, nil
}

func envValue(env []string, key string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, key+"="); ok {
			return v
		}
	}
	return ""
}
