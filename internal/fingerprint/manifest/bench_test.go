package manifest

import "testing"

// BenchmarkParse measures reading a jar's manifest as Spring Boot writes it
// (a long continued Class-Path-like attribute included), once per JVM.
func BenchmarkParse(b *testing.B) {
	data := []byte("Manifest-Version: 1.0\r\nCreated-By: Maven JAR Plugin 3.4.1\r\nBuild-Jdk-Spec: 17\r\n" +
		"Implementation-Title: demo\r\nImplementation-Version: 0.0.1-SNAPSHOT\r\n" +
		"Main-Class: org.springframework.boot.loader.launch.JarLauncher\r\nStart-Class: com.example.demo.DemoApplication\r\n" +
		"Spring-Boot-Version: 3.5.3\r\nSpring-Boot-Classes: BOOT-INF/classes/\r\nSpring-Boot-Lib: BOOT-INF/lib/\r\n" +
		"Spring-Boot-Classpath-Index: BOOT-INF/classpath.idx\r\nSpring-Boot-Layers-Index: BOOT-INF/layers.idx\r\n" +
		"Class-Path: lib/spring-boot-3.5.3.jar lib/spring-core-6.2.8.jar lib/spring-context-6.2.8.jar lib/sprin\r\n" +
		" g-beans-6.2.8.jar lib/spring-aop-6.2.8.jar lib/spring-expression-6.2.8.jar lib/micrometer-observa\r\n" +
		" tion-1.15.1.jar\r\n\r\nName: BOOT-INF/classes/\r\nX: y\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if Parse(data).Get("Spring-Boot-Version") != "3.5.3" {
			b.Fatal("no Spring-Boot-Version")
		}
	}
}
