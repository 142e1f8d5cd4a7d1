// Package elffixture writes small ELF files for tests: the named sections a
// detector reads (.rodata, .comment) and the dynamic entries of the libraries
// an executable needs, without a compiler.
package elffixture

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// Section is one section of the file.
type Section struct {
	Name string
	Data []byte
}

// File is what Bytes writes: a 64-bit little-endian x86-64 executable.
type File struct {
	Sections []Section
	// Needed and RunPath become DT_NEEDED and DT_RUNPATH entries.
	Needed  []string
	RunPath string
}

// Bytes returns the ELF file.
func (f File) Bytes() []byte {
	type sec struct {
		name       string
		typ        elf.SectionType
		data       []byte
		link       uint32
		entsize    uint64
		nameOffset uint32
	}
	secs := []sec{{}} // index 0 is the null section
	for _, s := range f.Sections {
		secs = append(secs, sec{name: s.Name, typ: elf.SHT_PROGBITS, data: s.Data})
	}
	if len(f.Needed) > 0 || f.RunPath != "" {
		dynstr := []byte{0}
		var dyn bytes.Buffer
		entry := func(tag elf.DynTag, s string) {
			binary.Write(&dyn, binary.LittleEndian, uint64(tag))
			binary.Write(&dyn, binary.LittleEndian, uint64(len(dynstr)))
			dynstr = append(append(dynstr, s...), 0)
		}
		for _, n := range f.Needed {
			entry(elf.DT_NEEDED, n)
		}
		if f.RunPath != "" {
			entry(elf.DT_RUNPATH, f.RunPath)
		}
		dyn.Write(make([]byte, 16)) // DT_NULL
		strIndex := uint32(len(secs))
		secs = append(secs, sec{name: ".dynstr", typ: elf.SHT_STRTAB, data: dynstr})
		secs = append(secs, sec{name: ".dynamic", typ: elf.SHT_DYNAMIC, data: dyn.Bytes(), link: strIndex, entsize: 16})
	}
	shstrtab := []byte{0}
	for i := 1; i < len(secs); i++ {
		secs[i].nameOffset = uint32(len(shstrtab))
		shstrtab = append(append(shstrtab, secs[i].name...), 0)
	}
	secs = append(secs, sec{name: ".shstrtab", typ: elf.SHT_STRTAB, nameOffset: uint32(len(shstrtab))})
	shstrtab = append(append(shstrtab, ".shstrtab"...), 0)
	secs[len(secs)-1].data = shstrtab

	const ehsize, shentsize = 64, 64
	var body bytes.Buffer
	offsets := make([]uint64, len(secs))
	for i := 1; i < len(secs); i++ {
		offsets[i] = uint64(ehsize + body.Len())
		body.Write(secs[i].data)
	}
	shoff := uint64(ehsize + body.Len())

	var out bytes.Buffer
	le := binary.LittleEndian
	out.Write([]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	out.Write(make([]byte, 9))
	binary.Write(&out, le, uint16(elf.ET_EXEC))
	binary.Write(&out, le, uint16(elf.EM_X86_64))
	binary.Write(&out, le, uint32(elf.EV_CURRENT))
	binary.Write(&out, le, uint64(0)) // entry
	binary.Write(&out, le, uint64(0)) // phoff
	binary.Write(&out, le, shoff)
	binary.Write(&out, le, uint32(0)) // flags
	binary.Write(&out, le, uint16(ehsize))
	binary.Write(&out, le, uint16(56)) // phentsize
	binary.Write(&out, le, uint16(0))  // phnum
	binary.Write(&out, le, uint16(shentsize))
	binary.Write(&out, le, uint16(len(secs)))
	binary.Write(&out, le, uint16(len(secs)-1))
	out.Write(body.Bytes())
	for i, s := range secs {
		binary.Write(&out, le, s.nameOffset)
		binary.Write(&out, le, uint32(s.typ))
		binary.Write(&out, le, uint64(0)) // flags
		binary.Write(&out, le, uint64(0)) // addr
		binary.Write(&out, le, offsets[i])
		binary.Write(&out, le, uint64(len(s.data)))
		binary.Write(&out, le, s.link)
		binary.Write(&out, le, uint32(0)) // info
		binary.Write(&out, le, uint64(1)) // addralign
		binary.Write(&out, le, s.entsize)
	}
	return out.Bytes()
}
