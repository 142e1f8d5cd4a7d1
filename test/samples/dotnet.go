package samples

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The .NET samples are fixtures: no registry this project reaches ships
// .NET, so they copy the layout of Microsoft's runtime images (the dotnet
// host in /usr/share/dotnet, linked from /usr/bin/dotnet, the shared
// framework in shared/Microsoft.NETCore.App/<version>/, the app in /app with
// its *.runtimeconfig.json and *.deps.json) and of a self-contained publish
// output (the apphost beside libcoreclr.so). The host and the apphost are
// real running processes (a static C program that sleeps), started as the
// images start them; the libraries and assemblies are placeholders.

// Layouts of the .NET fixture.
const (
	DotnetFrameworkDependent = "framework-dependent"
	DotnetSelfContained      = "self-contained"
)

// dotnetRoot is where Microsoft's images install .NET.
const dotnetRoot = "/usr/share/dotnet"

// Dotnet writes a .NET app of the layout (DotnetFrameworkDependent: `dotnet
// app.dll` on the shared runtime; DotnetSelfContained: /app/<app> with the
// runtime beside it) whose runtime is Microsoft.NETCore.App version, under
// root. A framework-dependent app asks for major.minor.0 (as the SDK writes
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
	default:
		return Sample{}, fmt.Errorf("layout %q: want %q or %q", layout, DotnetFrameworkDependent, DotnetSelfContained)
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
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return ErrNoCompiler
	}
	tmp, err := os.MkdirTemp("", "samples-sleeper-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "main.c")
	if err := os.WriteFile(src, []byte("#include <unistd.h>\nint main(void) { for (;;) pause(); }\n"), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if b, err := exec.Command(gcc, append([]string{"-static", "-O2", "-o", out, src}, gccFlags...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: gcc: %v: %s", ErrNoCompiler, err, b)
	}
	return nil
}
