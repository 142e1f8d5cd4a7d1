package keyvalue

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseOSReleaseOfEachDistribution(t *testing.T) {
	for _, tc := range []struct{ file, id, versionID string }{
		{"debian-11", "debian", "11"},
		{"debian-12", "debian", "12"},
		{"debian-13", "debian", "13"},
		{"ubi-8", "rhel", "8.10"},
		{"ubi-9", "rhel", "9.4"},
		{"rhel-10", "rhel", "10.0"},
		{"alpine-3.20", "alpine", "3.20.2"},
		{"ubuntu-20.04", "ubuntu", "20.04"},
		{"ubuntu-24.04", "ubuntu", "24.04"},
		{"centos-7", "centos", "7"},
		{"oraclelinux-8", "ol", "8.10"},
		{"oraclelinux-10", "ol", "10.0"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "os-release", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			kv := Parse(data)
			if kv["ID"] != tc.id || kv["VERSION_ID"] != tc.versionID {
				t.Errorf("ID=%q VERSION_ID=%q, want %q %q", kv["ID"], kv["VERSION_ID"], tc.id, tc.versionID)
			}
		})
	}
}

func TestParseJDKReleaseFilesOfThisMachine(t *testing.T) {
	files, _ := filepath.Glob("/usr/lib/jvm/*/release")
	if len(files) == 0 {
		t.Skip("no JDK under /usr/lib/jvm")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		kv := Parse(data)
		if kv["JAVA_VERSION"] == "" || kv["IMPLEMENTOR"] == "" || kv["JAVA_VERSION"][0] == '"' {
			t.Errorf("%s: JAVA_VERSION=%q IMPLEMENTOR=%q", f, kv["JAVA_VERSION"], kv["IMPLEMENTOR"])
		}
	}
}

func TestParseQuotingAndJunk(t *testing.T) {
	kv := Parse([]byte("# comment\n\nID='sles'\r\nNAME=\"A \\\"quoted\\\" \\$name\"\nVERSION_ID=15.6 # trailing\n" +
		"not a line\n9BAD=x\nexport IMPLEMENTOR=\"Red Hat, Inc.\"\nID=later\nEMPTY=\nUNTERMINATED=\"abc\n"))
	want := map[string]string{
		"ID": "later", "NAME": `A "quoted" $name`, "VERSION_ID": "15.6",
		"IMPLEMENTOR": "Red Hat, Inc.", "EMPTY": "", "UNTERMINATED": `"abc`,
	}
	for k, v := range want {
		if kv[k] != v {
			t.Errorf("%s = %q, want %q", k, kv[k], v)
		}
	}
	if len(kv) != len(want) {
		t.Errorf("extra keys: %v", kv)
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "os-release", "*"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("JAVA_VERSION=\"17.0.15\"\nIMPLEMENTOR=\"Debian\"\n"))
	f.Add([]byte("A=\"\\\nB='\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for k := range Parse(data) {
			if !validName(k) {
				t.Fatalf("invalid key %q", k)
			}
		}
	})
}
