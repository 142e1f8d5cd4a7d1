package native

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// A single-file .NET app (`dotnet publish -p:PublishSingleFile=true`) is
// its apphost with the app's files appended. The apphost holds a 40-byte
// marker among its initialized data: 8 bytes that the publish step sets to
// the offset of the bundle header, then the SHA-256 of ".net core bundle".
// From version 2 (.NET 5 on), the header says where the app's
// runtimeconfig.json lies in the file.
var bundleSignature = []byte{
	0x8b, 0x12, 0x02, 0xb9, 0x6a, 0x61, 0x20, 0x38,
	0x72, 0x7b, 0x93, 0x02, 0x14, 0xd7, 0xa0, 0x32,
	0x13, 0xf5, 0xb9, 0xe6, 0xef, 0xae, 0x33, 0x18,
	0xee, 0x3b, 0x2d, 0xce, 0x24, 0xb3, 0x6a, 0xae,
}

// Bounds of a bundle's reading: an apphost's .data is a few KiB, a bundle
// ID a few dozen bytes.
const (
	maxBundleData = 16 << 20
	maxBundleID   = 1 << 10
)

// errNotBundle says the executable is no single-file bundle.
var errNotBundle = errors.New("not a single-file bundle")

// bundleRuntimeConfig returns the runtimeconfig.json a single-file app
// carries (nil for a bundle of version 1, which does not say where it is),
// or errNotBundle.
func bundleRuntimeConfig(exe *os.File) ([]byte, error) {
	f, err := elf.NewFile(exe)
	if err != nil {
		return nil, errNotBundle
	}
	data := f.Section(".data")
	if data == nil || data.Type == elf.SHT_NOBITS || data.Size > maxBundleData {
		return nil, errNotBundle
	}
	b := make([]byte, data.Size)
	if _, err := data.ReadAt(b, 0); err != nil {
		return nil, errNotBundle
	}
	i := bytes.Index(b, bundleSignature)
	if i < 8 {
		return nil, errNotBundle
	}
	headerOffset := int64(binary.LittleEndian.Uint64(b[i-8 : i]))
	if headerOffset == 0 {
		return nil, errNotBundle // an apphost that was not bundled
	}
	st, err := exe.Stat()
	if err != nil {
		return nil, err
	}
	return readBundleHeader(exe, st.Size(), headerOffset)
}

// readBundleHeader reads the header at offset in a file of size bytes and
// returns the runtimeconfig.json it locates.
func readBundleHeader(r io.ReaderAt, size, offset int64) ([]byte, error) {
	if offset < 0 || offset >= size {
		return nil, fmt.Errorf("bundle header at %d, beyond the file (%d bytes)", offset, size)
	}
	sr := io.NewSectionReader(r, offset, min(size-offset, 64+maxBundleID))
	var fixed struct {
		Major, Minor uint32
		Files        int32
	}
	if err := binary.Read(sr, binary.LittleEndian, &fixed); err != nil {
		return nil, fmt.Errorf("bundle header: %w", err)
	}
	if fixed.Major < 1 || fixed.Major > 100 || fixed.Files <= 0 {
		return nil, fmt.Errorf("bundle header: version %d.%d with %d files", fixed.Major, fixed.Minor, fixed.Files)
	}
	idLen, err := read7BitLength(sr)
	if err != nil || idLen > maxBundleID {
		return nil, fmt.Errorf("bundle ID: %d bytes, %v", idLen, err)
	}
	if _, err := sr.Seek(int64(idLen), io.SeekCurrent); err != nil {
		return nil, err
	}
	if fixed.Major < 2 {
		return nil, nil
	}
	var v2 struct {
		DepsOffset, DepsSize, ConfigOffset, ConfigSize int64
		Flags                                          uint64
	}
	if err := binary.Read(sr, binary.LittleEndian, &v2); err != nil {
		return nil, fmt.Errorf("bundle header v2: %w", err)
	}
	if v2.ConfigOffset == 0 {
		return nil, nil // the app has no runtimeconfig.json
	}
	if v2.ConfigOffset < 0 || v2.ConfigSize <= 0 || v2.ConfigSize > maxRuntimeConfig || v2.ConfigOffset > size-v2.ConfigSize {
		return nil, fmt.Errorf("bundle runtimeconfig.json: %d bytes at %d", v2.ConfigSize, v2.ConfigOffset)
	}
	config := make([]byte, v2.ConfigSize)
	if _, err := r.ReadAt(config, v2.ConfigOffset); err != nil {
		return nil, fmt.Errorf("bundle runtimeconfig.json: %w", err)
	}
	return config, nil
}

// read7BitLength reads a length as .NET's BinaryWriter writes it: 7 bits a
// byte, low bits first, the high bit set on every byte but the last.
func read7BitLength(r io.Reader) (int, error) {
	n := 0
	var b [1]byte
	for shift := 0; shift < 35; shift += 7 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		n |= int(b[0]&0x7f) << shift
		if b[0]&0x80 == 0 {
			return n, nil
		}
	}
	return 0, errors.New("length over 5 bytes")
}
