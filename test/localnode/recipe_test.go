package localnode

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRecipeRejectsWhatWouldBuildAnotherImage(t *testing.T) {
	tests := []struct {
		dir     string
		wantErr string
	}{
		{"good", ""},
		{"unknown-field", `unknown field "entrypiont"`},
		{"bad-base", `base "alpine"`},
		{"no-command", "no entrypoint or cmd"},
		{"relative-dst", "absolute dst"},
		{"bad-mode", `mode "rwx"`},
		{"bad-package", "path of this repository"},
		{"relative-csharp", `csharp.output "app.exe" is not absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			r, err := LoadRecipe(filepath.Join("testdata", "recipes", tt.dir))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if r.Name != tt.dir || r.Base != BaseDebian12 || r.WaitFor != "sleep" {
					t.Errorf("recipe = %+v", r)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

// Every sample of the repository must load: a broken recipe would only show
// as root, in the node e2e.
func TestEveryRuntimeSampleRecipeLoads(t *testing.T) {
	recipes, err := LoadRecipes(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	gens := DefaultGenerators()
	for name, r := range recipes {
		if r.Generate != nil {
			if _, ok := gens[r.Generate.Generator]; !ok {
				t.Errorf("%s: no generator %q", name, r.Generate.Generator)
			}
		}
		for _, f := range r.Files {
			if _, err := os.Stat(filepath.Join(r.Dir, f.Src)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := os.Stat(filepath.Join(r.Dir, "Containerfile")); err != nil {
			t.Errorf("%s: no Containerfile for a registry build", name)
		}
	}
	if _, ok := recipes["pause"]; !ok {
		t.Error("no pause recipe: the node has no sandbox image")
	}
}

func TestSmallLayerHoldsFilesWithParentsAndModes(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(src, "opt", "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "opt", "app", "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("app/run.sh", filepath.Join(src, "opt", "run")); err != nil {
		t.Fatal(err)
	}
	layer, err := smallLayer([]layerEntry{
		{Path: "/app/config", Data: []byte("k=v\n")},
		{Path: "/", HostPath: src},
	})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		desc := string(h.Typeflag) + " " + os.FileMode(h.Mode).Perm().String()
		if h.Linkname != "" {
			desc += " -> " + h.Linkname
		}
		if h.Uid != 0 || h.Gid != 0 {
			desc += " not root-owned"
		}
		got[h.Name] = desc
	}
	want := map[string]string{
		"app/":           "5 -rwxr-xr-x",
		"app/config":     "0 -rw-r--r--",
		"opt/":           "5 -rwxr-xr-x",
		"opt/app/":       "5 -rwxr-xr-x",
		"opt/app/run.sh": "0 -rwxr-xr-x",
		"opt/run":        "2 -rwxrwxrwx -> app/run.sh",
	}
	if len(got) != len(want) {
		t.Errorf("layer entries = %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
