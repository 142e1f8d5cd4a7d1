package native

import (
	"bytes"
	"debug/elf"
	"os"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan"
)

// rustBuild recognizes a program built by rustc (kind Rust, the rustc
// version as `rustc --version` reports it, "1.63.0"). Recent rustc
// writes "rustc version <version> (<commit> <date>)" into .comment, which
// strip keeps. Older ones, and builds whose .comment was removed, still hold
// the standard library's source paths in their panic locations, and
// distributions build rustc from a tree named by its version:
// "/usr/src/rustc-1.63.0/library/" (Debian),
// "/builddir/build/BUILD/rustc-1.79.0-src/library/" (Fedora, RHEL).
// rustup's toolchains name theirs by commit ("/rustc/<hash>/library/"): a
// binary that holds only such paths is left unrecognised.
func rustBuild(_ detect.Env, exe *os.File, _ string) (contract.Finding, bool, error) {
	f, err := elf.NewFile(exe)
	if err != nil {
		return contract.Finding{}, false, nil
	}
	v, err := rustcVersion(f)
	return contract.Finding{Kind: "Rust", KindVersion: v}, v != "", err
}

var (
	rustcComment  = []byte("rustc version ")
	rustSourceDir = []byte("/rustc-")
)

// rustcVersion reads the rustc version from .comment, else from the
// standard library's paths in .rodata, which must all agree.
func rustcVersion(f *elf.File) (string, error) {
	comment, ok, err := elfscan.SmallSection(f, ".comment")
	if err != nil {
		return "", err
	}
	if ok {
		for _, s := range bytes.Split(comment, []byte{0}) {
			if after, found := bytes.CutPrefix(s, rustcComment); found {
				if v, rest, ok := elfscan.Release(after, true); ok && (len(rest) == 0 || rest[0] == ' ') {
					return v, nil
				}
			}
		}
	}
	rodata, ok := elfscan.Rodata(f)
	if !ok {
		return "", nil
	}
	return elfscan.Agreed(rodata, elfscan.MaxScan, rustSourceDir, 64, func(after []byte) (string, bool) {
		v, rest, ok := elfscan.Release(after, false)
		if !ok {
			return "", false
		}
		rest, _ = bytes.CutPrefix(rest, []byte("-src"))
		return v, bytes.HasPrefix(rest, []byte("/library/"))
	})
}
