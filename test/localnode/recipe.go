package localnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Bases a recipe can start from.
const (
	BaseDebian12 = "debian12" // the shared Debian 12 rootfs (see Debian12)
	BaseScratch  = "scratch"  // nothing: the sample brings every file
)

// Recipe is runtime-samples/<name>/recipe.json: how to build one sample
// image offline. Only the layer on top of the base is per sample.
type Recipe struct {
	// Name is the folder name, also the image name.
	Name string `json:"-"`
	// Dir is the recipe's folder.
	Dir         string `json:"-"`
	Description string `json:"description"`
	Base        string `json:"base"`
	// Go builds the folder's package main as a static binary.
	Go *GoBuild `json:"go,omitempty"`
	// Java compiles the folder's *.java files with the host JDK into a jar.
	Java *JavaBuild `json:"java,omitempty"`
	// CSharp compiles the folder's *.cs with the host's Mono C# compiler
	// into an executable assembly.
	CSharp *CSharpBuild `json:"csharp,omitempty"`
	// Generate runs a named generator (test/samples) whose output is
	// added at the image's root; its command line, environment and working
	// directory are the image's unless the recipe sets them.
	Generate *Generate `json:"generate,omitempty"`
	// Files are copied from the folder into the image.
	Files      []FileCopy `json:"files,omitempty"`
	Entrypoint []string   `json:"entrypoint,omitempty"`
	Cmd        []string   `json:"cmd,omitempty"`
	Env        []string   `json:"env,omitempty"`
	User       string     `json:"user,omitempty"`
	WorkingDir string     `json:"workingDir,omitempty"`
	// WaitFor is the process name (comm) that shows the workload runs.
	WaitFor string `json:"waitFor,omitempty"`
	// NodeOnly: for the local node of the node e2e only (the sandbox image,
	// misbehaving and attacking workloads), never built for a registry nor
	// run on a cluster. scripts/runtime-samples.sh reads it too.
	NodeOnly bool `json:"nodeOnly,omitempty"`
}

// GoBuild puts a static Go program at Output in the image: the recipe
// folder's package main, or Package (a package path relative to the
// repository root, e.g. "./test/sandbox/probe", built in the Go module that
// holds it) when set.
type GoBuild struct {
	Output  string `json:"output"`
	Package string `json:"package,omitempty"`
}

// JavaBuild compiles the recipe folder's *.java (release 17) into a jar.
type JavaBuild struct {
	MainClass string `json:"mainClass"`
	Jar       string `json:"jar"`
}

// CSharpBuild compiles the recipe folder's *.cs (mcs) into the executable
// assembly Output.
type CSharpBuild struct {
	Output string `json:"output"`
}

// Generate asks a generator (DefaultGenerators) for content.
type Generate struct {
	Generator string            `json:"generator"`
	Params    map[string]string `json:"params,omitempty"`
}

// FileCopy copies Src (relative to the recipe folder) to Dst in the image.
type FileCopy struct {
	Src  string `json:"src"`
	Dst  string `json:"dst"`
	Mode string `json:"mode,omitempty"` // octal, e.g. "0755"; default 0644
}

// LoadRecipes reads every runtime-samples/*/recipe.json of the repository.
func LoadRecipes(repoDir string) (map[string]*Recipe, error) {
	paths, err := filepath.Glob(filepath.Join(repoDir, "runtime-samples", "*", "recipe.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no recipes under %s/runtime-samples", repoDir)
	}
	out := make(map[string]*Recipe, len(paths))
	for _, p := range paths {
		r, err := LoadRecipe(filepath.Dir(p))
		if err != nil {
			return nil, err
		}
		out[r.Name] = r
	}
	return out, nil
}

// LoadRecipe reads and checks <dir>/recipe.json; unknown fields are errors,
// so that a typo never silently builds a different image.
func LoadRecipe(dir string) (*Recipe, error) {
	p := filepath.Join(dir, "recipe.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read recipe: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	r := &Recipe{}
	if err := dec.Decode(r); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", p, err)
	}
	r.Name, r.Dir = filepath.Base(dir), dir
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", p, err)
	}
	return r, nil
}

func (r *Recipe) validate() error {
	switch r.Base {
	case BaseDebian12, BaseScratch:
	default:
		return fmt.Errorf("base %q: want %q or %q", r.Base, BaseDebian12, BaseScratch)
	}
	if len(r.Entrypoint) == 0 && len(r.Cmd) == 0 && r.Generate == nil {
		return fmt.Errorf("no entrypoint or cmd")
	}
	if r.Go != nil && !filepath.IsAbs(r.Go.Output) {
		return fmt.Errorf("go.output %q is not absolute", r.Go.Output)
	}
	if r.Go != nil && r.Go.Package != "" && !strings.HasPrefix(r.Go.Package, "./") {
		return fmt.Errorf("go.package %q: want a path of this repository starting with ./", r.Go.Package)
	}
	if r.Java != nil && (r.Java.MainClass == "" || !filepath.IsAbs(r.Java.Jar)) {
		return fmt.Errorf("java needs mainClass and an absolute jar path")
	}
	if r.CSharp != nil && !filepath.IsAbs(r.CSharp.Output) {
		return fmt.Errorf("csharp.output %q is not absolute", r.CSharp.Output)
	}
	if r.Generate != nil && r.Generate.Generator == "" {
		return fmt.Errorf("generate needs a generator")
	}
	for _, f := range r.Files {
		if f.Src == "" || !filepath.IsAbs(f.Dst) {
			return fmt.Errorf("file %q → %q: need src and an absolute dst", f.Src, f.Dst)
		}
		if _, err := f.mode(); err != nil {
			return err
		}
	}
	return nil
}

func (f FileCopy) mode() (os.FileMode, error) {
	if f.Mode == "" {
		return 0o644, nil
	}
	m, err := strconv.ParseUint(f.Mode, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("file %s: mode %q: %w", f.Src, f.Mode, err)
	}
	return os.FileMode(m), nil
}

// sortedNames returns the keys of m in order.
func sortedNames[T any](m map[string]T) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
