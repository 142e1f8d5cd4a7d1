package detect_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// Interpreters whose executables hold their version, and the BEAM, whose
// installation says its OTP release: fixture trees laid out as Debian lays
// them out, with executables that hold the literals a compiler would store.
func TestInterpretersAndBEAMInATree(t *testing.T) {
	const (
		erts   = "/usr/lib/erlang/erts-13.1.5/bin/beam.smp"
		elixir = "/usr/lib/elixir/bin/../lib/elixir/ebin"
	)
	otp := map[string]string{
		"usr/lib/erlang/erts-13.1.5/bin/beam.smp":        "\x7fELF?",
		"usr/lib/erlang/releases/start_erl.data":         "13.1.5 25\n",
		"usr/lib/erlang/releases/25/OTP_VERSION":         "25.2.3\n",
		"usr/lib/elixir/lib/elixir/ebin/elixir.app":      "{application,elixir,\n    [{description,\"elixir\"},\n     {vsn,\"1.14.0\"}]}.\n",
		"app/erts-14.2/bin/beam.smp":                     "\x7fELF?",
		"app/releases/start_erl.data":                    "14.2 0.1.0\n",
		"app/lib/elixir-1.16.2/ebin/elixir.app":          "{application,elixir,[{vsn,\"1.16.2\"}]}.\n",
		"app/lib/logger-1.16.2/ebin/logger.app":          "{application,logger,[{vsn,\"1.16.2\"}]}.\n",
		"other/erts-13.1.5/bin/beam.smp":                 "\x7fELF?",
		"other/releases/start_erl.data":                  "12.0 24\n",
		"other/releases/24/OTP_VERSION":                  "24.0\n",
		"usr/bin/php8.2":                                 "code\x00X-Powered-By: PHP/8.2.36\x00PHP %s (%s)\x00",
		"usr/sbin/php-fpm8.2":                            "code\x00X-Powered-By: PHP/8.2.36\x00fpm-fcgi\x00",
		"usr/bin/perl":                                   "code\x00This is perl 5, version 36, subversion 0 (%-p) built for x86_64-linux-gnu-thread-multi\x00",
		"usr/bin/mono-sgen":                              "Mono JIT compiler version %s\n\x00--version=number\x006.8.0.105\x00--version\x00",
		"usr/bin/mono":                                   "symlink:mono-sgen",
		"usr/local/bin/php":                              "#!/bin/sh\necho PHP 9.9.9\n",
		"srv/server":                                     "code\x00X-Powered-By: PHP/8.2.36\x00",
		"srv/app.pl":                                     "#!/usr/bin/perl\nsleep;\n",
		"usr/lib/erlang/erts-13.1.5/bin/erl_child_setup": "\x7fELF?",
	}
	root := t.TempDir()
	writeTree(t, root, otp)
	erl := []string{erts, "--", "-root", "/usr/lib/erlang", "-progname", "erl", "--", "-home", "/root", "--", "-noshell", "-eval", "timer:sleep(infinity)."}
	ex := []string{erts, "--", "-root", "/usr/lib/erlang", "-progname", "erl", "--", "-home", "/root", "--", "-pa", "/usr/lib/elixir/bin/../lib/eex/ebin", elixir, "-noshell", "-s", "elixir", "start_cli", "-extra", "/app/app.exs"}
	release := []string{"/app/erts-14.2/bin/beam.smp", "--", "-root", "/app", "--", "-noshell", "-s", "elixir", "start_cli", "-mode", "embedded", "-boot", "/app/releases/0.1.0/start", "-boot_var", "RELEASE_LIB", "/app/lib"}
	for _, tc := range []struct {
		name string
		p    fingerprint.Process
		want contract.Finding
	}{
		{"erlang", fingerprint.Process{Name: "beam.smp", Exe: erts, Cmdline: erl},
			contract.Finding{Kind: "Erlang/OTP", KindVersion: "25.2.3"}},
		{"elixir script", fingerprint.Process{Name: "beam.smp", Exe: erts, Cmdline: ex},
			contract.Finding{Kind: "Erlang/OTP", KindVersion: "25.2.3", Runtimes: []contract.Runtime{{Name: "Elixir", Version: "1.14.0"}}}},
		{"elixir release without OTP_VERSION", fingerprint.Process{Name: "beam.smp", Exe: "/app/erts-14.2/bin/beam.smp", Cmdline: release},
			contract.Finding{Kind: "Erlang/OTP", Runtimes: []contract.Runtime{{Name: "Elixir", Version: "1.16.2"}}}},
		{"start_erl.data of another ERTS", fingerprint.Process{Name: "beam.smp", Exe: "/other/erts-13.1.5/bin/beam.smp", Cmdline: erl},
			contract.Finding{Kind: "Erlang/OTP"}},
		{"beam.smp out of an OTP layout", fingerprint.Process{Name: "beam.smp", Exe: "/srv/server"}, contract.Finding{}},
		{"BEAM's port helper is no BEAM", fingerprint.Process{Name: "erl_child_setup", Exe: "/usr/lib/erlang/erts-13.1.5/bin/erl_child_setup"}, contract.Finding{}},
		{"php cli", fingerprint.Process{Name: "php", Exe: "/usr/bin/php8.2", Cmdline: []string{"php", "/app/app.php"}},
			contract.Finding{Kind: "PHP", KindVersion: "8.2.36"}},
		{"php-fpm worker", fingerprint.Process{Name: "php-fpm8.2", Exe: "/usr/sbin/php-fpm8.2", Cmdline: []string{"php-fpm: pool www"}},
			contract.Finding{Kind: "PHP", KindVersion: "8.2.36"}},
		{"php found from argv[0]", fingerprint.Process{Name: "php8.2", Cmdline: []string{"/usr/bin/php8.2"}},
			contract.Finding{Kind: "PHP", KindVersion: "8.2.36"}},
		{"a script named php is not PHP", fingerprint.Process{Name: "php", Exe: "/usr/local/bin/php"}, contract.Finding{}},
		{"perl script started by its #! line", fingerprint.Process{Name: "app.pl", Exe: "/usr/bin/perl", Cmdline: []string{"/usr/bin/perl", "/srv/app.pl"}},
			contract.Finding{Kind: "Perl", KindVersion: "5.36.0"}},
		{"mono", fingerprint.Process{Name: "mono", Exe: "/usr/bin/mono-sgen", Cmdline: []string{"mono", "/app/app.exe"}},
			contract.Finding{Kind: "Mono", KindVersion: "6.8.0.105"}},
		{"a PHP executable under another name is not read", fingerprint.Process{Name: "server", Exe: "/srv/server"}, contract.Finding{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fingerprintAll(t, root, tc.p)
			got.OS, got.OSVersion = "", ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Fedora and RHEL link perl to libperl.so, which holds the banner (and Mono
// may be linked to libmonosgen-2.0.so): the library is found where the
// dynamic loader would find it, through the executable's RUNPATH or in the
// default directories. gcc builds them, as the runtimes' own builds link them.
func TestInterpretersLinkedToTheirLibrary(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc on this machine")
	}
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"lib.c":      "const char *perl_banner(void) { return \"This is perl 5, version 99, subversion 1 (%s) built for test\"; }\n",
		"core.c":     "const char *perl_banner(void) { return \"This is perl 5, version 98, subversion 7 (%s) built for test\"; }\n",
		"core/.keep": "",
		"mono.c":     "const char mono_data[] = \"Mono JIT compiler version %s\\n\\0--version=number\\0\" \"6.12.0.99\";\nconst char *perl_banner(void) { return mono_data; }\n",
		"main.c":     "extern const char *perl_banner(void);\nint main(void) { return perl_banner()[0] == 0; }\n",
	})
	build := func(args ...string) {
		t.Helper()
		cmd := exec.Command(gcc, args...)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v: %s", args, err, out)
		}
	}
	build("-shared", "-fPIC", "-Wl,-soname,libperl.so.5.99", "-o", "libperl.so.5.99", "lib.c")
	build("-shared", "-fPIC", "-Wl,-soname,libperl.so.5.99", "-o", "core/libperl.so.5.99", "core.c")
	build("-shared", "-fPIC", "-Wl,-soname,libmonosgen-2.0.so.1", "-o", "libmonosgen-2.0.so.1", "mono.c")
	build("-o", "mono-sgen", "main.c", "-L.", "-l:libmonosgen-2.0.so.1")
	build("-o", "perl-default", "main.c", "-L.", "-l:libperl.so.5.99")
	build("-o", "perl-runpath", "main.c", "-L.", "-l:libperl.so.5.99", "-Wl,-rpath,$ORIGIN/../lib/CORE")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"usr/bin/perl":                                   read("perl-default"),
		"usr/lib64/libperl.so.5.99":                      read("libperl.so.5.99"),
		"opt/perl/bin/perl":                              read("perl-runpath"),
		"opt/perl/lib/CORE/libperl.so.5.99":              read("core/libperl.so.5.99"),
		"srv/bin/perl":                                   read("perl-runpath"),
		"usr/bin/mono-sgen":                              read("mono-sgen"),
		"usr/lib/x86_64-linux-gnu/libmonosgen-2.0.so.1":  read("libmonosgen-2.0.so.1"),
		"usr/lib/aarch64-linux-gnu/libmonosgen-2.0.so.1": read("libmonosgen-2.0.so.1"),
	})
	for exe, want := range map[string]contract.Finding{
		"/usr/bin/perl":      {Kind: "Perl", KindVersion: "5.99.1"},
		"/opt/perl/bin/perl": {Kind: "Perl", KindVersion: "5.98.7"},    // its RUNPATH first
		"/srv/bin/perl":      {Kind: "Perl", KindVersion: "5.99.1"},    // RUNPATH leads nowhere: the default directories
		"/usr/bin/mono-sgen": {Kind: "Mono", KindVersion: "6.12.0.99"}, // a multiarch directory
	} {
		got := fingerprintAll(t, root, fingerprint.Process{Name: filepath.Base(exe), Exe: exe, Cmdline: []string{exe, "app"}})
		got.OS, got.OSVersion = "", ""
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", exe, got, want)
		}
	}
	if err := os.Remove(filepath.Join(root, "usr/lib64/libperl.so.5.99")); err != nil {
		t.Fatal(err)
	}
	if got := fingerprintAll(t, root, fingerprint.Process{Name: "perl", Exe: "/usr/bin/perl"}); got.Kind != "" {
		t.Errorf("without its libperl: %+v", got)
	}
}
