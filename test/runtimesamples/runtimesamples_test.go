package runtimesamples

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseExpectAcceptsOnlyTheReportsFields(t *testing.T) {
	tests := []struct {
		name, doc string
		want      *Expect
		wantErr   string
	}{
		{name: "os only", doc: `{"os": "ol", "osVersion": "8.10"}`, want: &Expect{OS: "ol", OSVersion: "8.10"}},
		{name: "every field, from-image values", doc: `{"os": "rhel", "osVersion": "from-image", "kind": "Java", "kindVersion": "from-image",
			"kindImplementer": "Red Hat, Inc.", "runtimes": [{"name": "Apache Tomcat", "version": "from-image"}, {"name": "Quarkus"}]}`,
			want: &Expect{OS: "rhel", OSVersion: FromImage, Kind: "Java", KindVersion: FromImage, KindImplementer: "Red Hat, Inc.",
				Runtimes: []Runtime{{Name: "Apache Tomcat", Version: FromImage}, {Name: "Quarkus"}}}},
		{name: "kind without os", doc: `{"kind": "Golang"}`, want: &Expect{Kind: "Golang"}},
		{name: "unknown field", doc: `{"os": "rhel", "osVersion": "9.5", "arch": "amd64"}`, wantErr: `unknown field "arch"`},
		{name: "field name in another case", doc: `{"os": "rhel", "osversion": "9.5"}`, wantErr: `unknown field "osversion"`},
		{name: "unknown runtime field", doc: `{"kind": "Java", "runtimes": [{"name": "Quarkus", "vendor": "x"}]}`, wantErr: `runtimes[0]: unknown field "vendor"`},
		{name: "trailing data", doc: `{"os": "rhel", "osVersion": "9.5"} {}`, wantErr: "after top-level value"},
		{name: "not an object", doc: `["os"]`, wantErr: "cannot unmarshal array"},
		{name: "a number", doc: `{"os": "rhel", "osVersion": 9.5}`, wantErr: "cannot unmarshal number"},
		{name: "empty", doc: `{}`, wantErr: "neither os nor kind"},
		{name: "os without version", doc: `{"os": "rhel"}`, wantErr: "os and osVersion go together"},
		{name: "kind from the image", doc: `{"kind": "from-image"}`, wantErr: "kind cannot be from-image"},
		{name: "version without kind", doc: `{"os": "rhel", "osVersion": "9.5", "kindVersion": "17"}`, wantErr: "need a kind"},
		{name: "runtime without name", doc: `{"kind": "Java", "runtimes": [{"version": "1"}]}`, wantErr: "runtimes[0]: the name must be given exactly"},
		{name: "runtime name from the image", doc: `{"kind": "Java", "runtimes": [{"name": "from-image"}]}`, wantErr: "runtimes[0]: the name must be given exactly"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseExpect([]byte(tc.doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestListNeedsExactlyOneOfRecipeAndExpectation(t *testing.T) {
	write := func(t *testing.T, root, name string, files ...string) {
		t.Helper()
		dir := filepath.Join(root, "runtime-samples", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range append(files, "Containerfile") {
			content := "{}"
			switch {
			case f == "expect.json":
				content = `{"os": "rhel", "osVersion": "9.5"}`
			case f == "recipe.json" && name == "pause":
				content = `{"nodeOnly": true}`
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("recipe, expectation and node-only samples, sorted", func(t *testing.T) {
		root := t.TempDir()
		write(t, root, "ubi", "expect.json")
		write(t, root, "pause", "recipe.json")
		write(t, root, "debian", "recipe.json")
		got, err := List(root)
		if err != nil {
			t.Fatal(err)
		}
		dir := func(n string) string { return filepath.Join(root, "runtime-samples", n) }
		want := []Sample{
			{Name: "debian", Dir: dir("debian"), HasRecipe: true},
			{Name: "pause", Dir: dir("pause"), HasRecipe: true, NodeOnly: true},
			{Name: "ubi", Dir: dir("ubi"), Expect: &Expect{OS: "rhel", OSVersion: "9.5"}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("List = %+v, want %+v", got, want)
		}
	})
	for _, tc := range []struct {
		name    string
		files   []string
		wantErr string
	}{
		{"both", []string{"recipe.json", "expect.json"}, "sample x: both recipe.json and expect.json"},
		{"neither", nil, "sample x: neither recipe.json nor expect.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, "x", tc.files...)
			if _, err := List(root); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	t.Run("a bad expectation names its file", func(t *testing.T) {
		root := t.TempDir()
		write(t, root, "x")
		p := filepath.Join(root, "runtime-samples", "x", "expect.json")
		if err := os.WriteFile(p, []byte(`{"os": "rhel"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := List(root); err == nil || err.Error() != p+": os and osVersion go together" {
			t.Errorf("error = %v", err)
		}
	})
}
