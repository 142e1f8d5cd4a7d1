// Package samples writes real-looking workloads into a directory that stands
// for a container's root file system: the directory layouts, jars and
// manifests of Quarkus, Spring Boot, WildFly and JBoss EAP, and a GraalVM
// native-image-like ELF. Java classes are compiled with the JDK found on the
// machine, so every sample actually runs (its main class sleeps forever).
//
// The fingerprint tests use them against a directory; the node e2e copies the
// same trees into container images.
package samples

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Sample is one generated workload.
type Sample struct {
	// Root is the host directory the files were written under; it stands for
	// the container's "/".
	Root string
	// Cmdline is the command line inside the container. For Java samples
	// Cmdline[0] is "java", to be found through PATH.
	Cmdline []string
	// Env is the environment the sample needs besides PATH ("KEY=value").
	Env []string
	// Cwd is the working directory inside the container.
	Cwd string
	// Kind is the runtime kind the fingerprints must report ("Java",
	// "GraalVM"), RuntimeName/RuntimeVersion the runtime component
	// (RuntimeVersion may be empty).
	Kind, RuntimeName, RuntimeVersion string
	// KindVersion is the kind's version when the generator knows it (the
	// compiler that built a native program, the runtime a fixture copies).
	KindVersion string
}

// HostPath returns where a path inside the container was written on the host.
func (s Sample) HostPath(containerPath string) string {
	return filepath.Join(s.Root, filepath.FromSlash(containerPath))
}

// ErrNoJDK is returned by the generators that compile Java when no JDK
// (javac) is found.
var ErrNoJDK = errors.New("no JDK found (javac in $JAVA_HOME/bin, on PATH or under /usr/lib/jvm): install openjdk-17-jdk-headless")

// FindJDK returns the home of a JDK: $JAVA_HOME if it holds bin/javac, else
// the JDK of javac on PATH (symlinks resolved), else the first
// /usr/lib/jvm/*/bin/javac.
func FindJDK() (string, error) {
	if h := os.Getenv("JAVA_HOME"); h != "" && isFile(filepath.Join(h, "bin", "javac")) {
		return h, nil
	}
	if p, err := exec.LookPath("javac"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(filepath.Dir(real)), nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/jvm/*/bin/javac")
	sort.Strings(matches)
	if len(matches) > 0 {
		return filepath.Dir(filepath.Dir(matches[0])), nil
	}
	return "", ErrNoJDK
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// SleeperClasses compiles, for each fully qualified class name, a class whose
// main method sleeps forever, and returns the class files by their path in a
// jar ("a/b/C.class"). They target Java 11, so any JRE from 11 on runs them.
func SleeperClasses(classNames ...string) (map[string][]byte, error) {
	jdk, err := FindJDK()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "samples-javac-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	args := []string{"--release", "11", "-nowarn", "-d", filepath.Join(tmp, "out")}
	for i, fqcn := range classNames {
		pkg, simple := "", fqcn
		if i := strings.LastIndexByte(fqcn, '.'); i >= 0 {
			pkg, simple = fqcn[:i], fqcn[i+1:]
		}
		var src strings.Builder
		if pkg != "" {
			fmt.Fprintf(&src, "package %s;\n", pkg)
		}
		fmt.Fprintf(&src, "public class %s {\n  public static void main(String[] args) throws Exception {\n    System.out.println(\"%s started\");\n    Thread.sleep(Long.MAX_VALUE);\n  }\n}\n", simple, fqcn)
		dir := filepath.Join(tmp, "src", fmt.Sprint(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		file := filepath.Join(dir, simple+".java")
		if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
			return nil, err
		}
		args = append(args, file)
	}
	cmd := exec.Command(filepath.Join(jdk, "bin", "javac"), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("javac: %w: %s", err, out)
	}
	classes := map[string][]byte{}
	for _, fqcn := range classNames {
		rel := strings.ReplaceAll(fqcn, ".", "/") + ".class"
		data, err := os.ReadFile(filepath.Join(tmp, "out", filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("javac output: %w", err)
		}
		classes[rel] = data
	}
	return classes, nil
}

// Attr is one manifest attribute; manifests keep their order.
type Attr struct{ Name, Value string }

// Manifest renders a MANIFEST.MF main section as the JDK writes it: CRLF line
// ends, lines of at most 72 bytes continued by a leading space.
func Manifest(attrs ...Attr) []byte {
	var b bytes.Buffer
	hasVersion := false
	for _, a := range attrs {
		if strings.EqualFold(a.Name, "Manifest-Version") {
			hasVersion = true
		}
	}
	if !hasVersion {
		attrs = append([]Attr{{"Manifest-Version", "1.0"}}, attrs...)
	}
	for _, a := range attrs {
		line := a.Name + ": " + a.Value
		for len(line) > 72 {
			b.WriteString(line[:72] + "\r\n")
			line = " " + line[72:]
		}
		b.WriteString(line + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// Entry is one file of a jar.
type Entry struct {
	Name   string
	Data   []byte
	Stored bool // not compressed (Spring Boot needs nested jars stored)
}

// WriteJar writes a jar: the manifest first (as java.util.jar expects), its
// parent directories, then the entries in order.
func WriteJar(file string, manifest []byte, entries ...Entry) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	z := zip.NewWriter(f)
	dirs := map[string]bool{}
	add := func(e Entry) error {
		for d := path.Dir(e.Name); d != "." && d != "/"; d = path.Dir(d) {
			if dirs[d] {
				break
			}
			dirs[d] = true
			// Directories are written before their files by the jar tool;
			// order does not matter to readers, so this keeps it simple.
			if _, err := z.CreateHeader(&zip.FileHeader{Name: d + "/", Method: zip.Store}); err != nil {
				return err
			}
		}
		method := zip.Deflate
		if e.Stored {
			method = zip.Store
		}
		w, err := z.CreateHeader(&zip.FileHeader{Name: e.Name, Method: method})
		if err != nil {
			return err
		}
		_, err = w.Write(e.Data)
		return err
	}
	if manifest != nil {
		if err := add(Entry{Name: "META-INF/MANIFEST.MF", Data: manifest}); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", file, err)
		}
	}
	for _, e := range entries {
		if err := add(e); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", file, err)
		}
	}
	if err := z.Close(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	return f.Close()
}

// JarBytes is WriteJar into memory (for nested jars).
func JarBytes(manifest []byte, entries ...Entry) ([]byte, error) {
	tmp, err := os.CreateTemp("", "samples-jar-")
	if err != nil {
		return nil, err
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	if err := WriteJar(name, manifest, entries...); err != nil {
		return nil, err
	}
	return os.ReadFile(name)
}

func classEntries(classes map[string][]byte) []Entry {
	names := make([]string, 0, len(classes))
	for n := range classes {
		names = append(names, n)
	}
	sort.Strings(names)
	var es []Entry
	for _, n := range names {
		es = append(es, Entry{Name: n, Data: classes[n]})
	}
	return es
}

func writeFile(root, containerPath string, data []byte) error {
	p := filepath.Join(root, filepath.FromSlash(containerPath))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
