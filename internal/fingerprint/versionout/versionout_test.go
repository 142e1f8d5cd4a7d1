package versionout

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct{ name, stdout, stderr, want string }{
		{"node", "v22.6.0\n", "", "v22.6.0"},
		{"python 3", "Python 3.13.2\n", "", "Python 3.13.2"},
		{"python 2 prints on stderr", "", "Python 2.7.18\n", "Python 2.7.18"},
		{"first non-blank line", "\n  \r\n  v1.2.3  \r\nsecond\n", "", "v1.2.3"},
		{"stdout wins over stderr", "v1\n", "warning\n", "v1"},
		{"blank stdout falls back", " \n", "Python 2.7.5\n", "Python 2.7.5"},
		{"nothing", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Parse([]byte(tc.stdout), []byte(tc.stderr)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("v22.6.0\n"), []byte(""))
	f.Add([]byte(""), []byte("Python 2.7.18\r\n"))
	f.Fuzz(func(t *testing.T, stdout, stderr []byte) {
		got := Parse(stdout, stderr)
		for i := 0; i < len(got); i++ {
			if got[i] == '\n' || got[i] == '\r' {
				t.Fatalf("%q holds a line break", got)
			}
		}
		if len(got) > len(stdout)+len(stderr) {
			t.Fatalf("%q longer than the input", got)
		}
	})
}
