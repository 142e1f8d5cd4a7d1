// Package jar reads what the fingerprints need from a jar (a zip file) of a
// container: its manifest, whether it holds a class, the jars it nests (a
// Spring Boot fat jar's BOOT-INF/lib) and the Maven pom.properties of the
// libraries shaded into it. A hostile jar costs
// nothing: the central directory is streamed entry by entry and refused
// beyond MaxEntries entries or MaxDirectorySize bytes (archive/zip would
// first read all of it, however large), only the names that matter are kept,
// and the manifest and pom.properties files are decompressed up to
// MaxManifestSize and MaxPomPropertiesSize only (a zip bomb stops there).
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
	// MaxPomPropertiesSize bounds a pom.properties (Maven writes a few lines).
	MaxPomPropertiesSize = 64 << 10
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
	nested   []string              // jars nested in a fat jar's library directories
	poms     map[string][]pomEntry // by artifactId
}

// pomEntry is the META-INF/maven/<group>/<artifact>/pom.properties of a
// library shaded into the jar.
type pomEntry struct {
	group string
	e     entry
}

// nestedLibDirs are where fat jars nest their libraries: Spring Boot's
// executable jars and wars.
var nestedLibDirs = []string{"BOOT-INF/lib/", "WEB-INF/lib/", "WEB-INF/lib-provided/"}

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
	j := &Jar{r: r, size: size, base: base, classes: map[string]bool{}, poms: map[string][]pomEntry{}}
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
		case strings.HasSuffix(n, ".jar"):
			for _, d := range nestedLibDirs {
				if rest, ok := strings.CutPrefix(n, d); ok && rest != ".jar" && !strings.Contains(rest, "/") {
					j.nested = append(j.nested, n)
				}
			}
		case strings.HasPrefix(n, "META-INF/maven/") && strings.HasSuffix(n, "/pom.properties"):
			// META-INF/maven/<group>/<artifact>/pom.properties
			if parts := strings.Split(n, "/"); len(parts) == 5 && parts[2] != "" && parts[3] != "" {
				j.poms[parts[3]] = append(j.poms[parts[3]], pomEntry{group: parts[2], e: e})
			}
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
	data, err := j.read(j.manifest, ManifestPath, MaxManifestSize)
	if err != nil {
		return manifest.Manifest{}, err
	}
	return manifest.Parse(data), nil
}

// NestedJars returns the names of the jars nested in the library
// directories of a fat jar (BOOT-INF/lib/x-1.0.jar), in the jar's order.
func (j *Jar) NestedJars() []string { return j.nested }

// PomProperties returns the META-INF/maven/<group>/<artifact>/pom.properties
// of a library shaded into the jar, for that artifactId (of the first group
// by name, when several groups have one). ok is false when there is none.
func (j *Jar) PomProperties(artifactID string) (data []byte, ok bool, err error) {
	poms := j.poms[artifactID]
	if len(poms) == 0 {
		return nil, false, nil
	}
	first := poms[0]
	for _, p := range poms[1:] {
		if p.group < first.group {
			first = p
		}
	}
	name := "META-INF/maven/" + first.group + "/" + artifactID + "/pom.properties"
	data, err = j.read(&first.e, name, MaxPomPropertiesSize)
	return data, true, err
}

// read returns the content of entry e (name for errors), at most max bytes.
func (j *Jar) read(e *entry, name string, max int64) ([]byte, error) {
	if e.flags&0x1 != 0 {
		return nil, fmt.Errorf("%w: encrypted %s", ErrUnsupported, name)
	}
	at := int64(e.offset) + j.base
	if e.offset > uint64(j.size) || at < 0 || at > j.size-localHeaderLen {
		return nil, fmt.Errorf("%w: %s outside the file", ErrNotZip, name)
	}
	var lh [localHeaderLen]byte
	if _, err := j.r.ReadAt(lh[:], at); err != nil {
		return nil, fmt.Errorf("read %s header: %w", name, err)
	}
	if binary.LittleEndian.Uint32(lh[:]) != localHeaderSig {
		return nil, fmt.Errorf("%w: bad local header of %s", ErrNotZip, name)
	}
	dataAt := at + localHeaderLen + int64(binary.LittleEndian.Uint16(lh[26:])) + int64(binary.LittleEndian.Uint16(lh[28:]))
	if dataAt > j.size {
		return nil, fmt.Errorf("%w: %s outside the file", ErrNotZip, name)
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
		return nil, fmt.Errorf("%w: compression method %d of %s", ErrUnsupported, e.method, name)
	}
	data, err := io.ReadAll(io.LimitReader(rd, max+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		if e == j.manifest {
			return nil, ErrManifestSize
		}
		return nil, fmt.Errorf("%s larger than %d bytes", name, max)
	}
	return data, nil
}

// HasClass reports whether the jar holds the class of that fully qualified name.
func (j *Jar) HasClass(className string) bool {
	return j.classes[strings.ReplaceAll(className, ".", "/")+".class"]
}

// Entries is the number of entries of the central directory.
func (j *Jar) Entries() int { return j.entries }
