package elfscan

import (
	"bytes"
	"debug/elf"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan/elffixture"
)

func TestRelease(t *testing.T) {
	for _, tc := range []struct {
		in         string
		pre        bool
		want, rest string
		ok         bool
	}{
		{"18.20.4\x00", true, "18.20.4", "\x00", true},
		{"23.0.0-pre\x00", true, "23.0.0-pre", "\x00", true},
		{"23.0.0-pre", false, "23.0.0", "-pre", true},
		{"2.9.6Deno/", false, "2.9.6", "Deno/", true},
		{"1.2", true, "", "1.2", false},
		{"1..2", true, "", "1..2", false},
		{"1.2.3-", true, "", "1.2.3-", false},
		{"1234567.0.0", true, "", "1234567.0.0", false},
		{"v1.2.3", true, "", "v1.2.3", false},
	} {
		v, rest, ok := Release([]byte(tc.in), tc.pre)
		if v != tc.want || string(rest) != tc.rest || ok != tc.ok {
			t.Errorf("Release(%q, %v) = %q, %q, %v", tc.in, tc.pre, v, rest, ok)
		}
	}
}

func TestAgreed(t *testing.T) {
	value := func(after []byte) (string, bool) {
		s, ok := CString(after)
		return string(s), ok && len(s) > 0
	}
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"x\x00v=1\x00y v=1\x00", "1", nil},
		{"v=1\x00v=2\x00", "", ErrDisagree},
		{"v=\x00v=3", "", nil},
		{"nothing", "", nil},
	} {
		got, err := Agreed(strings.NewReader(tc.in), 1<<20, []byte("v="), 16, value)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Agreed(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestSectionsAndDynamic(t *testing.T) {
	data := elffixture.File{
		Sections: []elffixture.Section{{Name: ".comment", Data: []byte("GCC\x00")}, {Name: ".rodata", Data: []byte("constants")}},
		Needed:   []string{"libnode.so.108", "libc.so.6"},
		RunPath:  "$ORIGIN/../lib:/opt/lib",
	}.Bytes()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if c, ok, err := SmallSection(f, ".comment"); string(c) != "GCC\x00" || !ok || err != nil {
		t.Errorf(".comment = %q, %v, %v", c, ok, err)
	}
	if _, ok, err := SmallSection(f, ".missing"); ok || err != nil {
		t.Errorf(".missing: %v, %v", ok, err)
	}
	r, ok := Rodata(f)
	if !ok || r.Size() != int64(len("constants")) {
		t.Errorf("Rodata = %v, %v", r, ok)
	}
	needed, runPath, err := Dynamic(f)
	if strings.Join(needed, ",") != "libnode.so.108,libc.so.6" || strings.Join(runPath, ",") != "$ORIGIN/../lib,/opt/lib" || err != nil {
		t.Errorf("Dynamic = %q, %q, %v", needed, runPath, err)
	}
}

var releaseShape = regexp.MustCompile(`^[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}(-[0-9A-Za-z.]+)?$`)

// FuzzRelease: what Release takes is a version, and it and the rest are
// the input.
func FuzzRelease(f *testing.F) {
	f.Add([]byte("18.20.4-pre\x00"), true)
	f.Add([]byte("2.9.6Deno/"), false)
	f.Fuzz(func(t *testing.T, data []byte, pre bool) {
		v, rest, ok := Release(data, pre)
		if !ok {
			return
		}
		if !releaseShape.MatchString(v) || v+string(rest) != string(data) {
			t.Errorf("Release(%q) = %q, %q", data, v, rest)
		}
	})
}
