package native

import (
	"log/slog"
	"reflect"
	"regexp"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan/elffixture"
)

var (
	discard      = slog.New(slog.DiscardHandler)
	releaseShape = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)
)

func TestRust(t *testing.T) {
	comment := func(s string) elffixture.Section { return elffixture.Section{Name: ".comment", Data: []byte(s)} }
	rodata := func(s string) elffixture.Section { return elffixture.Section{Name: ".rodata", Data: []byte(s)} }
	for _, tc := range []struct {
		name string
		exe  string
		want contract.Finding
	}{
		{"rustc's .comment", elfWith(comment("rustc version 1.95.0 (59807616e 2026-04-14)\x00Linker: LLD 22.1.2\x00GCC: (Debian 12.2.0-14+deb12u1) 12.2.0\x00"),
			rodata("/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/rt.rs")), contract.Finding{Kind: "Rust", KindVersion: "1.95.0"}},
		{"a nightly's .comment", elfWith(comment("rustc version 1.80.0-nightly (abc 2024-05-01)\x00")), contract.Finding{Kind: "Rust", KindVersion: "1.80.0-nightly"}},
		{"Debian's std paths", elfWith(comment("GCC: (Debian 12.2.0-14+deb12u1) 12.2.0\x00"),
			rodata("/usr/src/rustc-1.63.0/library/core/src/str/pattern.rscalled `Option::unwrap()`\x00/usr/src/rustc-1.63.0/library/std/src/rt.rs")), contract.Finding{Kind: "Rust", KindVersion: "1.63.0"}},
		{"Fedora's std paths", elfWith(rodata("/builddir/build/BUILD/rustc-1.79.0-src/library/std/src/rt.rs")), contract.Finding{Kind: "Rust", KindVersion: "1.79.0"}},
		{"rustup's std paths name a commit", elfWith(rodata("/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/rt.rs")), contract.Finding{}},
		{"std paths that disagree", elfWith(rodata("/usr/src/rustc-1.63.0/library/a.rs /usr/src/rustc-1.64.0/library/b.rs")), contract.Finding{}},
		{"a path that is no std path", elfWith(rodata("/opt/rustc-1.63.0/bin/rustc")), contract.Finding{}},
		{"a C program", elfWith(comment("GCC: (Debian 12.2.0-14+deb12u1) 12.2.0\x00"), rodata("hello\x00")), contract.Finding{}},
		{"a script", "#!/bin/sh\necho rustc version 1.2.3\n", contract.Finding{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := detectIn(t, map[string]string{"app/server": tc.exe}, fingerprint.Process{Name: "server", Exe: "/app/server"})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzRustcVersion gives the reader hostile .comment and .rodata sections:
// it never panics, and a version it answers is a version.
func FuzzRustcVersion(f *testing.F) {
	f.Add([]byte("rustc version 1.95.0 (59807616e 2026-04-14)\x00"), []byte("/usr/src/rustc-1.63.0/library/"))
	f.Add([]byte("rustc version 1.2"), []byte("/rustc-1.2.3-src/library//rustc-1.2.3/library/"))
	f.Fuzz(func(t *testing.T, comment, rodata []byte) {
		got := detectIn(t, map[string]string{"exe": elfWith(
			elffixture.Section{Name: ".comment", Data: comment}, elffixture.Section{Name: ".rodata", Data: rodata})}, fingerprint.Process{Exe: "/exe"})
		if got.Kind != "" && (got.Kind != "Rust" || !releaseShape.MatchString(got.KindVersion)) {
			t.Errorf("got %+v", got)
		}
	})
}
