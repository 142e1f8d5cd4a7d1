package native

import (
	"reflect"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// The trees copy the layout of Microsoft's runtime images
// (/usr/share/dotnet/{dotnet,shared/Microsoft.NETCore.App/<version>/}, the
// app in /app) and of a self-contained publish output.
func TestDotnet(t *testing.T) {
	host := "\x7fELF host"
	shared := func(versions ...string) map[string]string {
		files := map[string]string{"usr/share/dotnet/dotnet": host}
		for _, v := range versions {
			files["usr/share/dotnet/shared/Microsoft.NETCore.App/"+v+"/libcoreclr.so"] = "lib"
		}
		return files
	}
	with := func(files map[string]string, more ...string) map[string]string {
		for i := 0; i+1 < len(more); i += 2 {
			files[more[i]] = more[i+1]
		}
		return files
	}
	config := func(name, version string) string {
		return `{"runtimeOptions": {"tfm": "net8.0", "framework": {"name": "` + name + `", "version": "` + version + `"}}}`
	}
	dotnetApp := fingerprint.Process{Name: "dotnet", Exe: "/usr/share/dotnet/dotnet", Cmdline: []string{"dotnet", "app.dll"}, Cwd: "/app"}
	for _, tc := range []struct {
		name  string
		files map[string]string
		p     fingerprint.Process
		want  contract.Finding
	}{
		{"dotnet app.dll, the runtime image's one version",
			with(shared("8.0.11"), "app/app.dll", "MZ", "app/app.runtimeconfig.json", config("Microsoft.NETCore.App", "8.0.0")),
			dotnetApp, contract.Finding{Kind: ".NET", KindVersion: "8.0.11"}},
		{"rolls forward to the latest patch of the lowest minor",
			with(shared("8.0.11", "8.0.2", "8.1.1", "9.0.0", "8.0.12-preview.1"), "app/app.dll", "MZ", "app/app.runtimeconfig.json", config("Microsoft.NETCore.App", "8.0.0")),
			dotnetApp, contract.Finding{Kind: ".NET", KindVersion: "8.0.11"}},
		{"an ASP.NET Core app",
			with(shared("8.0.11", "9.0.1"), "app/app.dll", "MZ", "app/app.runtimeconfig.json", config("Microsoft.AspNetCore.App", "9.0.0")),
			dotnetApp, contract.Finding{Kind: ".NET", KindVersion: "9.0.1"}},
		{"DOTNET_ROLL_FORWARD",
			with(shared("8.0.11", "9.0.1"), "app/app.dll", "MZ", "app/app.runtimeconfig.json", config("Microsoft.NETCore.App", "8.0.0")),
			fingerprint.Process{Name: "dotnet", Exe: "/usr/share/dotnet/dotnet", Cmdline: []string{"dotnet", "/app/app.dll"}, Env: []string{"DOTNET_ROLL_FORWARD=LatestMajor"}},
			contract.Finding{Kind: ".NET", KindVersion: "9.0.1"}},
		{"dotnet exec --fx-version",
			with(shared("8.0.11", "8.0.12")),
			fingerprint.Process{Name: "dotnet", Exe: "/usr/share/dotnet/dotnet", Cmdline: []string{"dotnet", "exec", "--fx-version", "8.0.11", "/app/app.dll"}},
			contract.Finding{Kind: ".NET", KindVersion: "8.0.11"}},
		{"no version installed that the app runs on",
			with(shared("7.0.20"), "app/app.dll", "MZ", "app/app.runtimeconfig.json", config("Microsoft.NETCore.App", "8.0.0")),
			dotnetApp, contract.Finding{Kind: ".NET"}},
		{"an SDK command on one installed version",
			shared("8.0.11"),
			fingerprint.Process{Name: "dotnet", Exe: "/usr/share/dotnet/dotnet", Cmdline: []string{"dotnet", "run"}},
			contract.Finding{Kind: ".NET", KindVersion: "8.0.11"}},
		{"an SDK command on two installed versions",
			shared("8.0.11", "9.0.0"),
			fingerprint.Process{Name: "dotnet", Exe: "/usr/share/dotnet/dotnet", Cmdline: []string{"dotnet", "run"}},
			contract.Finding{Kind: ".NET"}},
		{"a self-contained app",
			map[string]string{"app/shop": host, "app/libcoreclr.so": "lib", "app/shop.dll": "MZ",
				"app/shop.runtimeconfig.json": `{"runtimeOptions": {"tfm": "net9.0", "includedFrameworks": [{"name": "Microsoft.NETCore.App", "version": "9.0.0"}, {"name": "Microsoft.AspNetCore.App", "version": "9.0.0"}]}}`},
			fingerprint.Process{Name: "shop", Exe: "/app/shop"}, contract.Finding{Kind: ".NET", KindVersion: "9.0.0"}},
		{"a self-contained app without its runtimeconfig.json",
			map[string]string{"app/shop": host, "app/libcoreclr.so": "lib"},
			fingerprint.Process{Name: "shop", Exe: "/app/shop"}, contract.Finding{Kind: ".NET"}},
		{"an apphost on a shared runtime",
			with(shared("8.0.11"), "app/shop", host, "app/shop.dll", "MZ", "app/shop.runtimeconfig.json", config("Microsoft.NETCore.App", "8.0.0")),
			fingerprint.Process{Name: "shop", Exe: "/app/shop"}, contract.Finding{Kind: ".NET", KindVersion: "8.0.11"}},
		{"an apphost on DOTNET_ROOT",
			map[string]string{"app/shop": host, "app/shop.dll": "MZ", "app/shop.runtimeconfig.json": config("Microsoft.NETCore.App", "8.0.0"),
				"opt/dotnet/shared/Microsoft.NETCore.App/8.0.4/libcoreclr.so": "lib"},
			fingerprint.Process{Name: "shop", Exe: "/app/shop", Env: []string{"DOTNET_ROOT=/opt/dotnet"}}, contract.Finding{Kind: ".NET", KindVersion: "8.0.4"}},
		{"a program named dotnet without an installation",
			map[string]string{"usr/bin/dotnet": host},
			fingerprint.Process{Name: "dotnet", Exe: "/usr/bin/dotnet"}, contract.Finding{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := detectIn(t, tc.files, tc.p); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRollForward(t *testing.T) {
	installed := []string{"6.0.36", "8.0.2", "8.0.11", "8.2.1", "8.2.3", "9.0.0", "9.0.1", "10.0.0-rc.2"}
	var vs []fxVersion
	for _, s := range installed {
		v, ok := parseFxVersion(s)
		if !ok {
			t.Fatal(s)
		}
		vs = append(vs, v)
	}
	for _, tc := range []struct{ req, policy, want string }{
		{"8.0.0", "", "8.0.11"},
		{"8.0.0", "Minor", "8.0.11"},
		{"8.0.0", "LatestPatch", "8.0.11"},
		{"8.1.0", "LatestPatch", ""},
		{"8.1.0", "Minor", "8.2.3"},
		{"8.0.0", "LatestMinor", "8.2.3"},
		{"7.0.0", "Minor", ""},
		{"7.0.0", "Major", "8.0.11"},
		{"6.0.0", "LatestMajor", "9.0.1"},
		{"8.0.2", "Disable", "8.0.2"},
		{"8.0.3", "Disable", ""},
		{"10.0.0-rc.1", "", "10.0.0-rc.2"},
		{"9.0.0", "sideways", ""},
	} {
		req, _ := parseFxVersion(tc.req)
		got, ok := rollForward(req, tc.policy, vs)
		if got.text != tc.want || ok != (tc.want != "") {
			t.Errorf("rollForward(%s, %q) = %q, %v; want %q", tc.req, tc.policy, got.text, ok, tc.want)
		}
	}
}

func TestParseHostArgs(t *testing.T) {
	for _, tc := range []struct {
		cmdline []string
		want    hostArgs
	}{
		{[]string{"dotnet", "app.dll"}, hostArgs{app: "/work/app.dll"}},
		{[]string{"dotnet", "exec", "--runtimeconfig", "rc.json", "--roll-forward", "Major", "/app/app.dll", "--urls", "x"}, hostArgs{app: "/app/app.dll", runtimeConfig: "/work/rc.json", rollForward: "Major"}},
		{[]string{"dotnet", "run"}, hostArgs{}},
		{[]string{"dotnet", "--fx-version"}, hostArgs{}},
		{nil, hostArgs{}},
	} {
		if got := parseHostArgs(fingerprint.Process{Cmdline: tc.cmdline, Cwd: "/work"}); got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.cmdline, got, tc.want)
		}
	}
}

// FuzzRuntimeConfig: a hostile runtimeconfig.json never panics, and the
// version picked is one that is installed, never below the request.
func FuzzRuntimeConfig(f *testing.F) {
	f.Add([]byte(`{"runtimeOptions": {"framework": {"name": "Microsoft.NETCore.App", "version": "8.0.0"}, "rollForward": "Major"}}`))
	f.Add([]byte(`{"runtimeOptions": {"frameworks": [{"name": "Microsoft.AspNetCore.App", "version": "9.0.0-rc.1"}]}}`))
	f.Add([]byte(`{"runtimeOptions": {"includedFrameworks": [{"name": "Microsoft.NETCore.App", "version": "9.0.0"}]}}`))
	var installed []fxVersion
	for _, s := range []string{"6.0.36", "8.0.11", "8.2.3", "9.0.1", "10.0.0-rc.2"} {
		v, _ := parseFxVersion(s)
		installed = append(installed, v)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, err := parseRuntimeConfig(data)
		if err != nil {
			return
		}
		req, ok := rc.requested()
		if !ok {
			return
		}
		if _, ok := parseFxVersion(req.text); !ok {
			t.Fatalf("requested %q is no version", req.text)
		}
		got, ok := rollForward(req, rc.RuntimeOptions.RollForward, installed)
		if ok && (!containsVersion(installed, got) || got.compare(req) < 0) {
			t.Errorf("picked %q for %q", got.text, req.text)
		}
	})
}
