// Package banner reads the version an interpreter's executable holds in its
// read-only data, without running it: PHP (its X-Powered-By header), Perl
// (the banner of perl -v) and Mono (the answer of --version=number). Each
// reader accepts a version only in the exact context the runtime's own
// source puts it in, and only with a version's shape: an executable that
// merely mentions one gives nothing.
package banner

import (
	"bytes"
	"debug/elf"
	"io"
	"regexp"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan"
)

// MaxValue bounds the bytes read after a marker: a version and its context.
const MaxValue = 64

// Found is what one reader found: whether the executable is the runtime,
// and its version when the executable holds one.
type Found struct {
	Is      bool
	Version string
}

// PHP finds the header every PHP SAPI holds ("X-Powered-By: PHP/" followed by
// PHP_VERSION at compile time): "8.2.36", "8.1.2-1ubuntu2.14", "8.3.0RC1".
func PHP(r io.ReaderAt) (Found, error) {
	return versioned(r, phpHeader, cString(phpVersion))
}

var (
	phpHeader  = []byte("X-Powered-By: PHP/")
	phpVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.+~_-]*$`)
)

// Perl finds the banner of perl -v, in which the revision, version and
// subversion are compiled in: "This is perl 5, version 36, subversion 0 (" gives
// "5.36.0" (the banner of Perl 5.10 and later).
func Perl(r io.ReaderAt) (Found, error) {
	return versioned(r, perlBanner, perlVersion)
}

var (
	perlBanner = []byte("This is perl ")
	perlParts  = regexp.MustCompile(`^([0-9]{1,3}), version ([0-9]{1,4}), subversion ([0-9]{1,4}) \(`)
)

func perlVersion(after []byte) (string, bool) {
	m := perlParts.FindSubmatch(after)
	if m == nil {
		return "", false
	}
	return string(m[1]) + "." + string(m[2]) + "." + string(m[3]), true
}

// Mono finds the format of mono --version ("Mono JIT compiler version %s"),
// which says the executable is Mono's driver, and the version its
// --version=number prints, the string that follows that option's name in
// the driver's data: "6.8.0.105".
func Mono(r io.ReaderAt) (Found, error) {
	res, err := scan(r, []elfscan.Needle{
		{Text: monoBanner},
		{Text: monoNumberOption, MaxValue: MaxValue, Value: monoVersion},
	})
	if err != nil {
		return Found{}, err
	}
	f := Found{Is: res[0].Found}
	if f.Is && res[1].Found {
		f.Version = res[1].Value
	}
	return f, nil
}

var (
	monoBanner       = []byte("Mono JIT compiler version %s")
	monoNumberOption = []byte("\x00--version=number\x00")
	monoVersionShape = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(\.[0-9]+)?$`)
)

// monoVersion takes the next string after the option's name; the compiler
// may align it with a few NUL bytes.
func monoVersion(after []byte) (string, bool) {
	start := 0
	for start < len(after) && start < 8 && after[start] == 0 {
		start++
	}
	return cString(monoVersionShape)(after[start:])
}

// versioned finds marker, and the version that value takes from the bytes
// after one of its occurrences.
func versioned(r io.ReaderAt, marker []byte, value func([]byte) (string, bool)) (Found, error) {
	res, err := scan(r, []elfscan.Needle{{Text: marker}, {Text: marker, MaxValue: MaxValue, Value: value}})
	if err != nil {
		return Found{}, err
	}
	return Found{Is: res[0].Found, Version: res[1].Value}, nil
}

// cString returns a Value that takes a NUL-terminated string matching shape:
// the whole literal, never a prefix of something longer.
func cString(shape *regexp.Regexp) func([]byte) (string, bool) {
	return func(after []byte) (string, bool) {
		end := bytes.IndexByte(after, 0)
		if end < 0 || !shape.Match(after[:end]) {
			return "", false
		}
		return string(after[:end]), true
	}
}

// scan looks for the needles in the read-only data of an ELF executable,
// where string literals are, or in the whole file (at most elfscan.MaxScan
// bytes) when it has no such section.
func scan(r io.ReaderAt, needles []elfscan.Needle) ([]elfscan.Result, error) {
	var data io.Reader = io.NewSectionReader(r, 0, elfscan.MaxScan)
	if f, err := elf.NewFile(r); err == nil {
		if s := f.Section(".rodata"); s != nil && s.Type == elf.SHT_PROGBITS {
			data = s.Open()
		}
	}
	return elfscan.Scan(data, elfscan.MaxScan, needles)
}
