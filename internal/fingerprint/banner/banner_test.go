package banner

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// blob puts literals among other data, NUL-terminated as a C compiler
// stores them.
func blob(literals ...string) []byte {
	var b bytes.Buffer
	b.WriteString("\x7fnot-elf\x00some code\x01\x02\x00")
	for _, l := range literals {
		b.WriteString(l)
		b.WriteByte(0)
	}
	b.WriteString("trailing\x00")
	return b.Bytes()
}

func TestReaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		read func(io.ReaderAt) (Found, error)
		data []byte
		want Found
	}{
		{"php debian", PHP, blob("X-Powered-By: PHP/8.2.36"), Found{true, "8.2.36"}},
		{"php ubuntu", PHP, blob("X-Powered-By: PHP/8.1.2-1ubuntu2.14"), Found{true, "8.1.2-1ubuntu2.14"}},
		{"php release candidate", PHP, blob("X-Powered-By: PHP/8.3.0RC1"), Found{true, "8.3.0RC1"}},
		{"php header without a version", PHP, blob("X-Powered-By: PHP/"), Found{true, ""}},
		{"php header with a format", PHP, blob("X-Powered-By: PHP/%s"), Found{true, ""}},
		{"php version cut short", PHP, []byte("X-Powered-By: PHP/8.2.3"), Found{true, ""}},
		{"php second occurrence has the version", PHP, blob("X-Powered-By: PHP/x", "X-Powered-By: PHP/7.4.33"), Found{true, "7.4.33"}},
		{"not php", PHP, blob("Powered by nothing 8.2.1"), Found{}},
		{"perl 5.36", Perl, blob("This is perl 5, version 36, subversion 0 (%-p) built for x86_64-linux-gnu-thread-multi"), Found{true, "5.36.0"}},
		{"perl 5.10", Perl, blob("This is perl 5, version 10, subversion 1 (%s) built for i486-linux"), Found{true, "5.10.1"}},
		{"perl 5.8 banner is not read", Perl, blob("This is perl, v%vd built for %s"), Found{}},
		{"perl banner shape differs", Perl, blob("This is perl 5, version 36 (x)"), Found{true, ""}},
		{"not perl", Perl, blob("This is Perl-compatible"), Found{}},
		{"mono debian", Mono, blob("Mono JIT compiler version %s", "--version=number", "6.8.0.105", "--version"), Found{true, "6.8.0.105"}},
		{"mono aligned", Mono, []byte("Mono JIT compiler version %s\nCopyright\x00--version=number\x00\x00\x00\x006.12.0.200\x00"), Found{true, "6.12.0.200"}},
		{"mono version elsewhere", Mono, blob("Mono JIT compiler version %s", "--version=number", "-all,%s", "6.8.0.105"), Found{true, ""}},
		{"mono option without the driver", Mono, blob("--version=number", "6.8.0.105"), Found{}},
		{"empty", Mono, nil, Found{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.read(bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A real ELF keeps its literals in .rodata, which is all the readers scan:
// gcc builds one from C when the machine has it.
func TestReadersOnACompiledExecutable(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc on this machine")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.c")
	code := `#include <stdio.h>
#define PHP_VERSION "8.2.36"
int main(int argc, char **argv) {
	if (argc > 1) { puts("X-Powered-By: PHP/" PHP_VERSION); printf("This is perl 5, version 36, subversion 0 (%s) built\n", argv[0]); }
	return 0;
}
`
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "php")
	if out, err := exec.Command(gcc, "-O2", "-o", exe, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v: %s", err, out)
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, tc := range map[string]struct {
		read func(io.ReaderAt) (Found, error)
		want Found
	}{
		"php":  {PHP, Found{true, "8.2.36"}},
		"perl": {Perl, Found{true, "5.36.0"}},
		"mono": {Mono, Found{}},
	} {
		got, err := tc.read(f)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", name, got, err, tc.want)
		}
	}
}

func FuzzReaders(f *testing.F) {
	f.Add(blob("X-Powered-By: PHP/8.2.36"))
	f.Add(blob("This is perl 5, version 36, subversion 0 (%-p) built for x"))
	f.Add(blob("Mono JIT compiler version %s", "--version=number", "6.8.0.105"))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, read := range []func(io.ReaderAt) (Found, error){PHP, Perl, Mono} {
			got, err := read(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err) // a bytes.Reader never fails: only the data can, and it must not
			}
			if got.Version != "" && (!got.Is || strings.ContainsAny(got.Version, "\x00 \n") || len(got.Version) > MaxValue) {
				t.Fatalf("%+v from %q", got, data)
			}
		}
	})
}
