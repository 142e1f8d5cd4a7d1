// Package expect derives, from the samples themselves, the exact JSON the
// exporter must answer for running sample containers, on any node: the
// rootfs's os-release and JDK release file, the tools' own --version run
// inside the container, the Go version in the built binary and the framework
// versions given to the generators. Nothing is typed in by hand.
package expect

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// Document is the exporter's JSON: namespace → pod → container key → fields.
type Document map[string]map[string]map[string]map[string]any

// Entry is one container's expected fields; empty ones are omitted, as the
// exporter omits them.
type Entry struct {
	OS, OSVersion, Kind, KindVersion, KindImplementer string
	Runtimes                                          [][2]string
}

// Fields is the entry as the exporter writes it.
func (e Entry) Fields() map[string]any {
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

// Exec runs cmd in the container with that id and returns what it printed
// (stdout then stderr), failing when it exits non-zero.
type Exec func(ctx context.Context, id string, cmd ...string) (string, error)

// Pod is a sample pod as it runs: its spec, the sample of each container in
// start order (init containers first), and the running containers.
type Pod struct {
	Spec    localnode.PodSpec
	Samples []string
	Running *localnode.Pod
}

// Expected derives what the extractor must report for every container of
// the pods, keyed as <prefix><id> (the node's "cri-o://" or "containerd://").
func Expected(ctx context.Context, im *localnode.Images, prefix string, pods []Pod, exec Exec) (Document, error) {
	doc := Document{}
	for _, p := range pods {
		specs := append(append([]localnode.ContainerSpec{}, p.Spec.InitContainers...), p.Spec.Containers...)
		for i, c := range p.Running.Containers {
			e, err := EntryOf(ctx, im, im.Sample(p.Samples[i]), specs[i], c.ID, exec)
			if err != nil {
				return nil, fmt.Errorf("expected values of %s/%s %s: %w", p.Spec.Namespace, p.Spec.Name, c.Name, err)
			}
			doc.Add(p.Spec.Namespace, p.Spec.Name, prefix+c.ID, e)
		}
	}
	return doc, nil
}

// Add sets the entry of one container key.
func (d Document) Add(ns, pod, key string, e Entry) {
	if d[ns] == nil {
		d[ns] = map[string]map[string]map[string]any{}
	}
	if d[ns][pod] == nil {
		d[ns][pod] = map[string]map[string]any{}
	}
	d[ns][pod][key] = e.Fields()
}

// Subset keeps only the containers with these keys.
func (d Document) Subset(keys ...string) Document {
	keep := map[string]bool{}
	for _, k := range keys {
		keep[k] = true
	}
	out := Document{}
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

// Hashed is the document as the exporter answers without hash=false: every
// value obfuscated (SPEC §2), names of namespaces, pods and containers kept.
func (d Document) Hashed() Document {
	h := func(v string) string {
		if v == "" {
			return ""
		}
		sum := sha256.Sum256([]byte(v))
		return base64.RawURLEncoding.EncodeToString(sum[:])[:12]
	}
	out := Document{}
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

// Canonical renders JSON with sorted keys and indentation, so that two
// documents compare as text and a difference shows as a readable diff.
func Canonical(v any) string {
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

// CanonicalBody is Canonical for a response body; invalid JSON is shown as is.
func CanonicalBody(body []byte) string {
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		return "invalid JSON: " + string(body)
	}
	out, _ := json.MarshalIndent(generic, "", "  ")
	return string(out)
}

// EntryOf is what the extractor must report for one container running
// sample s with spec; exec asks the container itself where only it knows.
func EntryOf(ctx context.Context, im *localnode.Images, s *localnode.Sample, spec localnode.ContainerSpec, id string, exec Exec) (Entry, error) {
	var e Entry
	var err error
	if s.Base == localnode.BaseDebian12 {
		if e.OS, e.OSVersion, err = osRelease(im.Rootfs.Dir); err != nil {
			return e, err
		}
	}
	java := func() error {
		e.Kind = "Java"
		e.KindVersion, e.KindImplementer, err = javaRelease(im.Rootfs.Dir, envValue(spec.Env, "JAVA_HOME"))
		return err
	}
	switch {
	case s.Name == "debian-sleep" || s.Name == "ptrace-target":
		// Only the OS: sleep is neither a known runtime nor Go nor GraalVM.
	case s.Name == "fork-bomb-version" || s.Name == "memory-hog-version":
		// Nothing: named like a runtime, but its --version is killed at a limit,
		// which proves nothing (and it is not inspected as a native executable).
	case s.Name == "net-probe-version":
		// Its --version says 3.99.0 only from the container's own namespaces, under the
		// sandbox's seccomp filter (see its main.go).
		e.Kind = "Python"
		e.KindVersion = "Python 3.99.0"
	case s.Go != nil:
		e.Kind = "Golang"
		info, err := buildinfo.ReadFile(s.GoBinary)
		if err != nil {
			return e, err
		}
		e.KindVersion = info.GoVersion
	case s.Name == "python" || s.Name == "sh-wrapper":
		e.Kind = "Python"
		e.KindVersion, err = exec(ctx, id, "python3", "--version")
	case s.Name == "nodejs":
		e.Kind = "Node.js"
		e.KindVersion, err = exec(ctx, id, "node", "--version")
	case s.Name == "ruby":
		e.Kind = "Ruby"
		e.KindVersion, err = exec(ctx, id, "ruby", "--version")
	case s.Name == "php":
		e.Kind = "PHP"
		e.KindVersion, err = exec(ctx, id, "php", "-r", "echo PHP_VERSION;")
	case s.Name == "php-fpm":
		e.Kind = "PHP"
		e.KindVersion, err = phpFPMVersion(ctx, exec, id)
	case s.Name == "perl":
		e.Kind = "Perl"
		e.KindVersion, err = exec(ctx, id, "perl", "-e", `printf "%vd", $^V`)
	case s.Name == "erlang" || s.Name == "elixir":
		e.Kind = "Erlang/OTP"
		// The OTP release's full version, as OTP documents it: the OTP_VERSION
		// of the running release, found by the emulator itself.
		e.KindVersion, err = exec(ctx, id, "erl", "-noshell", "-eval",
			`{ok, V} = file:read_file(filename:join([code:root_dir(), "releases", erlang:system_info(otp_release), "OTP_VERSION"])), io:put_chars(string:trim(V)), halt().`)
		if err == nil && s.Name == "elixir" {
			var v string
			v, err = exec(ctx, id, "elixir", "-e", "IO.write(System.version())")
			e.Runtimes = [][2]string{{"Elixir", v}}
		}
	case s.Name == "mono":
		e.Kind = "Mono"
		e.KindVersion, err = exec(ctx, id, "mono", "--version=number")
	case s.Name == "java-plain":
		err = java()
	case s.Name == "jetty":
		if err = java(); err == nil {
			var v string
			v, err = jettyVersion(ctx, exec, id)
			e.Runtimes = [][2]string{{"Eclipse Jetty", v}}
		}
	case s.Name == "tomcat":
		if err = java(); err == nil {
			var v string
			v, err = tomcatVersion(ctx, exec, id)
			e.Runtimes = [][2]string{{"Apache Tomcat", v}}
		}
	case javaServers[s.Name] != nil:
		if err = java(); err == nil {
			e.Runtimes, err = javaServers[s.Name](ctx, exec, id)
		}
	case s.Name == "deno":
		// Deno's kind version is the version alone of the first line of its
		// --version: "deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)".
		e.Kind = "Deno"
		var out string
		if out, err = exec(ctx, id, "deno", "--version"); err == nil {
			if f := strings.Fields(out); len(f) > 1 && f[0] == "deno" {
				e.KindVersion = f[1]
			} else {
				err = fmt.Errorf("deno --version: %q", out)
			}
		}
	case s.Name == "bun":
		e.Kind = "Bun"
		e.KindVersion, err = exec(ctx, id, "bun", "--version")
	case s.Generated != nil && s.Generated.KindVersion != "":
		// What built the program (Debian's rustc) or what the fixture copies (.NET).
		e.Kind, e.KindVersion = s.Generated.Kind, s.Generated.KindVersion
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

// tomcatVersion asks Tomcat itself (version.sh): "Server version: Apache
// Tomcat/10.1.55 (Debian)" gives 10.1.55.
func tomcatVersion(ctx context.Context, exec Exec, id string) (string, error) {
	out, err := exec(ctx, id, "/usr/share/tomcat10/bin/version.sh")
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

// phpFPMVersion asks PHP-FPM itself: "PHP 8.2.32 (fpm-fcgi) (built: …)"
// gives 8.2.32.
func phpFPMVersion(ctx context.Context, exec Exec, id string) (string, error) {
	out, err := exec(ctx, id, "php-fpm8.2", "-v")
	if err != nil {
		return "", err
	}
	if m := phpFPMBanner.FindStringSubmatch(out); m != nil {
		return m[1], nil
	}
	return "", fmt.Errorf("no version in php-fpm8.2 -v output: %s", out)
}

var phpFPMBanner = regexp.MustCompile(`^PHP (\S+) \(fpm-fcgi\)`)

// jettyVersion asks Jetty itself (start.jar --version), which lists the
// version of each jar of its class path: the one of jetty-server is Jetty's.
func jettyVersion(ctx context.Context, exec Exec, id string) (string, error) {
	out, err := exec(ctx, id, "java", "-Djetty.home=/usr/share/jetty9", "-Djetty.base=/usr/share/jetty9",
		"-jar", "/usr/share/jetty9/start.jar", "--version")
	if err != nil {
		return "", err
	}
	if m := jettyServerJar.FindStringSubmatch(out); m != nil {
		return m[1], nil
	}
	return "", fmt.Errorf("no jetty-server jar in start.jar --version output: %s", out)
}

// jettyServerJar is the line of start.jar --version for the server jar:
// " 3:         9.4.57.v20241219 | /usr/share/java/jetty9-server.jar".
var jettyServerJar = regexp.MustCompile(`(?m)^\s*\d+:\s+(\S+) \| \S*/jetty9?-server[^/\s]*\.jar$`)

// javaServers ask each Java server and framework sample of issue 15 what
// it is: the product file, the name of the framework's jar in the
// container, or the running Jetty itself.
var javaServers = map[string]func(ctx context.Context, exec Exec, id string) ([][2]string, error){
	"jetty-embedded": func(ctx context.Context, exec Exec, id string) ([][2]string, error) {
		// Jetty's Server main prints its version (last line, after its log).
		out, err := exec(ctx, id, "java", "-cp", "/usr/share/java/jetty9-server.jar:/usr/share/java/jetty9-util.jar:/usr/share/java/jetty9-http.jar:/usr/share/java/jetty9-io.jar:/usr/share/java/servlet-api.jar", "org.eclipse.jetty.server.Server")
		if err != nil {
			return nil, err
		}
		lines := strings.Split(out, "\n")
		return [][2]string{{"Eclipse Jetty", strings.TrimSpace(lines[len(lines)-1])}}, nil
	},
	"undertow":   jarOnClassPath("/app/lib", [2]string{"Undertow", "undertow-core"}),
	"micronaut":  jarOnClassPath("/home/app/libs", [2]string{"Micronaut", "micronaut-core"}),
	"helidon":    jarOnClassPath("/helidon/libs", [2]string{"Helidon", "helidon-webserver"}),
	"vertx":      shadedIn("/deployments/starter-1.0.0-SNAPSHOT-fat.jar", [3]string{"Vert.x", "io.vertx", "vertx-core"}),
	"dropwizard": shadedIn("/app/hello-world-1.0.0-SNAPSHOT.jar", [3]string{"Dropwizard", "io.dropwizard", "dropwizard-core"}, [3]string{"Eclipse Jetty", "org.eclipse.jetty", "jetty-server"}),
	"open-liberty": func(ctx context.Context, exec Exec, id string) ([][2]string, error) {
		v, err := propertyIn(ctx, exec, id, "/opt/ol/wlp/lib/versions/openliberty.properties", "com.ibm.websphere.productVersion")
		return [][2]string{{"Open Liberty", v}}, err
	},
	"websphere-liberty": func(ctx context.Context, exec Exec, id string) ([][2]string, error) {
		v, err := propertyIn(ctx, exec, id, "/opt/ibm/wlp/lib/versions/WebSphereApplicationServer.properties", "com.ibm.websphere.productVersion")
		return [][2]string{{"WebSphere Liberty", v}}, err
	},
	"glassfish": glassFishBranding("/opt/glassfish7/glassfish"),
	"payara":    glassFishBranding("/opt/payara/appserver/glassfish"),
}

// jarOnClassPath lists dir in the container and gives, for each {name,
// artifact}, the version in the name of its jar there (artifact-<v>.jar).
func jarOnClassPath(dir string, products ...[2]string) func(context.Context, Exec, string) ([][2]string, error) {
	return func(ctx context.Context, exec Exec, id string) ([][2]string, error) {
		out, err := exec(ctx, id, "ls", dir)
		if err != nil {
			return nil, err
		}
		var rs [][2]string
		for _, p := range products {
			m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p[1]) + `-([0-9][^/\s]*)\.jar$`).FindStringSubmatch(out)
			if m == nil {
				return nil, fmt.Errorf("no %s jar in %s: %s", p[1], dir, out)
			}
			rs = append(rs, [2]string{p[0], m[1]})
		}
		return rs, nil
	}
}

// shadedIn reads the fat jar from the container (base64, as the container
// has no unzip) and gives, for each {name, group, artifact}, the version of
// the pom.properties the shading kept.
func shadedIn(jar string, products ...[3]string) func(context.Context, Exec, string) ([][2]string, error) {
	return func(ctx context.Context, exec Exec, id string) ([][2]string, error) {
		out, err := exec(ctx, id, "base64", "-w0", jar)
		if err != nil {
			return nil, err
		}
		data, err := base64.StdEncoding.DecodeString(out)
		if err != nil {
			return nil, fmt.Errorf("base64 of %s: %w", jar, err)
		}
		z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", jar, err)
		}
		var rs [][2]string
		for _, p := range products {
			b, err := fs.ReadFile(z, "META-INF/maven/"+p[1]+"/"+p[2]+"/pom.properties")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", jar, err)
			}
			v, ok := "", false
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok = strings.CutPrefix(strings.TrimSpace(line), "version="); ok {
					break
				}
			}
			if !ok {
				return nil, fmt.Errorf("%s: no version in the pom.properties of %s", jar, p[2])
			}
			rs = append(rs, [2]string{p[0], v})
		}
		return rs, nil
	}
}

// propertyIn reads one property of a .properties file in the container.
func propertyIn(ctx context.Context, exec Exec, id, file, key string) (string, error) {
	out, err := exec(ctx, id, "cat", file)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no %s in %s: %s", key, file, out)
}

// glassFishBranding reads the product name and version (major.minor.update,
// as asadmin version prints it) of the install's branding file.
func glassFishBranding(install string) func(context.Context, Exec, string) ([][2]string, error) {
	return func(ctx context.Context, exec Exec, id string) ([][2]string, error) {
		file := install + "/config/branding/glassfish-version.properties"
		var vals []string
		for _, k := range []string{"product_name", "major_version", "minor_version", "update_version"} {
			v, err := propertyIn(ctx, exec, id, file, k)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		return [][2]string{{vals[0], strings.Join(vals[1:], ".")}}, nil
	}
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

// NodeExec runs commands through the node's CRI ExecSync, as kubectl exec does.
func NodeExec(n *localnode.Node) Exec {
	return func(ctx context.Context, id string, cmd ...string) (string, error) {
		res, err := n.ExecSync(ctx, id, 30*time.Second, cmd...)
		if err != nil {
			return "", err
		}
		if res.ExitCode != 0 {
			return "", fmt.Errorf("%q exited %d: %s", cmd, res.ExitCode, res.Stderr)
		}
		return strings.TrimSpace(res.Stdout + res.Stderr), nil
	}
}
