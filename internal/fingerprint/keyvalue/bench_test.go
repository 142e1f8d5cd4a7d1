package keyvalue

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse measures the parser of os-release (every container) and of
// a JDK's release file (every JVM).
func BenchmarkParse(b *testing.B) {
	osRelease, err := os.ReadFile(filepath.Join("testdata", "os-release", "debian-12"))
	if err != nil {
		b.Fatal(err)
	}
	jdkRelease := []byte(`IMPLEMENTOR="Debian"
JAVA_RUNTIME_VERSION="17.0.15+6-Debian-1deb12u1"
JAVA_VERSION="17.0.15"
JAVA_VERSION_DATE="2025-04-15"
LIBC="gnu"
MODULES="java.base java.compiler java.datatransfer java.xml java.prefs java.desktop java.instrument java.logging java.management"
OS_ARCH="x86_64"
OS_NAME="Linux"
SOURCE=""
`)
	for name, data := range map[string][]byte{"os-release": osRelease, "java-release": jdkRelease} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if len(Parse(data)) == 0 {
					b.Fatal("nothing parsed")
				}
			}
		})
	}
}
