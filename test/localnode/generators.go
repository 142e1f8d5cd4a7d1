package localnode

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/openshift/insights-runtime-extractor/test/samples"
)

// Generated is what a generator made: the workload's command line,
// environment and working directory inside the container, and what the
// extractor must find in it.
type Generated = samples.Sample

// Generator writes generated sample content into root (standing for the
// container's "/") from the recipe's params.
type Generator func(ctx context.Context, root string, params map[string]string) (Generated, error)

// DefaultGenerators are the recipe generators backed by test/samples:
// real Java product layouts built with the host JDK and a GraalVM-like ELF.
func DefaultGenerators() map[string]Generator {
	return map[string]Generator{
		"quarkus-fast-jar": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "version"); err != nil {
				return Generated{}, err
			}
			return samples.QuarkusFastJar(root, p["version"])
		},
		"spring-boot-jar": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "version", "launcher"); err != nil {
				return Generated{}, err
			}
			return samples.SpringBootJar(root, p["version"], p["launcher"])
		},
		"spring-boot-war": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "version", "launcher"); err != nil {
				return Generated{}, err
			}
			return samples.SpringBootWar(root, p["version"], p["launcher"])
		},
		"wildfly": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "name", "version"); err != nil {
				return Generated{}, err
			}
			return samples.WildFly(root, p["name"], p["version"])
		},
		"wildfly-product-conf": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "name", "version"); err != nil {
				return Generated{}, err
			}
			return samples.WildFlyProductConf(root, p["name"], p["version"])
		},
		"eap7": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "version"); err != nil {
				return Generated{}, err
			}
			return samples.EAP7(root, p["version"])
		},
		"eap8": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "version"); err != nil {
				return Generated{}, err
			}
			return samples.EAP8(root, p["version"])
		},
		// product: "open" (Open Liberty) or "websphere" (WebSphere Liberty).
		"liberty": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "version", "product"); err != nil {
				return Generated{}, err
			}
			return samples.Liberty(root, p["version"], p["product"] == "websphere")
		},
		// product: "glassfish" (Eclipse GlassFish) or "payara" (Payara Server).
		"glassfish": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "version", "product"); err != nil {
				return Generated{}, err
			}
			return samples.GlassFish(root, p["version"], p["product"] == "payara")
		},
		"micronaut": versionOnly(samples.Micronaut),
		"helidon":   versionOnly(samples.Helidon),
		"vertx":     versionOnly(samples.VertX),
		"undertow":  versionOnly(samples.Undertow),
		"dropwizard": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "version", "jettyVersion"); err != nil {
				return Generated{}, err
			}
			return samples.Dropwizard(root, p["version"], p["jettyVersion"])
		},
		// The application only: Jetty is Debian's, in the base rootfs.
		"jetty-embedded": func(_ context.Context, root string, _ map[string]string) (Generated, error) {
			return samples.EmbeddedJetty(root)
		},
		"rust-program": func(ctx context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "path"); err != nil {
				return Generated{}, err
			}
			return samples.RustProgram(ctx, root, p["path"])
		},
		"npm-binary": func(ctx context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "package", "version", "integrity", "member", "path", "kind"); err != nil {
				return Generated{}, err
			}
			return samples.NPMBinary(ctx, cacheDir(""), root, p["package"], p["version"], p["integrity"], p["member"], p["path"], p["kind"])
		},
		"dotnet": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			if err := need(p, "layout", "version"); err != nil {
				return Generated{}, err
			}
			return samples.Dotnet(root, p["layout"], p["version"])
		},
		// "quarkusVersion" may be empty: the binary then only holds quarkus.native names.
		"graalvm-native": func(_ context.Context, root string, p map[string]string) (Generated, error) {
			return samples.GraalVMNative(root, p["quarkusVersion"])
		},
	}
}

// versionOnly is the generator of a sample made from a version alone.
func versionOnly(gen func(root, version string) (samples.Sample, error)) Generator {
	return func(_ context.Context, root string, p map[string]string) (Generated, error) {
		if err := need(p, "version"); err != nil {
			return Generated{}, err
		}
		return gen(root, p["version"])
	}
}

// need checks that every key is present, so that a recipe typo is an error
// and not an image that silently differs.
func need(p map[string]string, keys ...string) error {
	var missing []string
	for _, k := range keys {
		if _, ok := p[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("missing params %s", strings.Join(missing, ", "))
	}
	return nil
}
