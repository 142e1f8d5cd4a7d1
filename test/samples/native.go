package samples

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/openshift/insights-runtime-extractor/test/flock"
)

// RustPackages are the Debian packages RustProgram needs: Debian's rustc
// (which links with gcc).
func RustPackages() []string {
	return []string{"rustc", "gcc", "libc6-dev"}
}

// debianRustc is Debian's rustc: a rustup toolchain earlier on PATH would
// build with another version and another layout.
const debianRustc = "/usr/bin/rustc"

// RustProgram compiles, with Debian's rustc, a Rust program that sleeps, to
// containerPath under root. Its KindVersion is what that rustc reports.
func RustProgram(ctx context.Context, root, containerPath string) (Sample, error) {
	out, err := exec.CommandContext(ctx, debianRustc, "--version").Output()
	if err != nil {
		return Sample{}, fmt.Errorf("%s (Debian package rustc): %w", debianRustc, err)
	}
	// "rustc 1.63.0" or "rustc 1.95.0 (59807616e 2026-04-14)"
	fields := strings.Fields(string(out))
	if len(fields) < 2 || fields[0] != "rustc" {
		return Sample{}, fmt.Errorf("%s --version: %q", debianRustc, out)
	}
	tmp, err := os.MkdirTemp("", "samples-rust-")
	if err != nil {
		return Sample{}, err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "main.rs")
	prog := "use std::{thread, time::Duration};\n\nfn main() {\n    loop {\n        thread::sleep(Duration::from_secs(3600));\n    }\n}\n"
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		return Sample{}, err
	}
	bin := filepath.Join(root, filepath.FromSlash(containerPath))
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return Sample{}, err
	}
	cmd := exec.CommandContext(ctx, debianRustc, "-O", "-o", bin, src)
	cmd.Dir = tmp
	if b, err := cmd.CombinedOutput(); err != nil {
		return Sample{}, fmt.Errorf("rustc: %v: %s", err, b)
	}
	return Sample{Root: root, Cmdline: []string{containerPath}, Cwd: "/", Kind: "Rust", KindVersion: fields[1]}, nil
}

// NPMBinary puts an executable shipped in an npm package (Deno's
// @deno/linux-x64-glibc, Bun's @oven/bun-linux-x64) at containerPath under
// root. The package's tarball is fetched once with npm into cacheDir, keyed
// by package@version, and used only when its sha512 is the integrity the
// recipe pins, which must also be the registry's. kind is the runtime kind
// the sample runs; its version is asked of the running container.
func NPMBinary(ctx context.Context, cacheDir, root, pkg, version, integrity, member, containerPath, kind string) (Sample, error) {
	tgz, err := npmTarball(ctx, cacheDir, pkg, version, integrity)
	if err != nil {
		return Sample{}, err
	}
	dst := filepath.Join(root, filepath.FromSlash(containerPath))
	if err := extractMember(tgz, member, dst); err != nil {
		return Sample{}, fmt.Errorf("%s@%s: %w", pkg, version, err)
	}
	return Sample{Root: root, Cmdline: []string{containerPath}, Cwd: "/", Kind: kind}, nil
}

// npmTarball returns the cached tarball of pkg@version, fetching it first.
func npmTarball(ctx context.Context, cacheDir, pkg, version, integrity string) (string, error) {
	if !strings.HasPrefix(integrity, "sha512-") {
		return "", fmt.Errorf("%s@%s: integrity %q is not sha512", pkg, version, integrity)
	}
	dir := filepath.Join(cacheDir, "npm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	spec := pkg + "@" + version
	final := filepath.Join(dir, strings.ReplaceAll(spec, "/", "+")+".tgz")
	unlock, err := flock.Lock(ctx, final+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(final); err == nil {
		return final, checkIntegrity(final, integrity)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("%s is not cached in %s and npm, which fetches it, is not installed: %w", spec, dir, err)
	}
	out, err := exec.CommandContext(ctx, "npm", "view", spec, "dist.integrity").Output()
	if err != nil {
		return "", fmt.Errorf("npm view %s: %w", spec, err)
	}
	if got := strings.TrimSpace(string(out)); got != integrity {
		return "", fmt.Errorf("%s: the registry says integrity %q, the recipe pins %q", spec, got, integrity)
	}
	tmp, err := os.MkdirTemp(dir, "fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", "--pack-destination", tmp, spec)
	cmd.Dir = tmp
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm pack %s: %v: %s", spec, err, b)
	}
	got, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(got) != 1 {
		return "", fmt.Errorf("npm pack %s: want one tarball, got %v (%v)", spec, got, err)
	}
	if err := checkIntegrity(got[0], integrity); err != nil {
		return "", err
	}
	return final, os.Rename(got[0], final)
}

func checkIntegrity(file, integrity string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil)); got != integrity {
		return fmt.Errorf("%s: integrity %s, want %s", file, got, integrity)
	}
	return nil
}

// maxMember bounds the file taken from a tarball.
const maxMember = 1 << 30

// extractMember writes the regular file member of the gzip tarball tgz to
// dst, executable.
func extractMember(tgz, member, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("no %s in %s", member, tgz)
		}
		if err != nil {
			return err
		}
		if hdr.Name != member || hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Size > maxMember {
			return fmt.Errorf("%s: %d bytes", member, hdr.Size)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, io.LimitReader(tr, maxMember)); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
}
