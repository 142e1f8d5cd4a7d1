package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// The README teaches with examples; each must be an entry of the shipped
// config.toml, which the node e2e proves on a real sample of each.
func TestREADMEExampleEntriesAreShippedEntries(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.adoc"))
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := Load(filepath.Join("..", "..", "..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile(`(?s)\[source,toml\]\n----\n(.*?)\n----`).FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 2 {
		t.Fatalf("%d TOML examples in the README, want the version-executable and the Java one", len(blocks))
	}
	for _, b := range blocks {
		c, err := Parse(strings.NewReader(b[1]))
		if err != nil {
			t.Errorf("README example does not load: %v\n%s", err, b[1])
			continue
		}
		for _, v := range c.Fingerprints.VersionExecutables {
			if !slices.ContainsFunc(shipped.Fingerprints.VersionExecutables, func(s fingerprint.VersionExecutable) bool {
				return slices.Equal(s.ProcessNames, v.ProcessNames) && s.RuntimeKindName == v.RuntimeKindName && s.VersionPattern == v.VersionPattern
			}) {
				t.Errorf("README example %+v is not in config.toml", v)
			}
		}
		for _, j := range c.Fingerprints.Java {
			if !slices.Contains(shipped.Fingerprints.Java, j) {
				t.Errorf("README example %+v is not in config.toml", j)
			}
		}
	}
}
