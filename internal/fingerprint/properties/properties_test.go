package properties

import (
	"maps"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
	}{
		{"Open Liberty's product file", "#Mon Nov 18 2024\ncom.ibm.websphere.productId=io.openliberty\ncom.ibm.websphere.productName=Open Liberty\ncom.ibm.websphere.productVersion=24.0.0.12\n",
			map[string]string{"com.ibm.websphere.productId": "io.openliberty", "com.ibm.websphere.productName": "Open Liberty", "com.ibm.websphere.productVersion": "24.0.0.12"}},
		{"GlassFish branding, empty values, CRLF", "product_name=Eclipse GlassFish\r\nmajor_version=7\r\nversion_suffix=\r\n",
			map[string]string{"product_name": "Eclipse GlassFish", "major_version": "7", "version_suffix": ""}},
		{"separators and white space", "  a = 1\nb:2\nc 3\nd\t=\t4 \n", map[string]string{"a": "1", "b": "2", "c": "3", "d": "4 "}},
		{"comments", "# x=1\n! y=2\n  #z=3\nw=#4\n", map[string]string{"w": "#4"}},
		{"continuation", "k=a\\\n    b\\\n  c\nl=\\\\\n", map[string]string{"k": "abc", "l": `\`}},
		{"escapes", `k\=x\ y=\u0041\t\q`, map[string]string{"k=x y": "A\tq"}},
		{"malformed unicode escape kept", `k=\u00zz`, map[string]string{"k": "u00zz"}},
		{"later wins", "k=1\nk=2\n", map[string]string{"k": "2"}},
		{"key only", "k\n", map[string]string{"k": ""}},
		{"continuation at end of file", "k=v\\", map[string]string{"k": "v"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Parse([]byte(tc.in)); !maps.Equal(got, tc.want) {
				t.Errorf("Parse(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a=b\n", "k\\\n v", `\u12`, "x:\\u0041\r\n!c", "\\", "=", " \\\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := Parse(data)
		for k, v := range m {
			// Escapes only shorten the text (\uXXXX is at most 3 bytes of UTF-8).
			if len(k)+len(v) > len(data)+utf8.UTFMax {
				t.Fatalf("%q=%q longer than the input %q", k, v, data)
			}
		}
	})
}
