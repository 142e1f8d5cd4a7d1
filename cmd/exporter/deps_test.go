package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/openshift/insights-runtime-extractor/"

// privileged are the packages of the privileged side, and the libraries only
// it needs: the unprivileged exporter must link none of them (nor any of
// their subpackages), so that a flaw in it cannot reach what they can do.
var privileged = []string{
	module + "internal/extractor",
	module + "internal/coordinator",
	module + "internal/cri",
	module + "internal/sandbox",
	module + "internal/privileges",
	module + "internal/process",
	module + "internal/fingerprint",
	"github.com/BurntSushi/toml",
	"k8s.io/cri-api",
	"google.golang.org/grpc",
}

// shared are what the exporter must link: the contract both sides agree on.
// Asserting them keeps the test from passing on an empty or broken list.
var shared = []string{
	module + "internal/contract",
	module + "internal/trigger",
}

// TestExporterLinksNoPrivilegedPackage reads what the exporter binary links
// from the go command itself.
func TestExporterLinksNoPrivilegedPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	linked := make(map[string]bool, len(deps))
	for _, d := range deps {
		linked[d] = true
		for _, p := range privileged {
			if d == p || strings.HasPrefix(d, p+"/") {
				t.Errorf("the exporter links %s", d)
			}
		}
	}
	for _, s := range shared {
		if !linked[s] {
			t.Errorf("the exporter does not link %s; the list read is %d packages", s, len(deps))
		}
	}
	if !linked[module+"cmd/exporter"] {
		t.Errorf("go list did not list the exporter itself: %q", deps)
	}
}
