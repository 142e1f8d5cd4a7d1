package versionexec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan/elffixture"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rootfs"
)

// rodata is an executable whose .rodata holds the given constants, each
// ended by a NUL as a C compiler lays them out.
func rodata(needed []string, runPath string, constants ...string) []byte {
	var b bytes.Buffer
	b.WriteString("\x00other constants\x00")
	for _, c := range constants {
		b.WriteString(c)
		b.WriteByte(0)
	}
	return elffixture.File{Sections: []elffixture.Section{{Name: ".rodata", Data: b.Bytes()}}, Needed: needed, RunPath: runPath}.Bytes()
}

func readFromTree(t *testing.T, kind, exe string, files map[string][]byte, env ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root, err := rootfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return readVersion(detect.Env{Root: root, Request: fingerprint.Request{Process: fingerprint.Process{Exe: exe, Env: env}}}, formats[kind])
}

func TestVersionReadFromTheExecutable(t *testing.T) {
	for _, tc := range []struct {
		name, kind, exe string
		files           map[string][]byte
		env             []string
		want            string
		wantErr         bool
	}{
		{name: "node, static as nodejs.org builds it", kind: "Node.js", exe: "/usr/local/bin/node",
			files: map[string][]byte{"usr/local/bin/node": rodata(nil, "", "node.js/v22.6.0")}, want: "v22.6.0"},
		{name: "node, a pre-release", kind: "Node.js", exe: "/usr/local/bin/node",
			files: map[string][]byte{"usr/local/bin/node": rodata(nil, "", "node.js/v23.0.0-pre")}, want: "v23.0.0-pre"},
		{name: "node of Debian, its version in libnode", kind: "Node.js", exe: "/usr/bin/node",
			files: map[string][]byte{
				"usr/bin/node": rodata([]string{"libnode.so.108", "libc.so.6"}, ""),
				"usr/lib/x86_64-linux-gnu/libnode.so.108": rodata(nil, "", "https://nodejs.org/download/release/v18.20.4/node-v18.20.4.tar.gz", "node.js/v18.20.4"),
			}, want: "v18.20.4"},
		{name: "node, libnode on its run path", kind: "Node.js", exe: "/opt/node/bin/node",
			files: map[string][]byte{
				"opt/node/bin/node":           rodata([]string{"libnode.so.115"}, "$ORIGIN/../lib"),
				"opt/node/lib/libnode.so.115": rodata(nil, "", "node.js/v20.1.0"),
				// The loader would not take this one: the run path comes first.
				"usr/lib/libnode.so.115": rodata(nil, "", "node.js/v20.0.0"),
			}, want: "v20.1.0"},
		{name: "node, libnode on LD_LIBRARY_PATH", kind: "Node.js", exe: "/usr/bin/node", env: []string{"LD_LIBRARY_PATH=/app/lib"},
			files: map[string][]byte{
				"usr/bin/node":           rodata([]string{"libnode.so.108"}, ""),
				"app/lib/libnode.so.108": rodata(nil, "", "node.js/v18.0.1"),
			}, want: "v18.0.1"},
		{name: "node, libnode missing", kind: "Node.js", exe: "/usr/bin/node",
			files: map[string][]byte{"usr/bin/node": rodata([]string{"libnode.so.108"}, "")}, wantErr: true},
		{name: "node, two versions disagree", kind: "Node.js", exe: "/usr/local/bin/node",
			files: map[string][]byte{"usr/local/bin/node": rodata(nil, "", "node.js/v22.6.0", "node.js/v22.7.0")}, wantErr: true},
		{name: "node, no version shape", kind: "Node.js", exe: "/usr/local/bin/node",
			files: map[string][]byte{"usr/local/bin/node": rodata(nil, "", "node.js/v%s", "node.js/v1.2")}},
		{name: "node, a script", kind: "Node.js", exe: "/usr/local/bin/node",
			files: map[string][]byte{"usr/local/bin/node": []byte("#!/bin/sh\necho node.js/v1.2.3\n")}, wantErr: true},
		{name: "python of Debian, static", kind: "Python", exe: "/usr/bin/python3.11",
			files: map[string][]byte{"usr/bin/python3.11": rodata(nil, "", "3.11.0x", "pymalloc_debug", "3.11.2", "strict")}, want: "Python 3.11.2"},
		{name: "python, a release candidate", kind: "Python", exe: "/usr/bin/python3.13",
			files: map[string][]byte{"usr/bin/python3.13": rodata(nil, "", "3.13.0rc1")}, want: "Python 3.13.0rc1"},
		{name: "python 2", kind: "Python", exe: "/usr/bin/python2.7",
			files: map[string][]byte{"usr/bin/python2.7": rodata(nil, "", "2.7.18")}, want: "Python 2.7.18"},
		{name: "python of the official images, in libpython", kind: "Python", exe: "/usr/local/bin/python3",
			files: map[string][]byte{
				"usr/local/bin/python3":              rodata([]string{"libpython3.12.so.1.0", "libc.so.6"}, ""),
				"usr/local/lib/libpython3.12.so.1.0": rodata(nil, "", "3.12.1"),
			}, want: "Python 3.12.1"},
		{name: "python, no version in its names", kind: "Python", exe: "/usr/bin/python3",
			files: map[string][]byte{"usr/bin/python3": rodata(nil, "", "3.11.2")}, wantErr: true},
		{name: "python, another minor version only", kind: "Python", exe: "/usr/bin/python3.11",
			files: map[string][]byte{"usr/bin/python3.11": rodata(nil, "", "3.12.2")}},
		{name: "deno, its user agent among Rust constants", kind: "Deno", exe: "/usr/local/bin/deno",
			files: map[string][]byte{"usr/local/bin/deno": rodata(nil, "", "node-globalsdenover2.9.62.9.6+e518fbdDeno/2.9.6Deno/2.9.6+e518fbde518fbd66dda5")}, want: "2.9.6"},
		{name: "deno, a version followed by more version", kind: "Deno", exe: "/usr/local/bin/deno",
			files: map[string][]byte{"usr/local/bin/deno": rodata(nil, "", "Deno/2.9.6-rc.1Deno/2.9.6-rc.1+e518fbd")}},
		{name: "deno, another crate's agent", kind: "Deno", exe: "/usr/local/bin/deno",
			files: map[string][]byte{"usr/local/bin/deno": rodata(nil, "", "OTel-OTLP-Exporter-Deno/0.80.0grpc-timeout", "Deno/2.9.6Deno/2.9.6+e518fbd")}, want: "2.9.6"},
		{name: "deno, its agent unconfirmed", kind: "Deno", exe: "/usr/local/bin/deno",
			files: map[string][]byte{"usr/local/bin/deno": rodata(nil, "", "OTel-OTLP-Exporter-Deno/0.80.0grpc-timeout")}},
		{name: "bun", kind: "Bun", exe: "/usr/local/bin/bun",
			files: map[string][]byte{"usr/local/bin/bun": rodata(nil, "", "Bun v1.4.5 (Linux x64)", "Bun/1.4.5", "bun/1.4.5 npm/? node/v26.3.0 linux x64")}, want: "1.4.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readFromTree(t, tc.kind, tc.exe, tc.files, tc.env...)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("got %q, %v; want %q (error: %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestDisagreementIsAnError(t *testing.T) {
	_, err := readFromTree(t, "Bun", "/bun", map[string][]byte{"bun": rodata(nil, "", "Bun/1.4.5", "Bun/1.4.6")})
	if !errors.Is(err, elfscan.ErrDisagree) {
		t.Fatalf("got %v, want ErrDisagree", err)
	}
}

func TestDenoAnswer(t *testing.T) {
	for line, want := range map[string]string{
		"deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)":         "2.9.6",
		"deno 2.9.6+e518fbd (canary, release, x86_64-unknown-linux-gnu)": "2.9.6+e518fbd",
		"Python 3.11.2": "",
		"deno":          "",
		"":              "",
	} {
		if got := denoAnswer(line); got != want {
			t.Errorf("denoAnswer(%q) = %q, want %q", line, got, want)
		}
	}
}

// What each kind's reader may answer: the shape --version prints.
var answerShape = map[string]*regexp.Regexp{
	"Node.js": regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`),
	"Python":  regexp.MustCompile(`^Python [0-9]\.[0-9]+\.[0-9]+((a|b|rc)[0-9]+)?\+?$`),
	"Deno":    regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`),
	"Bun":     regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`),
}

// FuzzVersionFromExecutable gives every reader hostile constants and
// hostile files: none panics, and what one answers has its kind's shape.
func FuzzVersionFromExecutable(f *testing.F) {
	f.Add([]byte("node.js/v18.20.4\x00"), false)
	f.Add([]byte("\x003.11.2\x00"), false)
	f.Add([]byte("Deno/2.9.6Deno/2.9.6+e518fbd"), false)
	f.Add([]byte("\x00Bun/1.4.5\x00"), false)
	f.Add(rodata([]string{"libnode.so.108"}, "$ORIGIN"), true)
	f.Fuzz(func(t *testing.T, data []byte, whole bool) {
		file := data
		if !whole {
			file = elffixture.File{Sections: []elffixture.Section{{Name: ".rodata", Data: data}}}.Bytes()
		}
		for kind, shape := range answerShape {
			got, _ := readFromTree(t, kind, "/usr/bin/python3.11", map[string][]byte{"usr/bin/python3.11": file})
			if got != "" && !shape.MatchString(got) {
				t.Errorf("%s: %q has not the shape of a version", kind, got)
			}
		}
	})
}
