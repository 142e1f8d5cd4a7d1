package manifest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMainSection(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
	}{
		{"CRLF as the jar tool writes", "Manifest-Version: 1.0\r\nMain-Class: a.B\r\n\r\nName: x\r\nMain-Class: evil\r\n",
			map[string]string{"Manifest-Version": "1.0", "Main-Class": "a.B"}},
		{"LF and case-insensitive names", "manifest-version: 1.0\nSPRING-BOOT-VERSION: 3.5.3\n",
			map[string]string{"Spring-Boot-Version": "3.5.3"}},
		{"CR only", "A: 1\rB: 2\r", map[string]string{"A": "1", "B": "2"}},
		{"continuation lines", "Class-Path: lib/boot/a.jar lib/bo\r\n ot/b.jar\r\n  lib/c.jar\r\nX: y\r\n",
			map[string]string{"Class-Path": "lib/boot/a.jar lib/boot/b.jar lib/c.jar", "X": "y"}},
		{"value without space after colon", "A:1\n", map[string]string{"A": "1"}},
		{"first occurrence wins", "A: 1\nA: 2\n", map[string]string{"A": "1"}},
		{"junk skipped", ": x\nno colon\nBad Name: v\n continuation of nothing\nOk: v\n", map[string]string{"Ok": "v"}},
		{"no final newline", "Implementation-Version: 10.1.60", map[string]string{"Implementation-Version": "10.1.60"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Parse([]byte(tc.in))
			for k, v := range tc.want {
				if got := m.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestClassPath(t *testing.T) {
	m := Parse([]byte("Class-Path: a.jar  lib/b.jar \r\n c.jar\r\n"))
	if got := m.ClassPath(); !reflect.DeepEqual(got, []string{"a.jar", "lib/b.jar", "c.jar"}) {
		t.Errorf("%q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("Manifest-Version: 1.0\r\nMain-Class: io.quarkus.bootstrap.runner.QuarkusEntryPoint\r\nClass-Path: lib/boot/a.jar lib/bo\r\n ot/b.jar\r\n\r\n"))
	f.Add([]byte("A:\n \n\r\r\n:\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := Parse(data)
		if m.Len() > len(data) {
			t.Fatalf("%d attributes from %d bytes", m.Len(), len(data))
		}
		for k, v := range m.attrs {
			if strings.ContainsAny(k, "\r\n:") || strings.ContainsAny(v, "\r\n") {
				t.Fatalf("attribute %q=%q holds a line break", k, v)
			}
		}
	})
}
