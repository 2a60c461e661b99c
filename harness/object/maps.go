package object

import (
	"debug/elf"
	"fmt"
	"strings"

	"oreore/harness/btf"
)

const (
	mapTypeArray   = 2       // BPF_MAP_TYPE_ARRAY
	maxDataSection = 4 << 20 // KMALLOC_MAX_SIZE on x86-64, the largest array value
)

func (r *reader) readMaps() error {
	for i, s := range r.f.Sections {
		var err error
		switch {
		case s.Name == "maps":
			err = r.legacyMaps(i, s)
		case s.Name == ".maps":
			err = r.btfMaps(s)
		case isDataSection(s.Name):
			err = r.dataMap(s)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// legacyMaps reads struct bpf_map_def { type, key_size, value_size,
// max_entries, map_flags } from each symbol of the "maps" section.
func (r *reader) legacyMaps(idx int, s *elf.Section) error {
	data, err := sectionData(s)
	if err != nil {
		return fmt.Errorf("section maps: %w", err)
	}
	for _, sym := range r.syms {
		if int(sym.Section) != idx || elf.ST_TYPE(sym.Info) == elf.STT_SECTION {
			continue
		}
		if sym.Size < 16 || sym.Value+sym.Size > uint64(len(data)) {
			return fmt.Errorf("section maps, symbol %s: %d bytes at %d do not hold a bpf_map_def", sym.Name, sym.Size, sym.Value)
		}
		def := data[sym.Value : sym.Value+sym.Size]
		field := func(i int) uint32 {
			if 4*i+4 > len(def) {
				return 0
			}
			return r.f.ByteOrder.Uint32(def[4*i:])
		}
		r.obj.Maps = append(r.obj.Maps, &Map{
			Name: sym.Name, Type: field(0), KeySize: field(1), ValueSize: field(2), MaxEntries: field(3), Flags: field(4),
		})
	}
	return nil
}

// btfMaps reads the maps of .maps from the object's BTF: each is a VAR in
// the .maps DATASEC whose struct encodes `__uint(name, n)` as a pointer to
// an array of n elements and `__type(name, T)` as a pointer to T.
func (r *reader) btfMaps(s *elf.Section) error {
	spec := r.obj.BTF
	if spec == nil {
		return fmt.Errorf("section .maps: the object has no .BTF to describe its maps")
	}
	secs := spec.Named(".maps", btf.KindDatasec)
	if len(secs) != 1 {
		return fmt.Errorf("section .maps: %d DATASECs named .maps in .BTF, want 1", len(secs))
	}
	for _, v := range secs[0].Vars {
		vt, err := spec.Type(v.Type)
		if err != nil {
			return fmt.Errorf("section .maps: %w", err)
		}
		if vt.Kind != btf.KindVar {
			return fmt.Errorf("section .maps: type %d is %v, want VAR", v.Type, vt.Kind)
		}
		def, err := spec.Skip(vt.Ref)
		if err != nil || def.Kind != btf.KindStruct {
			return fmt.Errorf("section .maps, map %s: its definition is not a struct (%v)", vt.Name, err)
		}
		m := &Map{Name: vt.Name}
		for _, mem := range def.Members {
			if err := r.btfMapField(m, mem); err != nil {
				return fmt.Errorf("section .maps, map %s, field %s: %w", vt.Name, mem.Name, err)
			}
		}
		r.obj.Maps = append(r.obj.Maps, m)
	}
	return nil
}

func (r *reader) btfMapField(m *Map, mem btf.Member) error {
	spec := r.obj.BTF
	ptr, err := spec.Skip(mem.Type)
	if err != nil {
		return err
	}
	if ptr.Kind != btf.KindPtr {
		return fmt.Errorf("is %v, want a pointer (__uint or __type)", ptr.Kind)
	}
	uintValue := func() (uint32, error) {
		arr, err := spec.Skip(ptr.Ref)
		if err != nil {
			return 0, err
		}
		if arr.Kind != btf.KindArray {
			return 0, fmt.Errorf("__uint must point to an array, not %v", arr.Kind)
		}
		return arr.Array.Nelems, nil
	}
	switch mem.Name {
	case "type":
		m.Type, err = uintValue()
	case "max_entries":
		m.MaxEntries, err = uintValue()
	case "map_flags":
		m.Flags, err = uintValue()
	case "key_size":
		m.KeySize, err = uintValue()
	case "value_size":
		m.ValueSize, err = uintValue()
	case "key":
		m.KeySize, err = spec.Size(ptr.Ref)
		m.BTFKeyTypeID = ptr.Ref
	case "value":
		m.ValueSize, err = spec.Size(ptr.Ref)
		m.BTFValueTypeID = ptr.Ref
	default:
		return fmt.Errorf("not a map attribute this loader knows")
	}
	return err
}

// dataMap makes a global data section a one-element array map whose value
// is the section. The kernel's map names allow '.'.
func (r *reader) dataMap(s *elf.Section) error {
	size := s.Size
	if size == 0 {
		return nil
	}
	// A map value the kernel would refuse anyway; and a .bss's size is not
	// bounded by the file, so it must not size an allocation unchecked.
	if size > maxDataSection {
		return fmt.Errorf("section %s: %d bytes is more than a map value can hold (%d)", s.Name, size, maxDataSection)
	}
	m := &Map{Name: s.Name, Type: mapTypeArray, KeySize: 4, ValueSize: uint32(size), MaxEntries: 1}
	if s.Type != elf.SHT_NOBITS {
		data, err := sectionData(s)
		if err != nil {
			return fmt.Errorf("section %s: %w", s.Name, err)
		}
		m.Data = data
	} else {
		m.Data = make([]byte, size)
	}
	m.Freeze = strings.HasPrefix(s.Name, ".rodata")
	if r.obj.BTF != nil {
		// The kernel types a global data map's value by its DATASEC.
		if secs := r.obj.BTF.Named(s.Name, btf.KindDatasec); len(secs) == 1 {
			m.BTFValueTypeID = secs[0].ID
		}
	}
	r.obj.Maps = append(r.obj.Maps, m)
	return nil
}
