package samples

import (
	"archive/zip"
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/debpkg/debpkgtest"
)

func needJDK(t *testing.T) string {
	t.Helper()
	debpkgtest.Need(t, JDKPackages()...)
	jdk, err := FindJDK()
	if errors.Is(err, ErrNoJDK) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return jdk
}

// runUntilStarted starts the sample's command line on the host (paths of the
// sample are under s.Root) and waits for its main class to say it started.
func runUntilStarted(t *testing.T, jdk string, s Sample, wantLine string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := make([]string, 0, len(s.Cmdline))
	for _, a := range s.Cmdline[1:] {
		if strings.HasPrefix(a, "/") {
			a = s.HostPath(a)
		}
		args = append(args, a)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(jdk, "bin", "java"), args...)
	cmd.Dir = s.HostPath(s.Cwd)
	cmd.Env = append(os.Environ(), s.Env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != wantLine {
		t.Fatalf("%v printed %q (%v), want %q", s.Cmdline, line, err, wantLine)
	}
}

func manifestOf(t *testing.T, jar string) string {
	t.Helper()
	z, err := zip.OpenReader(jar)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	f, err := z.Open("META-INF/MANIFEST.MF")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJavaSamplesRunOnTheRealJDK(t *testing.T) {
	jdk := needJDK(t)
	for _, tc := range []struct {
		name     string
		gen      func(root string) (Sample, error)
		wantLine string
	}{
		{"quarkus fast-jar", func(r string) (Sample, error) { return QuarkusFastJar(r, "3.15.1") }, "io.quarkus.bootstrap.runner.QuarkusEntryPoint started"},
		{"spring boot jar, new launcher", func(r string) (Sample, error) { return SpringBootJar(r, "3.5.3", SpringBootLaunchJarLauncher) }, SpringBootLaunchJarLauncher + " started"},
		{"spring boot war, old launcher", func(r string) (Sample, error) { return SpringBootWar(r, "2.7.18", SpringBootWarLauncher) }, SpringBootWarLauncher + " started"},
		{"wildfly", func(r string) (Sample, error) { return WildFly(r, "WildFly Full", "30.0.1.Final") }, "org.jboss.modules.Main started"},
		{"eap 7", func(r string) (Sample, error) { return EAP7(r, "7.4.19.GA") }, "org.jboss.modules.Main started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.gen(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			runUntilStarted(t, jdk, s, tc.wantLine)
		})
	}
}

func TestSpringBootJarIsBuiltByTheJarTool(t *testing.T) {
	needJDK(t)
	s, err := SpringBootJar(t.TempDir(), "3.5.3", SpringBootLaunchJarLauncher)
	if err != nil {
		t.Fatal(err)
	}
	m := manifestOf(t, s.HostPath("/app/app.jar"))
	for _, want := range []string{"Created-By: ", "Spring-Boot-Version: 3.5.3\r\n", "Main-Class: " + SpringBootLaunchJarLauncher + "\r\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %q:\n%s", want, m)
		}
	}
}

func TestManifestWrapsLongLinesAt72Bytes(t *testing.T) {
	long := strings.Repeat("lib/boot/a-very-long-jar-name-1.0.jar ", 5)
	m := string(Manifest(Attr{"Class-Path", long}))
	for _, line := range strings.Split(strings.TrimSuffix(m, "\r\n\r\n"), "\r\n") {
		if len(line) > 72 {
			t.Errorf("line of %d bytes: %q", len(line), line)
		}
	}
	joined := strings.ReplaceAll(m, "\r\n ", "")
	if !strings.Contains(joined, "Class-Path: "+long+"\r\n") {
		t.Errorf("unwrapped manifest %q", joined)
	}
}

func TestGraalVMNativeHasAnSVMHeapAndRuns(t *testing.T) {
	debpkgtest.Need(t, NativePackages()...)
	for _, version := range []string{"3.15.1", ""} {
		s, err := GraalVMNative(t.TempDir(), version)
		if errors.Is(err, ErrNoCompiler) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.Open(s.HostPath(GraalVMPath))
		if err != nil {
			t.Fatal(err)
		}
		sec := f.Section(".svm_heap")
		if sec == nil {
			t.Fatal("no .svm_heap section")
		}
		data, err := sec.Data()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		hasVersion := strings.Contains(string(data), "__quarkus_analytics__quarkus.version="+version+"\x00")
		if hasVersion != (version != "") || !strings.Contains(string(data), "quarkus.native") {
			t.Errorf("version %q: heap content wrong", version)
		}
		cmd := exec.Command(s.HostPath(GraalVMPath))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Errorf("the stand-in did not keep running: %v", err)
		}
		_ = cmd.Wait()
	}
}
