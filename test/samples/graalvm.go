package samples

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// GraalVMPath is where Quarkus native images live in their usual images.
const GraalVMPath = "/work/application"

// ErrNoCompiler is returned by GraalVMNative when gcc, static libc or objcopy
// is missing.
var ErrNoCompiler = errors.New("gcc (with static libc, package libc6-dev) and objcopy (binutils) are needed")

// GraalVMNative writes a stand-in for a GraalVM native image: a static ELF
// (it sleeps) with a .svm_heap section, added by objcopy, holding an image
// heap with Java strings as Latin-1 bytes. With a quarkusVersion the heap holds
// the Quarkus analytics property "__quarkus_analytics__quarkus.version=<v>";
// with "" it only holds quarkus.native.* configuration names.
func GraalVMNative(root, quarkusVersion string) (Sample, error) {
	return GraalVMNativeELF(root, GraalVMPath, quarkusVersion, nil)
}

// GraalVMNativeELF is GraalVMNative at another path and with extra gcc flags
// (e.g. "-m32" for a 32-bit ELF where gcc-multilib is installed).
func GraalVMNativeELF(root, containerPath, quarkusVersion string, gccFlags []string) (Sample, error) {
	objcopy, err := exec.LookPath("objcopy")
	if err != nil {
		return Sample{}, ErrNoCompiler
	}
	tmp, err := os.MkdirTemp("", "samples-graalvm-")
	if err != nil {
		return Sample{}, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "application")
	if err := staticSleeper(bin, gccFlags...); err != nil {
		return Sample{}, err
	}
	heap := filepath.Join(tmp, "heap")
	if err := os.WriteFile(heap, imageHeap(quarkusVersion), 0o644); err != nil {
		return Sample{}, err
	}
	out := filepath.Join(root, filepath.FromSlash(containerPath))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return Sample{}, err
	}
	if b, err := exec.Command(objcopy, "--add-section", ".svm_heap="+heap, bin, out).CombinedOutput(); err != nil {
		return Sample{}, fmt.Errorf("objcopy: %w: %s", err, b)
	}
	if err := os.Chmod(out, 0o755); err != nil {
		return Sample{}, err
	}
	return Sample{
		Root:    root,
		Cmdline: []string{containerPath, "-Dquarkus.http.host=0.0.0.0"},
		Cwd:     filepath.Dir(containerPath),
		Kind:    "GraalVM", RuntimeName: "Quarkus", RuntimeVersion: quarkusVersion,
	}, nil
}

// imageHeap lays strings out the way an image heap stores java.lang.String
// values: a small header, the Latin-1 bytes, padding to 8 bytes; with
// unrelated objects (here: filler) around them.
func imageHeap(quarkusVersion string) []byte {
	strs := []string{"quarkus.native.builder-image", "quarkus.native.container-build", "io.quarkus.runtime.Application"}
	if quarkusVersion != "" {
		strs = append(strs, "__quarkus_analytics__quarkus.version="+quarkusVersion, "__quarkus_analytics__graalvm.version=23.1.4")
	}
	var b bytes.Buffer
	b.Write(bytes.Repeat([]byte{0xca, 0xfe, 0x00, 0x01}, 4096))
	for _, s := range strs {
		var hdr [16]byte
		binary.LittleEndian.PutUint64(hdr[:8], 0x00000000deadbeef) // hub pointer stand-in
		binary.LittleEndian.PutUint32(hdr[8:12], uint32(len(s)))
		b.Write(hdr[:])
		b.WriteString(s)
		for b.Len()%8 != 0 {
			b.WriteByte(0)
		}
		b.Write(bytes.Repeat([]byte{0x01, 0x00, 0x00, 0x00}, 64))
	}
	return b.Bytes()
}
