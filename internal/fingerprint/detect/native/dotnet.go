package native

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// The .NET kind is named as OpenTelemetry's process.runtime.name names it
// for .NET (Core) 5 and later; its version is that of the shared framework
// Microsoft.NETCore.App the app runs on, which is the runtime's own.
const (
	dotnetKind = ".NET"
	netCoreApp = "Microsoft.NETCore.App"
	// maxRuntimeConfig bounds a *.runtimeconfig.json (real ones: < 1 KiB).
	maxRuntimeConfig = 64 << 10
	// maxFrameworkVersions bounds the versions of an installation read.
	maxFrameworkVersions = 256
)

// dotnet recognizes .NET from the files around the executable, as the
// .NET host finds them:
//   - a self-contained app carries the runtime (libcoreclr.so) beside its
//     apphost, and its <app>.runtimeconfig.json names the included
//     Microsoft.NETCore.App version; a single-file app carries that file in
//     its bundle (dotnet_bundle.go);
//   - `dotnet app.dll` runs the host of an installation
//     (<root>/dotnet, <root>/shared/Microsoft.NETCore.App/<version>/), and an
//     apphost beside <app>.dll and <app>.runtimeconfig.json, or a
//     framework-dependent single-file app, runs one found through
//     DOTNET_ROOT or the usual places: the version is the installed one the
//     host's roll-forward rules pick for the app's runtimeconfig.json.
func dotnet(env detect.Env, exe *os.File, exePath string) (contract.Finding, bool, error) {
	f := contract.Finding{Kind: dotnetKind}
	dir, name := path.Split(exePath)
	var root string
	var h hostArgs
	var rc *runtimeConfig // the app's, when already read
	switch {
	case isRegular(env, dir+"libcoreclr.so"):
		c, err := readRuntimeConfig(env, dir+name+".runtimeconfig.json")
		f.KindVersion = c.included()
		return f, true, err
	case name == "dotnet" && env.Root.IsDir(dir+"shared/"+netCoreApp):
		root = dir
		h = parseHostArgs(env.Request.Process)
	case isRegular(env, dir+name+".runtimeconfig.json") && isRegular(env, dir+name+".dll"):
		root = dotnetRoot(env)
		h.app = dir + name + ".dll"
	default:
		data, err := bundleRuntimeConfig(exe)
		if errors.Is(err, errNotBundle) {
			return contract.Finding{}, false, nil
		}
		if err != nil {
			// The marker, but no bundle where it points: not one.
			return contract.Finding{}, false, err
		}
		if data == nil {
			return f, true, nil
		}
		c, err := parseRuntimeConfig(data)
		if err != nil {
			return f, true, err
		}
		if f.KindVersion = c.included(); f.KindVersion != "" {
			return f, true, nil
		}
		root, rc = dotnetRoot(env), &c
	}
	if root == "" {
		return f, true, nil
	}
	names, _, err := env.Root.ReadDirNames(path.Join(root, "shared", netCoreApp), maxFrameworkVersions)
	if err != nil {
		return f, true, err
	}
	installed := make([]fxVersion, 0, len(names))
	for _, n := range names {
		if v, ok := parseFxVersion(n); ok {
			installed = append(installed, v)
		}
	}
	if h.fxVersion != "" {
		// --fx-version runs that version or nothing.
		want, ok := parseFxVersion(h.fxVersion)
		if ok && containsVersion(installed, want) {
			f.KindVersion = want.text
		}
		return f, true, nil
	}
	if rc == nil {
		rc = &runtimeConfig{}
		if h.runtimeConfig == "" && h.app != "" {
			h.runtimeConfig = strings.TrimSuffix(h.app, ".dll") + ".runtimeconfig.json"
		}
		if h.runtimeConfig != "" {
			if *rc, err = readRuntimeConfig(env, h.runtimeConfig); err != nil {
				env.Log.Debug("no runtimeconfig.json", "err", err)
			}
		}
	}
	requested, ok := rc.requested()
	if !ok {
		// Nothing asks for a version: only an installation of one is certain.
		if len(installed) == 1 {
			f.KindVersion = installed[0].text
		}
		return f, true, nil
	}
	policy := rc.RuntimeOptions.RollForward
	if v, ok := env.Request.Process.Getenv("DOTNET_ROLL_FORWARD"); ok {
		policy = v
	}
	if h.rollForward != "" {
		policy = h.rollForward
	}
	if v, ok := rollForward(requested, policy, installed); ok {
		f.KindVersion = v.text
	}
	return f, true, nil
}

// isRegular reports whether name is a regular file inside the root (Open
// refuses anything else).
func isRegular(env detect.Env, name string) bool {
	file, err := env.Root.Open(name)
	if err != nil {
		return false
	}
	file.Close()
	return true
}

// dotnetRoot is where an apphost finds the shared runtime: DOTNET_ROOT, else
// the installation places of the official images and the distributions.
func dotnetRoot(env detect.Env) string {
	var dirs []string
	if v, ok := env.Request.Process.Getenv("DOTNET_ROOT"); ok && strings.HasPrefix(v, "/") {
		dirs = append(dirs, v)
	}
	dirs = append(dirs, "/usr/share/dotnet", "/usr/lib/dotnet", "/usr/lib64/dotnet")
	for _, d := range dirs {
		if env.Root.IsDir(path.Join(d, "shared", netCoreApp)) {
			return d
		}
	}
	return ""
}

// hostArgs is what `dotnet [exec] [host options] app.dll` says of the app.
type hostArgs struct {
	app, runtimeConfig, fxVersion, rollForward string
}

// parseHostArgs reads the host's options and the app's path (the first
// argument that is no option); an SDK command (`dotnet run`) names no app.
func parseHostArgs(p fingerprint.Process) hostArgs {
	var h hostArgs
	args := p.Cmdline
	if len(args) > 0 {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "exec" {
		args = args[1:]
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			if strings.HasSuffix(a, ".dll") {
				h.app = p.InCwd(a)
			}
			return h
		}
		if i+1 >= len(args) {
			return h
		}
		i++
		switch a {
		case "--runtimeconfig":
			h.runtimeConfig = p.InCwd(args[i])
		case "--fx-version":
			h.fxVersion = args[i]
		case "--roll-forward":
			h.rollForward = args[i]
		}
	}
	return h
}

// runtimeConfig is the part of <app>.runtimeconfig.json the host reads to
// choose the runtime.
type runtimeConfig struct {
	RuntimeOptions struct {
		Framework          *framework  `json:"framework"`
		Frameworks         []framework `json:"frameworks"`
		IncludedFrameworks []framework `json:"includedFrameworks"`
		RollForward        string      `json:"rollForward"`
	} `json:"runtimeOptions"`
}

type framework struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

func readRuntimeConfig(env detect.Env, name string) (runtimeConfig, error) {
	data, err := env.Root.ReadFile(name, maxRuntimeConfig)
	if err != nil {
		return runtimeConfig{}, err
	}
	return parseRuntimeConfig(data)
}

func parseRuntimeConfig(data []byte) (runtimeConfig, error) {
	var rc runtimeConfig
	if err := json.Unmarshal(data, &rc); err != nil {
		return runtimeConfig{}, fmt.Errorf("runtimeconfig.json: %w", err)
	}
	return rc, nil
}

// included is the Microsoft.NETCore.App version a self-contained app
// carries, "" when it names none.
func (rc runtimeConfig) included() string {
	for _, fw := range rc.RuntimeOptions.IncludedFrameworks {
		if _, ok := parseFxVersion(fw.Version); ok && fw.Name == netCoreApp {
			return fw.Version
		}
	}
	return ""
}

// requested is the Microsoft.NETCore.App version the app asks for. An app
// that references only a framework built on it (Microsoft.AspNetCore.App)
// asks for the same version of it: those ship in step.
func (rc runtimeConfig) requested() (fxVersion, bool) {
	fws := rc.RuntimeOptions.Frameworks
	if rc.RuntimeOptions.Framework != nil {
		fws = append([]framework{*rc.RuntimeOptions.Framework}, fws...)
	}
	var other *framework
	for i, fw := range fws {
		if fw.Name == netCoreApp {
			return parseFxVersion(fw.Version)
		}
		if other == nil && strings.HasPrefix(fw.Name, "Microsoft.") {
			other = &fws[i]
		}
	}
	if other != nil {
		return parseFxVersion(other.Version)
	}
	return fxVersion{}, false
}

// fxVersion is a framework version: major.minor.patch[-prerelease].
type fxVersion struct {
	major, minor, patch int
	pre                 string
	text                string
}

func parseFxVersion(s string) (fxVersion, bool) {
	v := fxVersion{text: s}
	release, pre, hasPre := strings.Cut(s, "-")
	if hasPre {
		if pre == "" || strings.Trim(pre, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-") != "" {
			return fxVersion{}, false
		}
		v.pre = pre
	}
	parts := strings.Split(release, ".")
	if len(parts) != 3 {
		return fxVersion{}, false
	}
	var n [3]int
	for i, p := range parts {
		if p == "" || len(p) > 6 || strings.Trim(p, "0123456789") != "" {
			return fxVersion{}, false
		}
		n[i], _ = strconv.Atoi(p)
	}
	v.major, v.minor, v.patch = n[0], n[1], n[2]
	return v, true
}

// compare orders versions; a pre-release comes before its release.
func (v fxVersion) compare(o fxVersion) int {
	if c := cmp.Or(cmp.Compare(v.major, o.major), cmp.Compare(v.minor, o.minor), cmp.Compare(v.patch, o.patch)); c != 0 {
		return c
	}
	switch {
	case v.pre == o.pre:
		return 0
	case v.pre == "":
		return 1
	case o.pre == "":
		return -1
	}
	return cmp.Compare(v.pre, o.pre)
}

func containsVersion(vs []fxVersion, want fxVersion) bool {
	for _, v := range vs {
		if v.compare(want) == 0 {
			return true
		}
	}
	return false
}

// rollForward picks, among the installed versions, the one the .NET host
// runs for a requested version under a roll-forward policy (default Minor):
// the lowest matching major and minor the policy allows, then its latest
// patch (the Latest* policies take the highest). Pre-releases are candidates
// only for a pre-release request. An unknown policy picks nothing.
func rollForward(req fxVersion, policy string, installed []fxVersion) (fxVersion, bool) {
	var cands []fxVersion
	for _, v := range installed {
		if v.compare(req) >= 0 && (v.pre == "" || req.pre != "") {
			cands = append(cands, v)
		}
	}
	sameMajor := func(v fxVersion) bool { return v.major == req.major }
	sameMinor := func(v fxVersion) bool { return v.major == req.major && v.minor == req.minor }
	switch strings.ToLower(policy) {
	case "disable":
		if containsVersion(installed, req) {
			return req, true
		}
		return fxVersion{}, false
	case "latestpatch":
		return highest(cands, sameMinor)
	case "", "minor":
		if v, ok := highest(cands, sameMinor); ok {
			return v, true
		}
		return latestPatchOfLowest(cands, sameMajor)
	case "major":
		if v, ok := highest(cands, sameMinor); ok {
			return v, true
		}
		if v, ok := latestPatchOfLowest(cands, sameMajor); ok {
			return v, true
		}
		return latestPatchOfLowest(cands, func(fxVersion) bool { return true })
	case "latestminor":
		return highest(cands, sameMajor)
	case "latestmajor":
		return highest(cands, func(fxVersion) bool { return true })
	}
	return fxVersion{}, false
}

// highest is the highest version that keep accepts.
func highest(vs []fxVersion, keep func(fxVersion) bool) (fxVersion, bool) {
	var best fxVersion
	found := false
	for _, v := range vs {
		if keep(v) && (!found || v.compare(best) > 0) {
			best, found = v, true
		}
	}
	return best, found
}

// latestPatchOfLowest is the latest patch of the lowest major.minor that
// keep accepts.
func latestPatchOfLowest(vs []fxVersion, keep func(fxVersion) bool) (fxVersion, bool) {
	var low fxVersion
	found := false
	for _, v := range vs {
		if keep(v) && (!found || v.compare(low) < 0) {
			low, found = v, true
		}
	}
	if !found {
		return fxVersion{}, false
	}
	return highest(vs, func(v fxVersion) bool { return v.major == low.major && v.minor == low.minor })
}
