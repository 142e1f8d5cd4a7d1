package samples

import (
	"fmt"
	"strings"
)

// Homes of the JBoss samples, as in the quay.io/wildfly/wildfly and Red Hat
// JBoss EAP images.
const (
	WildFlyHome = "/opt/jboss/wildfly"
	EAPHome     = "/opt/eap"
)

// Where a JBoss home declares its product (SPEC §7, in lookup order).
const (
	productModule      = "modules/system/layers/base/org/jboss/as/product/main"
	productManifest    = productModule + "/dir/META-INF/MANIFEST.MF"
	productConfJarBase = productModule + "/wildfly-feature-pack-product-conf-"
)

// JBossProductFile is how a JBoss home declares its product name and version.
type JBossProductFile int

const (
	// VersionTxt is <home>/version.txt, "<name> - Version <version>" (EAP 7).
	VersionTxt JBossProductFile = iota
	// ProductModuleManifest is the product module's dir/META-INF/MANIFEST.MF (EAP 8).
	ProductModuleManifest
	// ProductConfJar is the product module's wildfly-feature-pack-product-conf
	// jar, whose manifest names the product (WildFly 30 and later).
	ProductConfJar
)

// JBossOptions describe a JBoss Modules based server home.
type JBossOptions struct {
	Home            string // in the container, e.g. WildFlyHome
	ProductName     string // e.g. "WildFly Full"
	ProductVersion  string // e.g. "30.0.1.Final"
	ProductFile     JBossProductFile
	HomeFromEnvOnly bool // JBOSS_HOME in the environment, no -Djboss.home.dir on the command line
}

// WildFly writes a WildFly home whose version.txt names the product
// ("WildFly Full - Version 30.0.1.Final"), started by standalone.sh's command line.
func WildFly(root, name, version string) (Sample, error) {
	return JBoss(root, JBossOptions{Home: WildFlyHome, ProductName: name, ProductVersion: version, ProductFile: VersionTxt})
}

// WildFlyProductConf writes a WildFly 30+ home that declares its product only
// in modules/…/product/main/wildfly-feature-pack-product-conf-<version>.jar.
func WildFlyProductConf(root, name, version string) (Sample, error) {
	return JBoss(root, JBossOptions{Home: WildFlyHome, ProductName: name, ProductVersion: version, ProductFile: ProductConfJar})
}

// EAP7 writes a JBoss EAP 7 home (version.txt), its home given only by
// JBOSS_HOME in the environment.
func EAP7(root, version string) (Sample, error) {
	return JBoss(root, JBossOptions{Home: EAPHome, ProductName: "Red Hat JBoss Enterprise Application Platform",
		ProductVersion: version, ProductFile: VersionTxt, HomeFromEnvOnly: true})
}

// EAP8 writes a JBoss EAP 8 home whose product module manifest names the
// product (JBoss-Product-Release-Name / -Version).
func EAP8(root, version string) (Sample, error) {
	return JBoss(root, JBossOptions{Home: EAPHome, ProductName: "Red Hat JBoss Enterprise Application Platform",
		ProductVersion: version, ProductFile: ProductModuleManifest})
}

// JBoss writes a JBoss Modules based server home: jboss-modules.jar (its
// org.jboss.modules.Main sleeps), the modules tree, standalone/ and the product
// declaration chosen by o.ProductFile.
func JBoss(root string, o JBossOptions) (Sample, error) {
	classes, err := SleeperClasses("org.jboss.modules.Main")
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Root: root}
	home := strings.TrimSuffix(o.Home, "/")
	if err := WriteJar(s.HostPath(home+"/jboss-modules.jar"), Manifest(
		Attr{"Implementation-Title", "JBoss Modules"},
		Attr{"Implementation-Version", "2.1.5.Final"},
		Attr{"Main-Class", "org.jboss.modules.Main"},
	), classEntries(classes)...); err != nil {
		return Sample{}, err
	}
	files := map[string]string{
		"standalone/configuration/standalone.xml": "<server xmlns=\"urn:jboss:domain:20.0\"/>\n",
		"bin/standalone.sh":                       "#!/bin/sh\n# stand-in: the sample's command line is the one standalone.sh builds\n",
		productModule + "/module.xml":             "<module name=\"org.jboss.as.product\" slot=\"main\" xmlns=\"urn:jboss:module:1.9\">\n  <resources>\n    <resource-root path=\"dir\"/>\n  </resources>\n</module>\n",
	}
	switch o.ProductFile {
	case VersionTxt:
		files["version.txt"] = fmt.Sprintf("%s - Version %s\n", o.ProductName, o.ProductVersion)
	case ProductModuleManifest:
		files[productManifest] = string(Manifest(
			Attr{"JBoss-Product-Release-Name", o.ProductName},
			Attr{"JBoss-Product-Release-Version", o.ProductVersion},
			Attr{"JBoss-Product-Console-Slot", "eap"},
		))
	case ProductConfJar:
		files[productModule+"/module.xml"] = "<module name=\"org.jboss.as.product\" slot=\"main\" xmlns=\"urn:jboss:module:1.9\">\n  <resources>\n    <resource-root path=\"wildfly-feature-pack-product-conf-" + o.ProductVersion + ".jar\"/>\n  </resources>\n</module>\n"
		if err := WriteJar(s.HostPath(home+"/"+productConfJarBase+o.ProductVersion+".jar"), Manifest(
			Attr{"JBoss-Product-Release-Name", o.ProductName},
			Attr{"JBoss-Product-Release-Version", o.ProductVersion},
			Attr{"JBoss-Product-Console-Slot", "main"},
			Attr{"Implementation-Version", o.ProductVersion},
		), Entry{Name: "org/jboss/as/product/main/README", Data: []byte("stand-in\n")}); err != nil {
			return Sample{}, err
		}
	default:
		return Sample{}, fmt.Errorf("unknown JBoss product file %d", o.ProductFile)
	}
	for p, content := range files {
		if err := writeFile(root, home+"/"+p, []byte(content)); err != nil {
			return Sample{}, err
		}
	}
	// The command line standalone.sh execs (WildFly 30, trimmed of GC flags).
	s.Cmdline = []string{"java", "-D[Standalone]", "-Xms64m", "-Xmx512m",
		"-Djava.net.preferIPv4Stack=true", "-Djboss.modules.system.pkgs=org.jboss.byteman",
		"--add-exports=java.desktop/sun.awt=ALL-UNNAMED",
		"-Dorg.jboss.boot.log.file=" + home + "/standalone/log/server.log",
		"-jar", home + "/jboss-modules.jar", "-mp", home + "/modules", "org.jboss.as.standalone",
		"-Djboss.home.dir=" + home, "-Djboss.server.base.dir=" + home + "/standalone", "-b", "0.0.0.0"}
	if o.HomeFromEnvOnly {
		kept := s.Cmdline[:0]
		for _, a := range s.Cmdline {
			if !strings.HasPrefix(a, "-Djboss.home.dir=") {
				kept = append(kept, a)
			}
		}
		s.Cmdline = kept
	}
	s.Env = []string{"JBOSS_HOME=" + home}
	if !o.HomeFromEnvOnly {
		s.Env = nil
	}
	s.Cwd = home
	s.Kind, s.RuntimeName, s.RuntimeVersion = "Java", o.ProductName, o.ProductVersion
	return s, nil
}
