package beam

import (
	"strings"
	"testing"
)

func TestErtsDir(t *testing.T) {
	for _, tc := range []struct {
		exe, root, erts string
		ok              bool
	}{
		{"/usr/lib/erlang/erts-13.1.5/bin/beam.smp", "/usr/lib/erlang", "13.1.5", true},
		{"/opt/app/_build/prod/rel/app/erts-14.2/bin/beam.smp", "/opt/app/_build/prod/rel/app", "14.2", true},
		{"/usr/local/lib/erlang/erts-15.0.1/bin//beam.smp", "/usr/local/lib/erlang", "15.0.1", true},
		{"/usr/bin/beam.smp", "", "", false},
		{"/usr/lib/erlang/erts-x/bin/beam.smp", "", "", false},
		{"/usr/lib/erlang/erts-13.1.5/sbin/beam.smp", "", "", false},
		{"beam.smp", "", "", false},
	} {
		root, erts, ok := ErtsDir(tc.exe)
		if root != tc.root || erts != tc.erts || ok != tc.ok {
			t.Errorf("%s: got %q %q %v", tc.exe, root, erts, ok)
		}
	}
}

func TestStartErlData(t *testing.T) {
	for _, tc := range []struct {
		in, erts, rel string
		ok            bool
	}{
		{"13.1.5 25\n", "13.1.5", "25", true},
		{"14.2 0.1.0", "14.2", "0.1.0", true},
		{"13.1.5 ..", "", "", false},
		{"13.1.5 ../../etc", "", "", false},
		{"13.1.5", "", "", false},
		{"13.1.5 25 x", "", "", false},
		{"v13 25", "", "", false},
		{"", "", "", false},
	} {
		erts, rel, err := StartErlData([]byte(tc.in))
		if erts != tc.erts || rel != tc.rel || (err == nil) != tc.ok {
			t.Errorf("%q: got %q %q %v", tc.in, erts, rel, err)
		}
	}
}

func TestOTPVersion(t *testing.T) {
	for in, want := range map[string]string{
		"25.2.3\n":    "25.2.3",
		"26\n":        "26",
		"25.3.2.12":   "25.3.2.12",
		"25.2.3.1**":  "25.2.3.1**",
		"25.2.3 beta": "",
		"":            "",
		"latest":      "",
		"25..2":       "",
	} {
		v, ok := OTPVersion([]byte(in))
		if ok != (want != "") || ok && v != want {
			t.Errorf("%q: got %q %v", in, v, ok)
		}
	}
}

func TestAppVsn(t *testing.T) {
	debian := "{application,elixir,\n    [{description,\"elixir\"},\n     {vsn,\"1.14.0\"},\n     {modules,\n         ['Elixir.Access']}]}.\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"as Debian ships it", debian, "1.14.0"},
		{"release candidate", `{application, elixir, [{vsn, "1.17.0-rc.1"}]}.`, "1.17.0-rc.1"},
		{"quoted atom", `{application,'elixir',[{vsn,"1.15.7"}]}.`, "1.15.7"},
		{"comment before", "% {vsn,\"9.9.9\"}\n{application,elixir,[% {vsn,\"8.8.8\"}\n{vsn,\"1.16.2\"}]}.", "1.16.2"},
		{"a percent sign in a string", `{application,elixir,[{description,"100% elixir"},{vsn,"1.16.2"}]}.`, "1.16.2"},
		{"a vsn nested in another property", `{application,elixir,[{env,[{vsn,"9.9.9"}]},{vsn,"1.16.2"}]}.`, "1.16.2"},
		{"only a nested vsn", `{application,elixir,[{env,[{vsn,"9.9.9"}]}]}.`, ""},
		{"a brace in a string", `{application,elixir,[{description,"}{"},{vsn,"1.16.2"}]}.`, "1.16.2"},
		{"after the list", `{application,elixir,[{description,"x"}]}. {vsn,"1.0.0"}`, ""},
		{"another application", `{application,logger,[{vsn,"1.14.0"}]}.`, ""},
		{"no vsn", `{application,elixir,[{description,"elixir"}]}.`, ""},
		{"vsn not a version", `{application,elixir,[{vsn,"git"}]}.`, ""},
		{"vsn a charlist", `{application,elixir,[{vsn,'1.14.0'}]}.`, ""},
		{"garbage", "\x00\xff{", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := AppVsn([]byte(tc.in), "elixir")
			if ok != (tc.want != "") || ok && v != tc.want {
				t.Errorf("got %q %v, want %q", v, ok, tc.want)
			}
		})
	}
}

func TestElixirOnTheCommandLine(t *testing.T) {
	script := strings.Fields("/usr/lib/erlang/erts-13.1.5/bin/beam.smp -- -root /usr/lib/erlang -bindir /usr/lib/erlang/erts-13.1.5/bin -progname erl -- -home /root -- -pa /usr/lib/elixir/bin/../lib/eex/ebin /usr/lib/elixir/bin/../lib/elixir/ebin /usr/lib/elixir/bin/../lib/ex_unit/ebin -noshell -s elixir start_cli -extra /app/app.exs")
	if got, ok := ElixirEbin(script); !ok || got != "/usr/lib/elixir/lib/elixir/ebin" {
		t.Errorf("elixir script: got %q %v", got, ok)
	}
	release := strings.Fields("/app/erts-14.2/bin/beam.smp -- -root /app -bindir /app/erts-14.2/bin -- -elixir ansi_enabled true -noshell -s elixir start_cli -mode embedded -boot /app/releases/0.1.0/start -boot_var RELEASE_LIB /app/lib -extra --no-halt")
	if _, ok := ElixirEbin(release); ok {
		t.Error("a release names no ebin")
	}
	if got, ok := ReleaseLib(release); !ok || got != "/app/lib" {
		t.Errorf("release: got %q %v", got, ok)
	}
	if got, ok := ElixirEbin([]string{"-pa", "lib/elixir-1.16.2/ebin"}); !ok || got != "lib/elixir-1.16.2/ebin" {
		t.Errorf("relative: got %q %v", got, ok)
	}
	erlang := strings.Fields("/usr/lib/erlang/erts-13.1.5/bin/beam.smp -- -root /usr/lib/erlang -progname erl -- -home /root -- -pa /app/ebin -noshell -eval timer:sleep(infinity).")
	if _, ok := ElixirEbin(erlang); ok {
		t.Error("plain Erlang taken for Elixir")
	}
	if _, ok := ReleaseLib(erlang); ok {
		t.Error("plain Erlang taken for a release")
	}
}

func FuzzParsers(f *testing.F) {
	f.Add([]byte("{application,elixir,[{description,\"elixir\"},{vsn,\"1.14.0\"}]}.\n"))
	f.Add([]byte("13.1.5 25\n"))
	f.Add([]byte("25.2.3\n"))
	f.Add([]byte("% \"\n{application,elixir,[{vsn,\"1.0.0\\\"\"}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, ok := AppVsn(data, "elixir"); ok && (v == "" || strings.ContainsAny(v, "\"\n\x00")) {
			t.Fatalf("vsn %q", v)
		}
		if erts, rel, err := StartErlData(data); err == nil && (strings.Contains(rel, "/") || rel == ".." || erts == "") {
			t.Fatalf("start_erl.data %q %q", erts, rel)
		}
		if v, ok := OTPVersion(data); ok && (v == "" || len(v) > 64) {
			t.Fatalf("OTP_VERSION %q", v)
		}
		args := strings.Split(string(data), "\x00")
		if d, ok := ElixirEbin(args); ok && !strings.HasSuffix(d, "ebin") {
			t.Fatalf("ebin %q", d)
		}
		ReleaseLib(args)
	})
}
