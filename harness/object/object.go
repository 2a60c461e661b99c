// Package object reads an eBPF object file, as `clang -target bpf` writes
// it, the way libbpf's bpf_object__open does: programs by section, the
// license, maps (BTF-defined in .maps and legacy in maps), global data as
// single-element array maps, map and data relocations and bpf-to-bpf
// calls. Load then creates the maps and loads the programs.
//
// Every error names the section, symbol or relocation it failed on.
package object

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"

	"oreore/harness/asm"
	"oreore/harness/btf"
)

// Program is one program of the object, with its subprograms linked in.
type Program struct {
	Name    string // the function's symbol
	Section string
	// Kind is the section's name up to a '/' ("xdp", "oreore", ...).
	// Load gives the program the type of its section or of its Kind, from
	// LoadOptions.Sections or the generic sections.
	Kind  string
	Insns asm.Instructions
	// Refs are the instructions that load a map or the address of global
	// data; Load fills in the map's fd.
	Refs []MapRef
	// CORE are the instructions that CO-RE relocations rewrite at Load.
	CORE []CORERef
	// FuncInfo and LineInfo are the program's .BTF.ext records, with
	// InsnOff counted in slots of Insns, as the kernel wants them.
	FuncInfo []btf.FuncInfo
	LineInfo []btf.LineInfo
}

// MapRef is a 64-bit immediate load of a map (Offset < 0) or of the
// address Offset bytes into a global data map's value.
type MapRef struct {
	Insn   int // index into Insns
	Map    string
	Offset int64
}

// Map is a map the object defines.
type Map struct {
	Name       string
	Type       uint32
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	// Data is the initial value of a global data map (.data, .rodata,
	// .bss); Freeze makes it read-only for userspace (.rodata).
	Data   []byte
	Freeze bool
	// BTF types of the key and value in the object's BTF (0: none), so
	// that dumps can print fields by name.
	BTFKeyTypeID, BTFValueTypeID uint32
}

// Object is an opened object file.
type Object struct {
	License  string
	Programs []*Program
	Maps     []*Map
	// StructOps are the variables of .struct_ops and .struct_ops.link.
	StructOps []*StructOps
	// ByteOrder is the ELF file's: clang's bpfel or bpfeb. Its code,
	// relocations and data are in it; the kernel takes only its own.
	ByteOrder binary.ByteOrder
	BTF       *btf.Spec // nil when the object has no .BTF
	Ext       *btf.Ext  // nil when it has no .BTF.ext
	// btfBlob is .BTF as BPF_BTF_LOAD takes it (DATASECs filled in).
	btfBlob []byte
}

// Program returns the program called name.
func (o *Object) Program(name string) (*Program, error) {
	for _, p := range o.Programs {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("object has no program %q", name)
}

// Open reads the object file at path.
func Open(path string) (*Object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	o, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return o, nil
}

// Parse reads an object file from memory.
func Parse(b []byte) (*Object, error) {
	f, err := elfCall(func() (*elf.File, error) { return elf.NewFile(bytes.NewReader(b)) })
	if err != nil {
		return nil, fmt.Errorf("not an ELF object: %w", err)
	}
	if f.Machine != elf.EM_BPF || f.Class != elf.ELFCLASS64 {
		return nil, fmt.Errorf("not a 64-bit BPF object (machine %v, %v, %v)", f.Machine, f.Class, f.Data)
	}
	r := &reader{f: f, obj: &Object{ByteOrder: f.ByteOrder}, code: map[int][]byte{}}
	if err := r.read(); err != nil {
		return nil, err
	}
	return r.obj, nil
}

// elfCall runs a call into debug/elf, which trusts some header fields and
// can panic on a malformed file ("not designed to be hardened against
// adversarial inputs"): its panic becomes an error. Only those calls are
// covered: a panic in the loader's own code is a bug, and FuzzParse must
// see it.
func elfCall[T any](call func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, fmt.Errorf("malformed ELF (debug/elf panicked: %v)", r)
		}
	}()
	return call()
}

// sectionData is sectionData(s) with debug/elf's panics as errors.
func sectionData(s *elf.Section) ([]byte, error) { return elfCall(s.Data) }

// testHookRead, set by tests, runs first in the loader's own code.
var testHookRead func()

type reader struct {
	f     *elf.File
	obj   *Object
	syms  []elf.Symbol
	code  map[int][]byte          // section index -> bytes of executable sections
	relos map[int]map[uint64]relo // section index -> byte offset -> relocation
	funcs []function
}

type relo struct {
	typ uint32
	sym elf.Symbol
}

// function is a symbol's code: a program, or a subprogram in .text.
type function struct {
	name    string
	section int
	off     uint64 // bytes into the section
	size    uint64
	global  bool
}

const (
	rBPF64_64 = 1  // R_BPF_64_64: ld_imm64 of a map or data address
	rBPF64_32 = 10 // R_BPF_64_32: bpf-to-bpf call
	rBPFNone  = 0
)

func (r *reader) read() error {
	if testHookRead != nil {
		testHookRead()
	}
	if err := r.readLicense(); err != nil {
		return err
	}
	if s := r.f.Section(".BTF"); s != nil {
		data, err := sectionData(s)
		if err != nil {
			return fmt.Errorf("section .BTF: %w", err)
		}
		if r.obj.BTF, err = btf.Parse(data); err != nil {
			return fmt.Errorf("section .BTF: %w", err)
		}
		if s := r.f.Section(".BTF.ext"); s != nil {
			data, err := sectionData(s)
			if err != nil {
				return fmt.Errorf("section .BTF.ext: %w", err)
			}
			if r.obj.Ext, err = btf.ParseExt(data, r.obj.BTF); err != nil {
				return fmt.Errorf("section .BTF.ext: %w", err)
			}
		}
	}
	syms, err := elfCall(r.f.Symbols)
	if err != nil {
		return fmt.Errorf("symbol table: %w", err)
	}
	r.syms = syms
	for i, s := range r.f.Sections {
		if s.Type == elf.SHT_PROGBITS && s.Flags&elf.SHF_EXECINSTR != 0 {
			data, err := sectionData(s)
			if err != nil {
				return fmt.Errorf("section %s: %w", s.Name, err)
			}
			if len(data)%8 != 0 {
				return fmt.Errorf("section %s: %d bytes is not a whole number of instructions", s.Name, len(data))
			}
			r.code[i] = data
		}
	}
	if err := r.readRelocations(); err != nil {
		return err
	}
	if r.obj.BTF != nil {
		if r.obj.btfBlob, err = r.obj.BTF.FixDatasecs(r.sectionSize, r.symbolValue); err != nil {
			return fmt.Errorf("section .BTF: %w", err)
		}
	}
	if err := r.readMaps(); err != nil {
		return err
	}
	if err := r.readPrograms(); err != nil {
		return err
	}
	return r.readStructOps()
}

func (r *reader) readLicense() error {
	s := r.f.Section("license")
	if s == nil {
		return fmt.Errorf("no license section: the kernel needs one to allow GPL-only helpers")
	}
	data, err := sectionData(s)
	if err != nil {
		return fmt.Errorf("section license: %w", err)
	}
	r.obj.License, _, _ = strings.Cut(string(data), "\x00")
	return nil
}

func (r *reader) readRelocations() error {
	r.relos = map[int]map[uint64]relo{}
	for _, s := range r.f.Sections {
		if s.Type != elf.SHT_REL {
			continue
		}
		target := int(s.Info)
		if _, isCode := r.code[target]; !isCode {
			continue // debug info and BTF.ext relocations are not needed to load
		}
		data, err := sectionData(s)
		if err != nil {
			return fmt.Errorf("section %s: %w", s.Name, err)
		}
		if len(data)%16 != 0 {
			return fmt.Errorf("section %s: %d bytes is not a whole number of Elf64_Rel", s.Name, len(data))
		}
		m := map[uint64]relo{}
		for off := 0; off < len(data); off += 16 {
			rOff := r.f.ByteOrder.Uint64(data[off:])
			info := r.f.ByteOrder.Uint64(data[off+8:])
			symIdx, typ := info>>32, uint32(info)
			where := fmt.Sprintf("section %s, relocation %d (offset %#x)", s.Name, off/16, rOff)
			if symIdx == 0 || symIdx > uint64(len(r.syms)) {
				return fmt.Errorf("%s: symbol index %d out of range", where, symIdx)
			}
			if rOff%8 != 0 || rOff+8 > uint64(len(r.code[target])) {
				return fmt.Errorf("%s: past the end of %s or not on an instruction", where, r.f.Sections[target].Name)
			}
			switch typ {
			case rBPF64_64, rBPF64_32:
			case rBPFNone:
				continue
			default:
				return fmt.Errorf("%s: unknown relocation type %d", where, typ)
			}
			m[rOff] = relo{typ: typ, sym: r.syms[symIdx-1]}
		}
		r.relos[target] = m
	}
	return nil
}

func (r *reader) sectionSize(name string) (uint32, bool) {
	s := r.f.Section(name)
	if s == nil {
		return 0, false
	}
	return uint32(s.Size), true
}

func (r *reader) symbolValue(name string) (uint32, bool) {
	for _, sym := range r.syms {
		if sym.Name == name && elf.ST_TYPE(sym.Info) == elf.STT_OBJECT {
			return uint32(sym.Value), true
		}
	}
	return 0, false
}

// sectionName names the section a symbol lives in, or "" for none.
func (r *reader) sectionName(sym elf.Symbol) string {
	i := int(sym.Section)
	if sym.Section >= elf.SHN_LORESERVE || i >= len(r.f.Sections) {
		return ""
	}
	return r.f.Sections[i].Name
}

func isDataSection(name string) bool {
	return name == ".data" || name == ".bss" || name == ".rodata" ||
		strings.HasPrefix(name, ".data.") || strings.HasPrefix(name, ".rodata.")
}

func (r *reader) readPrograms() error {
	for _, sym := range r.syms {
		if elf.ST_TYPE(sym.Info) != elf.STT_FUNC {
			continue
		}
		if _, isCode := r.code[int(sym.Section)]; !isCode {
			continue
		}
		r.funcs = append(r.funcs, function{
			name: sym.Name, section: int(sym.Section), off: sym.Value, size: sym.Size,
			global: elf.ST_BIND(sym.Info) == elf.STB_GLOBAL,
		})
	}
	sort.Slice(r.funcs, func(i, j int) bool {
		if r.funcs[i].section != r.funcs[j].section {
			return r.funcs[i].section < r.funcs[j].section
		}
		return r.funcs[i].off < r.funcs[j].off
	})
	for _, fn := range r.funcs {
		secName := r.f.Sections[fn.section].Name
		if secName == ".text" || !fn.global {
			continue
		}
		if err := r.inside(fn); err != nil {
			return err
		}
		kind, _, _ := strings.Cut(secName, "/")
		p, err := r.link(fn)
		if err != nil {
			return fmt.Errorf("section %s, program %s: %w", secName, fn.name, err)
		}
		p.Section, p.Kind = secName, kind
		r.obj.Programs = append(r.obj.Programs, p)
	}
	if len(r.obj.Programs) == 0 {
		return fmt.Errorf("no programs: no global function in an executable section other than .text")
	}
	return nil
}

// inside checks that a function is whole instructions within its section.
func (r *reader) inside(fn function) error {
	n := uint64(len(r.code[fn.section]))
	if fn.size == 0 || fn.size%8 != 0 || fn.off%8 != 0 || fn.size > n || fn.off > n-fn.size {
		return fmt.Errorf("section %s, symbol %s: [%d, +%d) is not whole instructions inside the section (%d bytes)",
			r.f.Sections[fn.section].Name, fn.name, fn.off, fn.size, n)
	}
	return nil
}

// funcAt finds the function holding the instruction at off in section.
func (r *reader) funcAt(section int, off uint64) (function, bool) {
	for _, fn := range r.funcs {
		if fn.section == section && off >= fn.off && off < fn.off+fn.size {
			return fn, true
		}
	}
	return function{}, false
}

// link lays out a program: its function first, then every subprogram it
// calls, transitively, each once; then it fixes the call offsets.
func (r *reader) link(main function) (*Program, error) {
	type placed struct {
		fn   function
		slot int // first slot in the program
	}
	var order []placed
	at := map[string]int{} // function name -> index in order
	var slots [][8]byte
	type call struct {
		slot       int
		targetFunc string
		targetOff  uint64 // bytes into the target function
	}
	var calls []call
	p := &Program{Name: main.name}
	queue := []function{main}
	for len(queue) > 0 {
		fn := queue[0]
		queue = queue[1:]
		if _, done := at[fn.name]; done {
			continue
		}
		if err := r.inside(fn); err != nil {
			return nil, err
		}
		at[fn.name] = len(order)
		order = append(order, placed{fn, len(slots)})
		code := r.code[fn.section]
		secName := r.f.Sections[fn.section].Name
		if ext := r.obj.Ext; ext != nil {
			base := uint32(len(slots))
			for _, fi := range ext.FuncInfos[secName] {
				if uint64(fi.InsnOff) == fn.off {
					p.FuncInfo = append(p.FuncInfo, btf.FuncInfo{InsnOff: base, TypeID: fi.TypeID})
				}
			}
			for _, li := range ext.LineInfos[secName] {
				if uint64(li.InsnOff) >= fn.off && uint64(li.InsnOff) < fn.off+fn.size {
					li.InsnOff = base + (li.InsnOff-uint32(fn.off))/8
					p.LineInfo = append(p.LineInfo, li)
				}
			}
		}
		core := map[uint64][]btf.CORERelo{}
		if r.obj.Ext != nil {
			for _, rel := range r.obj.Ext.CORERelos[secName] {
				core[uint64(rel.InsnOff)] = append(core[uint64(rel.InsnOff)], rel)
			}
		}
		for off := fn.off; off < fn.off+fn.size; off += 8 {
			var slot [8]byte
			copy(slot[:], code[off:off+8])
			here := len(slots)
			slots = append(slots, slot)
			for _, rel := range core[off] {
				p.CORE = append(p.CORE, CORERef{Insn: here, CORERelo: rel})
			}
			op := slot[0]
			imm := int32(r.f.ByteOrder.Uint32(slot[4:]))
			rel, hasRel := r.relos[fn.section][off]
			switch {
			case op == 0x85 && srcReg(slot[1], r.f.ByteOrder) == 1: // call with BPF_PSEUDO_CALL
				tsec, toff := fn.section, int64(off)+8*(int64(imm)+1)
				if hasRel {
					if rel.typ != rBPF64_32 {
						return nil, fmt.Errorf("call at %s+%#x: relocation type %d, want R_BPF_64_32", secName, off, rel.typ)
					}
					tsec, toff = int(rel.sym.Section), int64(rel.sym.Value)+8*(int64(imm)+1)
				}
				if toff < 0 {
					return nil, fmt.Errorf("call at %s+%#x: target before the start of the section", secName, off)
				}
				target, ok := r.funcAt(tsec, uint64(toff))
				if !ok {
					return nil, fmt.Errorf("call at %s+%#x: no function at the target", secName, off)
				}
				calls = append(calls, call{slot: here, targetFunc: target.name, targetOff: uint64(toff) - target.off})
				queue = append(queue, target)
			case op == 0x18 && hasRel: // ld_imm64 of a map or global data
				if rel.typ != rBPF64_64 {
					return nil, fmt.Errorf("ld_imm64 at %s+%#x: relocation type %d, want R_BPF_64_64", secName, off, rel.typ)
				}
				ref, err := r.mapRef(rel.sym, int64(imm))
				if err != nil {
					return nil, fmt.Errorf("ld_imm64 at %s+%#x, symbol %q: %w", secName, off, rel.sym.Name, err)
				}
				ref.Insn = here // a slot index for now
				p.Refs = append(p.Refs, ref)
			case hasRel:
				return nil, fmt.Errorf("instruction at %s+%#x (opcode %#02x) has a relocation it cannot take", secName, off, op)
			}
		}
	}
	for _, c := range calls {
		target := order[at[c.targetFunc]].slot + int(c.targetOff/8)
		r.f.ByteOrder.PutUint32(slots[c.slot][4:], uint32(int32(target-(c.slot+1))))
	}
	raw := make([]byte, 0, 8*len(slots))
	for _, s := range slots {
		raw = append(raw, s[:]...)
	}
	insns, err := asm.DecodeOrder(raw, r.f.ByteOrder)
	if err != nil {
		return nil, err
	}
	slotToInsn := map[int]int{}
	for i, slot := 0, 0; i < len(insns); i++ {
		slotToInsn[slot] = i
		slot += insns[i].Slots()
	}
	p.Insns = insns
	for i := range p.Refs {
		p.Refs[i].Insn = slotToInsn[p.Refs[i].Insn]
	}
	for i := range p.CORE {
		p.CORE[i].Insn = slotToInsn[p.CORE[i].Insn]
	}
	return p, nil
}

// mapRef resolves the symbol of an ld_imm64 relocation.
func (r *reader) mapRef(sym elf.Symbol, addend int64) (MapRef, error) {
	sec := r.sectionName(sym)
	switch {
	case sec == "maps" || sec == ".maps":
		name := sym.Name
		if elf.ST_TYPE(sym.Info) == elf.STT_SECTION {
			return MapRef{}, fmt.Errorf("a reference to the %s section itself, not to a map", sec)
		}
		return MapRef{Map: name, Offset: -1}, nil
	case isDataSection(sec):
		off := addend
		if elf.ST_TYPE(sym.Info) != elf.STT_SECTION {
			off += int64(sym.Value)
		}
		return MapRef{Map: sec, Offset: off}, nil
	}
	return MapRef{}, fmt.Errorf("symbol in section %q, which is neither maps nor global data", sec)
}

// srcReg is an instruction's source register. struct bpf_insn declares
// dst_reg:4 then src_reg:4, and a big-endian compiler puts the first
// bit-field in the high bits.
func srcReg(regs byte, order binary.ByteOrder) byte {
	if bigEndian(order) {
		return regs & 0xf
	}
	return regs >> 4
}

func bigEndian(order binary.ByteOrder) bool { return order.Uint16([]byte{0, 1}) == 1 }

func orderName(order binary.ByteOrder) string {
	if bigEndian(order) {
		return "big-endian (bpfeb)"
	}
	return "little-endian (bpfel)"
}
