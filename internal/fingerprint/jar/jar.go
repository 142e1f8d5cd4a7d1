// Package jar reads what the fingerprints need from a jar (a zip file) of a
// container: its manifest and whether it holds a class. A hostile jar costs
// nothing: the central directory is streamed entry by entry and refused
// beyond MaxEntries entries or MaxDirectorySize bytes (archive/zip would
// first read all of it, however large), only the names that matter are kept,
// and the manifest is decompressed up to MaxManifestSize only (a zip bomb
// stops there).
package jar

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/manifest"
)

// Bounds (SPEC §8).
const (
	MaxEntries       = 10000
	MaxDirectorySize = 16 << 20
	MaxManifestSize  = 1 << 20
)

// ManifestPath is where a jar keeps its manifest.
const ManifestPath = "META-INF/MANIFEST.MF"

// Errors callers distinguish with errors.Is.
var (
	ErrNotZip         = errors.New("not a zip file")
	ErrTooManyEntries = errors.New("zip central directory too large")
	ErrNoManifest     = errors.New("no " + ManifestPath)
	ErrManifestSize   = errors.New("manifest larger than 1 MiB")
	ErrUnsupported    = errors.New("unsupported zip entry")
)

// Jar is an opened jar: where its manifest is and which classes it holds.
type Jar struct {
	r        io.ReaderAt
	size     int64
	base     int64 // bytes prepended to the zip (a launch script)
	manifest *entry
	classes  map[string]bool
	entries  int
}

type entry struct {
	method         uint16
	flags          uint16
	compressedSize uint64
	offset         uint64 // of the local header, from the zip's start
}

const (
	eocdLen         = 22
	eocdSig         = 0x06054b50
	zip64LocatorLen = 20
	zip64LocatorSig = 0x07064b50
	zip64EOCDSig    = 0x06064b50
	zip64EOCDLen    = 56
	cdHeaderLen     = 46
	cdHeaderSig     = 0x02014b50
	localHeaderLen  = 30
	localHeaderSig  = 0x04034b50
	maxCommentLen   = 0xffff
)

// Open reads the central directory of the jar in r (size bytes).
func Open(r io.ReaderAt, size int64) (*Jar, error) {
	eocdAt, entries, dirSize, dirOffset, err := findEnd(r, size)
	if err != nil {
		return nil, err
	}
	if entries > MaxEntries || dirSize > MaxDirectorySize {
		return nil, fmt.Errorf("%w: %d entries, %d bytes (at most %d, %d)", ErrTooManyEntries, entries, dirSize, MaxEntries, MaxDirectorySize)
	}
	cdStart := eocdAt - int64(dirSize)
	base := cdStart - int64(dirOffset)
	if cdStart < 0 || base < 0 || dirOffset > uint64(size) {
		return nil, fmt.Errorf("%w: central directory outside the file", ErrNotZip)
	}
	j := &Jar{r: r, size: size, base: base, classes: map[string]bool{}}
	br := bufio.NewReaderSize(io.NewSectionReader(r, cdStart, int64(dirSize)), 64<<10)
	var hdr [cdHeaderLen]byte
	name := make([]byte, 0, 256)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			break // end of the directory (or a truncated one: keep what was read)
		}
		if binary.LittleEndian.Uint32(hdr[:]) != cdHeaderSig {
			break
		}
		j.entries++
		if j.entries > MaxEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTooManyEntries, MaxEntries)
		}
		e := entry{
			flags:          binary.LittleEndian.Uint16(hdr[8:]),
			method:         binary.LittleEndian.Uint16(hdr[10:]),
			compressedSize: uint64(binary.LittleEndian.Uint32(hdr[20:])),
			offset:         uint64(binary.LittleEndian.Uint32(hdr[42:])),
		}
		uncompressed := uint64(binary.LittleEndian.Uint32(hdr[24:]))
		nameLen := int(binary.LittleEndian.Uint16(hdr[28:]))
		extraLen := int(binary.LittleEndian.Uint16(hdr[30:]))
		commentLen := int(binary.LittleEndian.Uint16(hdr[32:]))
		if cap(name) < nameLen {
			name = make([]byte, nameLen)
		}
		name = name[:nameLen]
		if _, err := io.ReadFull(br, name); err != nil {
			break
		}
		extra := make([]byte, extraLen)
		if _, err := io.ReadFull(br, extra); err != nil {
			break
		}
		if _, err := br.Discard(commentLen); err != nil {
			break
		}
		zip64Fields(extra, &uncompressed, &e)
		n := string(name)
		switch {
		case strings.EqualFold(n, ManifestPath):
			// java.util.jar finds the manifest case-insensitively; the first wins.
			if j.manifest == nil {
				j.manifest = &e
			}
		case strings.HasSuffix(n, ".class"):
			j.classes[n] = true
		}
	}
	return j, nil
}

// zip64Fields reads the zip64 extended information extra field (id 1): it
// holds, in order, each of the sizes and the offset that is 0xffffffff in
// the fixed header.
func zip64Fields(extra []byte, uncompressed *uint64, e *entry) {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		extra = extra[4:]
		if n > len(extra) {
			return
		}
		field := extra[:n]
		extra = extra[n:]
		if id != 1 {
			continue
		}
		for _, v := range []*uint64{uncompressed, &e.compressedSize, &e.offset} {
			if *v != 0xffffffff {
				continue
			}
			if len(field) < 8 {
				return
			}
			*v = binary.LittleEndian.Uint64(field)
			field = field[8:]
		}
		return
	}
}

// findEnd locates the end of central directory record (zip64 aware), like
// archive/zip: the last signature, in the last 64 KiB, whose comment fits.
func findEnd(r io.ReaderAt, size int64) (eocdAt int64, entries, dirSize, dirOffset uint64, err error) {
	if size < eocdLen {
		return 0, 0, 0, 0, ErrNotZip
	}
	tail := int64(eocdLen + maxCommentLen)
	if tail > size {
		tail = size
	}
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, 0, 0, fmt.Errorf("read end of zip: %w", err)
	}
	pos := -1
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == eocdSig {
			if int(binary.LittleEndian.Uint16(buf[i+20:]))+eocdLen+i <= len(buf) {
				pos = i
			}
			break
		}
	}
	if pos < 0 {
		return 0, 0, 0, 0, ErrNotZip
	}
	eocdAt = size - tail + int64(pos)
	rec := buf[pos:]
	entries = uint64(binary.LittleEndian.Uint16(rec[10:]))
	dirSize = uint64(binary.LittleEndian.Uint32(rec[12:]))
	dirOffset = uint64(binary.LittleEndian.Uint32(rec[16:]))
	if entries != 0xffff && dirSize != 0xffffffff && dirOffset != 0xffffffff {
		return eocdAt, entries, dirSize, dirOffset, nil
	}
	// Zip64: a locator just before the end record points to the zip64 end record.
	if eocdAt < zip64LocatorLen {
		return eocdAt, entries, dirSize, dirOffset, nil
	}
	var loc [zip64LocatorLen]byte
	if _, err := r.ReadAt(loc[:], eocdAt-zip64LocatorLen); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("read zip64 locator: %w", err)
	}
	if binary.LittleEndian.Uint32(loc[:]) != zip64LocatorSig {
		return eocdAt, entries, dirSize, dirOffset, nil
	}
	at := binary.LittleEndian.Uint64(loc[8:])
	if at > uint64(size) || uint64(size)-at < zip64EOCDLen {
		return 0, 0, 0, 0, fmt.Errorf("%w: zip64 end record outside the file", ErrNotZip)
	}
	var z [zip64EOCDLen]byte
	if _, err := r.ReadAt(z[:], int64(at)); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("read zip64 end record: %w", err)
	}
	if binary.LittleEndian.Uint32(z[:]) != zip64EOCDSig {
		return 0, 0, 0, 0, fmt.Errorf("%w: bad zip64 end record", ErrNotZip)
	}
	// The directory ends where the zip64 end record starts.
	return int64(at), binary.LittleEndian.Uint64(z[32:]), binary.LittleEndian.Uint64(z[40:]), binary.LittleEndian.Uint64(z[48:]), nil
}

// Manifest returns the main section of the jar's manifest.
func (j *Jar) Manifest() (manifest.Manifest, error) {
	if j.manifest == nil {
		return manifest.Manifest{}, ErrNoManifest
	}
	e := j.manifest
	if e.flags&0x1 != 0 {
		return manifest.Manifest{}, fmt.Errorf("%w: encrypted %s", ErrUnsupported, ManifestPath)
	}
	at := int64(e.offset) + j.base
	if e.offset > uint64(j.size) || at < 0 || at > j.size-localHeaderLen {
		return manifest.Manifest{}, fmt.Errorf("%w: %s outside the file", ErrNotZip, ManifestPath)
	}
	var lh [localHeaderLen]byte
	if _, err := j.r.ReadAt(lh[:], at); err != nil {
		return manifest.Manifest{}, fmt.Errorf("read %s header: %w", ManifestPath, err)
	}
	if binary.LittleEndian.Uint32(lh[:]) != localHeaderSig {
		return manifest.Manifest{}, fmt.Errorf("%w: bad local header of %s", ErrNotZip, ManifestPath)
	}
	dataAt := at + localHeaderLen + int64(binary.LittleEndian.Uint16(lh[26:])) + int64(binary.LittleEndian.Uint16(lh[28:]))
	if dataAt > j.size {
		return manifest.Manifest{}, fmt.Errorf("%w: %s outside the file", ErrNotZip, ManifestPath)
	}
	n := int64(e.compressedSize)
	if e.compressedSize > uint64(j.size-dataAt) {
		n = j.size - dataAt
	}
	var rd io.Reader = io.NewSectionReader(j.r, dataAt, n)
	switch e.method {
	case 0: // stored
	case 8: // deflated
		fr := flate.NewReader(rd)
		defer fr.Close()
		rd = fr
	default:
		return manifest.Manifest{}, fmt.Errorf("%w: compression method %d of %s", ErrUnsupported, e.method, ManifestPath)
	}
	data, err := io.ReadAll(io.LimitReader(rd, MaxManifestSize+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return manifest.Manifest{}, fmt.Errorf("read %s: %w", ManifestPath, err)
	}
	if len(data) > MaxManifestSize {
		return manifest.Manifest{}, ErrManifestSize
	}
	return manifest.Parse(data), nil
}

// HasClass reports whether the jar holds the class of that fully qualified name.
func (j *Jar) HasClass(className string) bool {
	return j.classes[strings.ReplaceAll(className, ".", "/")+".class"]
}

// Entries is the number of entries of the central directory.
func (j *Jar) Entries() int { return j.entries }
