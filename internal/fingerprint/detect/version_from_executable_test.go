package detect_test

import (
	"reflect"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan/elffixture"
)

// The shipped entries of the kinds whose version is read from the
// executable: read when the file holds it (the fixture's "executable" could
// not even run), asked of --version otherwise, with the same string.
func TestVersionFromExecutableThroughTheShippedEntries(t *testing.T) {
	rodata := func(s string) string {
		return string(elffixture.File{Sections: []elffixture.Section{{Name: ".rodata", Data: []byte("\x00" + s + "\x00")}}}.Bytes())
	}
	for _, tc := range []struct {
		name, comm, exe, content string
		want                     contract.Finding
	}{
		{"node, read", "node", "/usr/bin/node", rodata("node.js/v22.6.0"), contract.Finding{Kind: "Node.js", KindVersion: "v22.6.0"}},
		{"python, read", "python3", "/usr/bin/python3.12", rodata("3.12.1"), contract.Finding{Kind: "Python", KindVersion: "Python 3.12.1"}},
		{"deno, read", "deno", "/usr/local/bin/deno", rodata("Deno/2.9.6Deno/2.9.6+e518fbd"), contract.Finding{Kind: "Deno", KindVersion: "2.9.6"}},
		{"bun, read", "bun", "/usr/local/bin/bun", rodata("Bun/1.4.5"), contract.Finding{Kind: "Bun", KindVersion: "1.4.5"}},
		{"deno, asked", "deno", "/usr/local/bin/deno",
			"#!/bin/sh\necho 'deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)'\necho 'v8 15.0.245.2-rusty'\n",
			contract.Finding{Kind: "Deno", KindVersion: "2.9.6"}},
		{"deno, answering something else", "deno", "/usr/local/bin/deno", "#!/bin/sh\necho 'dino 2.9.6'\n", contract.Finding{}},
		{"bun, asked", "bun", "/usr/local/bin/bun", "#!/bin/sh\necho 1.4.5\n", contract.Finding{Kind: "Bun", KindVersion: "1.4.5"}},
		{"node, asked", "node", "/usr/bin/node", "#!/bin/sh\necho v18.20.4\n", contract.Finding{Kind: "Node.js", KindVersion: "v18.20.4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, map[string]string{tc.exe: tc.content})
			got := fingerprintAll(t, root, fingerprint.Process{Name: tc.comm, Exe: tc.exe, Cmdline: []string{tc.comm}})
			got.OS, got.OSVersion = "", ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
