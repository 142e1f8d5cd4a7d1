// Package runtimesamples reads the registry side of runtime-samples/: which
// folders `make runtime-samples` builds for a cluster, and, for the samples
// only a registry can build (no recipe.json), the expect.json that says what
// the extractor must report for them.
package runtimesamples

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// FromImage as an expected value means "whatever the image holds": the
// cluster e2e reads it from the running pod (os-release, the JDK's release
// file, the runtime's own --version, version.txt), because the image's tag
// does not pin it.
const FromImage = "from-image"

// maxExpectSize bounds expect.json: a few fields, never more.
const maxExpectSize = 64 << 10

// Expect is <sample>/expect.json: the fields of the exporter's JSON (SPEC §2)
// the sample's container must report, and no other field.
type Expect struct {
	OS              string    `json:"os,omitempty"`
	OSVersion       string    `json:"osVersion,omitempty"`
	Kind            string    `json:"kind,omitempty"`
	KindVersion     string    `json:"kindVersion,omitempty"`
	KindImplementer string    `json:"kindImplementer,omitempty"`
	Runtimes        []Runtime `json:"runtimes,omitempty"`
}

// Runtime is one item of "runtimes".
type Runtime struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Sample is one folder of runtime-samples/ with a Containerfile.
type Sample struct {
	Name, Dir string
	// HasRecipe: the node e2e builds it offline from recipe.json (and the
	// cluster e2e derives its expectations from the recipe).
	HasRecipe bool
	// Expect is the decoded expect.json of a registry-only sample; nil when
	// the sample has a recipe.
	Expect *Expect
	// NodeOnly samples are for the local node of the node e2e only: never
	// built for a registry nor run on a cluster.
	NodeOnly bool
}

// nodeOnly reads the "nodeOnly" mark of a recipe.json (localnode.Recipe):
// samples for the local node of the node e2e only. A folder without a recipe
// is never node-only.
func nodeOnly(dir string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "recipe.json"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var r struct {
		NodeOnly bool `json:"nodeOnly"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return false, fmt.Errorf("%s/recipe.json: %w", dir, err)
	}
	return r.NodeOnly, nil
}

// List reads every runtime-samples/*/Containerfile of the repository, sorted
// by name. A folder must hold either a recipe.json or an expect.json, not
// both: an expectation beside a recipe would be a second truth.
func List(repoDir string) ([]Sample, error) {
	files, err := filepath.Glob(filepath.Join(repoDir, "runtime-samples", "*", "Containerfile"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Containerfile under %s/runtime-samples", repoDir)
	}
	out := make([]Sample, 0, len(files))
	for _, f := range files {
		dir := filepath.Dir(f)
		s := Sample{Name: filepath.Base(dir), Dir: dir}
		if s.NodeOnly, err = nodeOnly(dir); err != nil {
			return nil, err
		}
		s.HasRecipe = exists(filepath.Join(dir, "recipe.json"))
		hasExpect := exists(filepath.Join(dir, "expect.json"))
		switch {
		case s.HasRecipe && hasExpect:
			return nil, fmt.Errorf("sample %s: both recipe.json and expect.json: keep one", s.Name)
		case !s.HasRecipe && !hasExpect:
			return nil, fmt.Errorf("sample %s: neither recipe.json nor expect.json", s.Name)
		case hasExpect:
			if s.Expect, err = LoadExpect(dir); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// LoadExpect reads and checks <dir>/expect.json strictly: unknown fields,
// trailing data and values no image could make true are errors, so that a
// typo never silently asserts less.
func LoadExpect(dir string) (*Expect, error) {
	p := filepath.Join(dir, "expect.json")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read expectation: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxExpectSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if len(b) > maxExpectSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, maxExpectSize)
	}
	e, err := ParseExpect(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return e, nil
}

// ParseExpect decodes and checks one expect.json document.
func ParseExpect(b []byte) (*Expect, error) {
	if err := exactKeys(b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	e := &Expect{}
	if err := dec.Decode(e); err != nil {
		return nil, err
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// exactKeys refuses field names that encoding/json would only match
// case-insensitively ("osversion"): the exporter's names are exact. Being
// json.Unmarshal, it also refuses trailing data after the object.
func exactKeys(b []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return err
	}
	known := map[string]bool{"os": true, "osVersion": true, "kind": true, "kindVersion": true, "kindImplementer": true, "runtimes": true}
	for k := range top {
		if !known[k] {
			return fmt.Errorf("unknown field %q", k)
		}
	}
	if raw, ok := top["runtimes"]; ok {
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("runtimes: %w", err)
		}
		for i, it := range items {
			for k := range it {
				if k != "name" && k != "version" {
					return fmt.Errorf("runtimes[%d]: unknown field %q", i, k)
				}
			}
		}
	}
	return nil
}

func (e *Expect) validate() error {
	if e.OS == "" && e.Kind == "" {
		return errors.New("expects neither os nor kind: every sample reports at least one")
	}
	if (e.OS == "") != (e.OSVersion == "") {
		return errors.New("os and osVersion go together")
	}
	if e.Kind == FromImage {
		return errors.New("kind cannot be " + FromImage + ": it says how to read the other values")
	}
	if e.Kind == "" && (e.KindVersion != "" || e.KindImplementer != "" || len(e.Runtimes) > 0) {
		return errors.New("kindVersion, kindImplementer and runtimes need a kind")
	}
	for i, r := range e.Runtimes {
		if r.Name == "" || r.Name == FromImage {
			return fmt.Errorf("runtimes[%d]: the name must be given exactly", i)
		}
	}
	return nil
}
