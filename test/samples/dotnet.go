package samples

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// The .NET samples are fixtures: no registry this project reaches ships
// .NET, so they copy the layout of Microsoft's runtime images (the dotnet
// host in /usr/share/dotnet, linked from /usr/bin/dotnet, the shared
// framework in shared/Microsoft.NETCore.App/<version>/, the app in /app with
// its *.runtimeconfig.json and *.deps.json) and of a self-contained publish
// output (the apphost beside libcoreclr.so) and of a single-file one (the
// apphost with the app's files and the bundle header appended). The host and
// the apphost are
// real running processes (a static C program that sleeps), started as the
// images start them; the libraries and assemblies are placeholders.

// Layouts of the .NET fixture.
const (
	DotnetFrameworkDependent = "framework-dependent"
	DotnetSelfContained      = "self-contained"
	DotnetSingleFile         = "single-file"
)

// dotnetRoot is where Microsoft's images install .NET.
const dotnetRoot = "/usr/share/dotnet"

// Dotnet writes a .NET app of the layout (DotnetFrameworkDependent: `dotnet
// app.dll` on the shared runtime; DotnetSelfContained: /app/<app> with the
// runtime beside it; DotnetSingleFile: /app/<app> with everything in it)
// whose runtime is Microsoft.NETCore.App version, under root. A framework-dependent app asks for major.minor.0 (as the SDK writes
// it) and the host rolls forward to the installed patch.
func Dotnet(root, layout, version string) (Sample, error) {
	parts := strings.Split(version, ".")
	if len(parts) != 3 {
		return Sample{}, fmt.Errorf("version %q: want major.minor.patch", version)
	}
	netVersion := parts[0] + "." + parts[1]
	tfm := "net" + netVersion
	files := map[string]string{}
	var host string
	s := Sample{Root: root, Cwd: "/app", Kind: ".NET", KindVersion: version,
		Env: []string{"DOTNET_VERSION=" + version, "DOTNET_RUNNING_IN_CONTAINER=true"}}
	switch layout {
	case DotnetFrameworkDependent:
		host = dotnetRoot + "/dotnet"
		fx := dotnetRoot + "/shared/Microsoft.NETCore.App/" + version + "/"
		files[dotnetRoot+"/host/fxr/"+version+"/libhostfxr.so"] = placeholder
		files[fx+"libcoreclr.so"] = placeholder
		files[fx+"System.Private.CoreLib.dll"] = placeholder
		files[fx+"Microsoft.NETCore.App.deps.json"] = depsJSON(netVersion, "Microsoft.NETCore.App.Runtime.linux-x64", version)
		files["/app/app.dll"] = placeholder
		files["/app/app.runtimeconfig.json"] = `{
  "runtimeOptions": {
    "tfm": "` + tfm + `",
    "framework": {
      "name": "Microsoft.NETCore.App",
      "version": "` + netVersion + `.0"
    }
  }
}
`
		files["/app/app.deps.json"] = depsJSON(netVersion, "app", "1.0.0")
		s.Cmdline = []string{"dotnet", "app.dll"}
	case DotnetSelfContained:
		host = "/app/shop"
		files["/app/libcoreclr.so"] = placeholder
		files["/app/libhostfxr.so"] = placeholder
		files["/app/System.Private.CoreLib.dll"] = placeholder
		files["/app/shop.dll"] = placeholder
		files["/app/shop.runtimeconfig.json"] = `{
  "runtimeOptions": {
    "tfm": "` + tfm + `",
    "includedFrameworks": [
      {
        "name": "Microsoft.NETCore.App",
        "version": "` + version + `"
      }
    ]
  }
}
`
		files["/app/shop.deps.json"] = depsJSON(netVersion, "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64", version)
		s.Cmdline = []string{"/app/shop"}
	case DotnetSingleFile:
		s.Cmdline = []string{"/app/shop"}
		return s, singleFileApp(root, "/app/shop", version, tfm, netVersion)
	default:
		return Sample{}, fmt.Errorf("layout %q: want %q, %q or %q", layout, DotnetFrameworkDependent, DotnetSelfContained, DotnetSingleFile)
	}
	for p, content := range files {
		if err := writeFile(root, p, []byte(content)); err != nil {
			return Sample{}, err
		}
	}
	if err := staticSleeper(filepath.Join(root, filepath.FromSlash(host))); err != nil {
		return Sample{}, err
	}
	if layout == DotnetFrameworkDependent {
		link := filepath.Join(root, "usr", "bin", "dotnet")
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return Sample{}, err
		}
		if err := os.Symlink("../share/dotnet/dotnet", link); err != nil {
			return Sample{}, err
		}
	}
	return s, nil
}

// bundleMarker is the apphost's marker of Microsoft's single-file bundles:
// 8 bytes for the offset of the bundle header (zero until the publish step
// bundles the app), then the SHA-256 of ".net core bundle".
var bundleMarker = []byte{
	0, 0, 0, 0, 0, 0, 0, 0,
	0x8b, 0x12, 0x02, 0xb9, 0x6a, 0x61, 0x20, 0x38,
	0x72, 0x7b, 0x93, 0x02, 0x14, 0xd7, 0xa0, 0x32,
	0x13, 0xf5, 0xb9, 0xe6, 0xef, 0xae, 0x33, 0x18,
	0xee, 0x3b, 0x2d, 0xce, 0x24, 0xb3, 0x6a, 0xae,
}

// singleFileApp writes, at containerPath, a self-contained single-file app
// as `dotnet publish -p:PublishSingleFile=true` lays it out: an apphost (a
// static program that sleeps, holding the marker as initialized data), the
// app's files appended, then the bundle header (version 6: where
// deps.json and runtimeconfig.json are) and the manifest of the files, and
// the marker set to the header's offset.
func singleFileApp(root, containerPath, version, tfm, netVersion string) error {
	var marker strings.Builder
	for i, b := range bundleMarker {
		if i > 0 {
			marker.WriteString(", ")
		}
		fmt.Fprintf(&marker, "0x%02x", b)
	}
	out := filepath.Join(root, filepath.FromSlash(containerPath))
	src := "#include <unistd.h>\nstatic volatile unsigned char bundle_marker[40] = {" + marker.String() + "};\n" +
		"int main(void) { (void)bundle_marker[0]; for (;;) pause(); }\n"
	if err := staticProgram(out, src); err != nil {
		return err
	}
	exe, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	at := bytes.Index(exe, bundleMarker)
	if at < 0 || bytes.Count(exe, bundleMarker[8:]) != 1 {
		return fmt.Errorf("%s: the bundle marker is not there once", out)
	}
	type file struct {
		typ           byte // 1 assembly, 3 deps.json, 4 runtimeconfig.json
		name, content string
		offset        int64
	}
	name := path.Base(containerPath)
	files := []file{
		{typ: 1, name: name + ".dll", content: placeholder},
		{typ: 3, name: name + ".deps.json", content: depsJSON(netVersion, "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64", version)},
		{typ: 4, name: name + ".runtimeconfig.json", content: `{
  "runtimeOptions": {
    "tfm": "` + tfm + `",
    "includedFrameworks": [
      {
        "name": "Microsoft.NETCore.App",
        "version": "` + version + `"
      }
    ]
  }
}
`},
	}
	for i := range files {
		files[i].offset = int64(len(exe))
		exe = append(exe, files[i].content...)
	}
	le := binary.LittleEndian
	var h bytes.Buffer
	prefixed := func(s string) {
		h.WriteByte(byte(len(s))) // every string here is under 128 bytes
		h.WriteString(s)
	}
	binary.Write(&h, le, [3]uint32{6, 0, uint32(len(files))})
	prefixed("fixture-bundle-id")
	binary.Write(&h, le, [4]int64{files[1].offset, int64(len(files[1].content)), files[2].offset, int64(len(files[2].content))})
	binary.Write(&h, le, uint64(0)) // flags
	for _, f := range files {
		binary.Write(&h, le, [3]int64{f.offset, int64(len(f.content)), 0}) // offset, size, compressed size (0: stored)
		h.WriteByte(f.typ)
		prefixed(f.name)
	}
	le.PutUint64(exe[at:at+8], uint64(len(exe)))
	exe = append(exe, h.Bytes()...)
	return os.WriteFile(out, exe, 0o755)
}

// placeholder stands for a library or an assembly the fixture does not ship.
const placeholder = "placeholder: not the real file\n"

// depsJSON is a *.deps.json of a .NET major.minor naming one library.
func depsJSON(netVersion, library, version string) string {
	target := ".NETCoreApp,Version=v" + netVersion
	return `{
  "runtimeTarget": {"name": "` + target + `"},
  "targets": {"` + target + `": {"` + library + `/` + version + `": {}}},
  "libraries": {"` + library + `/` + version + `": {"type": "project", "serviceable": false, "sha512": ""}}
}
`
}

// staticSleeper compiles a static C program that sleeps to out, with extra
// gcc flags.
func staticSleeper(out string, gccFlags ...string) error {
	return staticProgram(out, "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n", gccFlags...)
}

// staticProgram compiles the C source src, statically, to out.
func staticProgram(out, src string, gccFlags ...string) error {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return ErrNoCompiler
	}
	tmp, err := os.MkdirTemp("", "samples-c-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, "main.c")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if b, err := exec.Command(gcc, append([]string{"-static", "-O2", "-o", out, file}, gccFlags...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: gcc: %v: %s", ErrNoCompiler, err, b)
	}
	return nil
}
