package samples

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The Spring Boot launchers: Spring Boot 3.2 moved them to the launch package.
const (
	SpringBootJarLauncher       = "org.springframework.boot.loader.JarLauncher"
	SpringBootWarLauncher       = "org.springframework.boot.loader.WarLauncher"
	SpringBootLaunchJarLauncher = "org.springframework.boot.loader.launch.JarLauncher"
	SpringBootLaunchWarLauncher = "org.springframework.boot.loader.launch.WarLauncher"
)

// SpringBootHome is where the sample's fat jar or war lives.
const SpringBootHome = "/app"

// SpringBootJar writes /app/app.jar, a Spring Boot executable fat jar as the
// Spring Boot Maven plugin builds it (the launcher classes at the root,
// BOOT-INF/classes, BOOT-INF/lib with stored nested jars, the Spring-Boot-*
// manifest entries), assembled by the JDK's own jar tool. It runs as
// `java -jar app.jar` from /app (a path relative to the working directory).
func SpringBootJar(root, bootVersion, launcher string) (Sample, error) {
	return springBoot(root, bootVersion, launcher, "app.jar", "BOOT-INF")
}

// SpringBootWar is SpringBootJar for an executable war: WEB-INF/classes,
// WEB-INF/lib and WEB-INF/lib-provided.
func SpringBootWar(root, bootVersion, launcher string) (Sample, error) {
	return springBoot(root, bootVersion, launcher, "app.war", "WEB-INF")
}

func springBoot(root, bootVersion, launcher, file, inf string) (Sample, error) {
	jdk, err := FindJDK()
	if err != nil {
		return Sample{}, err
	}
	const start = "com.example.demo.DemoApplication"
	classes, err := SleeperClasses(launcher, start)
	if err != nil {
		return Sample{}, err
	}
	tmp, err := os.MkdirTemp("", "samples-springboot-")
	if err != nil {
		return Sample{}, err
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	put := func(rel string, data []byte) error {
		p := filepath.Join(tree, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
	startRel := strings.ReplaceAll(start, ".", "/") + ".class"
	launcherRel := strings.ReplaceAll(launcher, ".", "/") + ".class"
	if err := put(launcherRel, classes[launcherRel]); err != nil {
		return Sample{}, err
	}
	if err := put(inf+"/classes/"+startRel, classes[startRel]); err != nil {
		return Sample{}, err
	}
	if err := put(inf+"/classes/application.properties", []byte("spring.application.name=demo\n")); err != nil {
		return Sample{}, err
	}
	libs := map[string]string{
		"spring-boot-" + bootVersion + ".jar":               "spring-boot",
		"spring-boot-autoconfigure-" + bootVersion + ".jar": "spring-boot-autoconfigure",
	}
	var index strings.Builder
	for name, title := range libs {
		lib, err := JarBytes(Manifest(
			Attr{"Implementation-Title", title},
			Attr{"Implementation-Version", bootVersion},
			Attr{"Automatic-Module-Name", strings.ReplaceAll("org.springframework."+title, "-", ".")},
		), Entry{Name: "org/springframework/boot/README", Data: []byte("stand-in\n")})
		if err != nil {
			return Sample{}, err
		}
		if err := put(inf+"/lib/"+name, lib); err != nil {
			return Sample{}, err
		}
		fmt.Fprintf(&index, "- \"%s/lib/%s\"\n", inf, name)
	}
	attrs := []Attr{
		{"Created-By", "Maven JAR Plugin 3.4.1"},
		{"Build-Jdk-Spec", "17"},
		{"Implementation-Title", "demo"},
		{"Implementation-Version", "0.0.1-SNAPSHOT"},
		{"Main-Class", launcher},
		{"Start-Class", start},
		{"Spring-Boot-Version", bootVersion},
		{"Spring-Boot-Classes", inf + "/classes/"},
		{"Spring-Boot-Lib", inf + "/lib/"},
		{"Spring-Boot-Classpath-Index", inf + "/classpath.idx"},
		{"Spring-Boot-Layers-Index", inf + "/layers.idx"},
	}
	if inf == "WEB-INF" {
		provided, err := JarBytes(Manifest(Attr{"Implementation-Title", "tomcat-embed-core"}, Attr{"Implementation-Version", "10.1.42"}))
		if err != nil {
			return Sample{}, err
		}
		if err := put("WEB-INF/lib-provided/tomcat-embed-core-10.1.42.jar", provided); err != nil {
			return Sample{}, err
		}
	}
	if err := put(inf+"/classpath.idx", []byte(index.String())); err != nil {
		return Sample{}, err
	}
	if err := put(inf+"/layers.idx", []byte("- \"dependencies\":\n  - \""+inf+"/lib/\"\n- \"application\":\n  - \""+inf+"/classes/\"\n")); err != nil {
		return Sample{}, err
	}
	manifest := filepath.Join(tmp, "MANIFEST.MF")
	// The jar tool adds Manifest-Version and its own Created-By.
	if err := os.WriteFile(manifest, Manifest(attrs[1:]...), 0o644); err != nil {
		return Sample{}, err
	}
	out := filepath.Join(root, filepath.FromSlash(SpringBootHome), file)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return Sample{}, err
	}
	// -0: Spring Boot's loader needs the nested jars stored, not deflated.
	cmd := exec.Command(filepath.Join(jdk, "bin", "jar"), "--create", "--no-compress", "--file", out, "--manifest", manifest, "-C", tree, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		return Sample{}, fmt.Errorf("jar: %w: %s", err, b)
	}
	return Sample{
		Root:    root,
		Cmdline: []string{"java", "-XX:MaxRAMPercentage=75", "-jar", file, "--server.port=8080"},
		Cwd:     SpringBootHome,
		Kind:    "Java", RuntimeName: "Spring Boot", RuntimeVersion: bootVersion,
	}, nil
}
