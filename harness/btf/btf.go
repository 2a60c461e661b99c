// Package btf parses BPF Type Format blobs: the .BTF section of an object
// file and the kernel's /sys/kernel/btf/vmlinux. It reads types and names;
// it never panics on malformed input, it returns an error that says where.
package btf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Kind is a BTF_KIND_* value.
type Kind uint8

const (
	KindUnknown Kind = iota
	KindInt
	KindPtr
	KindArray
	KindStruct
	KindUnion
	KindEnum
	KindFwd
	KindTypedef
	KindVolatile
	KindConst
	KindRestrict
	KindFunc
	KindFuncProto
	KindVar
	KindDatasec
	KindFloat
	KindDeclTag
	KindTypeTag
	KindEnum64
)

var kindNames = []string{"UNKN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF",
	"VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("KIND(%d)", uint8(k))
}

// Type is one BTF type. Which fields mean something depends on Kind.
type Type struct {
	ID       uint32
	Kind     Kind
	Name     string
	KindFlag bool
	// Size in bytes of INT, STRUCT, UNION, ENUM, ENUM64, DATASEC and FLOAT.
	Size uint32
	// Ref is the referenced type of PTR, TYPEDEF, VOLATILE, CONST, RESTRICT,
	// TYPE_TAG, FUNC, VAR and DECL_TAG, and the return type of FUNC_PROTO.
	Ref     uint32
	Array   Array
	Members []Member  // STRUCT, UNION
	Enums   []Enum    // ENUM, ENUM64
	Params  []Param   // FUNC_PROTO
	Vars    []SecInfo // DATASEC
	Extra   uint32    // INT encoding, VAR linkage, DECL_TAG component index
}

// Array is the element type and count of an ARRAY.
type Array struct {
	Elem, Index, Nelems uint32
}

// Member is a STRUCT or UNION member; BitOffset counts from the start.
type Member struct {
	Name      string
	Type      uint32
	BitOffset uint32
	BitSize   uint32 // non-zero for a bitfield in a kind_flag struct
}

// Enum is an enumerator.
type Enum struct {
	Name string
	// Value holds the enumerator's 64 bits as libbpf's btf_enum64_value
	// gives them: an ENUM's 32-bit value is sign-extended when the enum is
	// signed (the type's KindFlag) and zero-extended when it is not, so
	// int64(Value) is a signed enum's value and Value an unsigned one's.
	Value uint64
}

// Param is a FUNC_PROTO parameter.
type Param struct {
	Name string
	Type uint32
}

// SecInfo is a variable's place in a DATASEC.
type SecInfo struct {
	Type, Offset, Size uint32
}

// Spec is a parsed blob. Types[0] is void.
type Spec struct {
	// Order is the blob's byte order, from its magic: the order of the
	// machine it was made for (clang's bpfel or bpfeb, or the kernel's).
	Order   binary.ByteOrder
	Types   []*Type
	byName  map[string][]*Type
	Strings []byte
	raw     []byte
	offsets []int // byte offset of each type's record in raw
}

const (
	magic     = 0xeb9f
	headerLen = 24
)

// Parse reads a BTF blob, in either byte order.
func Parse(b []byte) (*Spec, error) { return parse(b, nil) }

// ParseSplit reads a module's BTF (/sys/kernel/btf/MODULE), which is split
// BTF on top of base (vmlinux's): its type IDs go on after base's last, and
// its string offsets after base's string section, so the returned Spec
// holds base's types and strings followed by the module's, and its IDs are
// the kernel's.
func ParseSplit(b []byte, base *Spec) (*Spec, error) { return parse(b, base) }

// orderOf is the byte order a blob's magic (0xeb9f) is written in.
func orderOf(b []byte) (binary.ByteOrder, error) {
	switch {
	case binary.LittleEndian.Uint16(b) == magic:
		return binary.LittleEndian, nil
	case binary.BigEndian.Uint16(b) == magic:
		return binary.BigEndian, nil
	}
	return nil, fmt.Errorf("bad magic %#x", binary.LittleEndian.Uint16(b))
}

func parse(b []byte, base *Spec) (*Spec, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("btf: %d bytes is shorter than the header", len(b))
	}
	le, err := orderOf(b)
	if err != nil {
		return nil, fmt.Errorf("btf: %w", err)
	}
	if base != nil && base.Order != le {
		return nil, fmt.Errorf("btf: split BTF in %v on base BTF in %v", le, base.Order)
	}
	hdrLen := le.Uint32(b[4:])
	typeOff, typeLen := le.Uint32(b[8:]), le.Uint32(b[12:])
	strOff, strLen := le.Uint32(b[16:]), le.Uint32(b[20:])
	if hdrLen < headerLen || uint64(hdrLen) > uint64(len(b)) {
		return nil, fmt.Errorf("btf: header length %d out of range", hdrLen)
	}
	body := b[hdrLen:]
	types, err := section(body, typeOff, typeLen, "type")
	if err != nil {
		return nil, err
	}
	strs, err := section(body, strOff, strLen, "string")
	if err != nil {
		return nil, err
	}
	s := &Spec{Order: le, Strings: strs, Types: []*Type{{Kind: KindUnknown}}, byName: map[string][]*Type{}, raw: b, offsets: []int{-1}}
	if base != nil {
		s.Strings = append(append([]byte(nil), base.Strings...), strs...)
		s.Types = append([]*Type(nil), base.Types...)
		s.offsets = make([]int, len(base.Types))
		for i := range s.offsets {
			s.offsets[i] = -1 // not in this blob
		}
		for name, ts := range base.byName {
			s.byName[name] = append([]*Type(nil), ts...)
		}
	} else if len(strs) > 0 && strs[0] != 0 {
		return nil, errors.New("btf: the string section does not start with an empty string")
	}
	typesAt := int(hdrLen) + int(typeOff)
	for off := 0; off < len(types); {
		t, n, err := s.parseType(types[off:], uint32(len(s.Types)))
		if err != nil {
			return nil, fmt.Errorf("btf: type %d at offset %d: %w", len(s.Types), off, err)
		}
		s.Types = append(s.Types, t)
		s.offsets = append(s.offsets, typesAt+off)
		if t.Name != "" {
			s.byName[t.Name] = append(s.byName[t.Name], t)
		}
		off += n
	}
	return s, nil
}

func section(body []byte, off, length uint32, what string) ([]byte, error) {
	end := uint64(off) + uint64(length)
	if end > uint64(len(body)) {
		return nil, fmt.Errorf("btf: %s section [%d, %d) past the end (%d bytes)", what, off, end, len(body))
	}
	return body[off:end], nil
}

// Name returns the string at off.
func (s *Spec) Name(off uint32) (string, error) {
	if uint64(off) >= uint64(len(s.Strings)) {
		if off == 0 {
			return "", nil
		}
		return "", fmt.Errorf("name offset %d past the string section (%d bytes)", off, len(s.Strings))
	}
	str := s.Strings[off:]
	end := 0
	for end < len(str) && str[end] != 0 {
		end++
	}
	if end == len(str) {
		return "", fmt.Errorf("name at offset %d is not terminated", off)
	}
	return string(str[:end]), nil
}

func (s *Spec) parseType(b []byte, id uint32) (*Type, int, error) {
	le := s.Order
	if len(b) < 12 {
		return nil, 0, errors.New("truncated")
	}
	info := le.Uint32(b[4:])
	t := &Type{ID: id, Kind: Kind(info >> 24 & 0x1f), KindFlag: info>>31 == 1}
	name, err := s.Name(le.Uint32(b))
	if err != nil {
		return nil, 0, err
	}
	t.Name = name
	vlen := int(info & 0xffff)
	sizeOrType := le.Uint32(b[8:])
	rest := b[12:]
	need := func(n int) error {
		if len(rest) < n {
			return fmt.Errorf("%v needs %d more bytes, %d left", t.Kind, n, len(rest))
		}
		return nil
	}
	n := 12
	switch t.Kind {
	case KindInt:
		if err := need(4); err != nil {
			return nil, 0, err
		}
		t.Size, t.Extra = sizeOrType, le.Uint32(rest)
		n += 4
	case KindPtr, KindFwd, KindTypedef, KindVolatile, KindConst, KindRestrict, KindFunc, KindTypeTag:
		t.Ref = sizeOrType
	case KindFloat:
		t.Size = sizeOrType
	case KindArray:
		if err := need(12); err != nil {
			return nil, 0, err
		}
		t.Array = Array{Elem: le.Uint32(rest), Index: le.Uint32(rest[4:]), Nelems: le.Uint32(rest[8:])}
		n += 12
	case KindStruct, KindUnion:
		if err := need(12 * vlen); err != nil {
			return nil, 0, err
		}
		t.Size = sizeOrType
		for i := 0; i < vlen; i++ {
			m := rest[12*i:]
			name, err := s.Name(le.Uint32(m))
			if err != nil {
				return nil, 0, fmt.Errorf("member %d: %w", i, err)
			}
			off := le.Uint32(m[8:])
			mem := Member{Name: name, Type: le.Uint32(m[4:]), BitOffset: off}
			if t.KindFlag {
				mem.BitOffset, mem.BitSize = off&0xffffff, off>>24
			}
			t.Members = append(t.Members, mem)
		}
		n += 12 * vlen
	case KindEnum:
		if err := need(8 * vlen); err != nil {
			return nil, 0, err
		}
		t.Size = sizeOrType
		for i := 0; i < vlen; i++ {
			name, err := s.Name(le.Uint32(rest[8*i:]))
			if err != nil {
				return nil, 0, err
			}
			// kind_flag 0: unsigned, so 0x80000000 is 2147483648.
			v := uint64(le.Uint32(rest[8*i+4:]))
			if t.KindFlag {
				v = uint64(int64(int32(v)))
			}
			t.Enums = append(t.Enums, Enum{Name: name, Value: v})
		}
		n += 8 * vlen
	case KindEnum64:
		if err := need(12 * vlen); err != nil {
			return nil, 0, err
		}
		t.Size = sizeOrType
		for i := 0; i < vlen; i++ {
			name, err := s.Name(le.Uint32(rest[12*i:]))
			if err != nil {
				return nil, 0, err
			}
			// All 64 bits are stored (val_lo32, val_hi32): signed or not,
			// nothing to extend.
			v := uint64(le.Uint32(rest[12*i+8:]))<<32 | uint64(le.Uint32(rest[12*i+4:]))
			t.Enums = append(t.Enums, Enum{Name: name, Value: v})
		}
		n += 12 * vlen
	case KindFuncProto:
		if err := need(8 * vlen); err != nil {
			return nil, 0, err
		}
		t.Ref = sizeOrType
		for i := 0; i < vlen; i++ {
			name, err := s.Name(le.Uint32(rest[8*i:]))
			if err != nil {
				return nil, 0, err
			}
			t.Params = append(t.Params, Param{Name: name, Type: le.Uint32(rest[8*i+4:])})
		}
		n += 8 * vlen
	case KindVar, KindDeclTag:
		if err := need(4); err != nil {
			return nil, 0, err
		}
		t.Ref, t.Extra = sizeOrType, le.Uint32(rest)
		n += 4
	case KindDatasec:
		if err := need(12 * vlen); err != nil {
			return nil, 0, err
		}
		t.Size = sizeOrType
		for i := 0; i < vlen; i++ {
			v := rest[12*i:]
			t.Vars = append(t.Vars, SecInfo{Type: le.Uint32(v), Offset: le.Uint32(v[4:]), Size: le.Uint32(v[8:])})
		}
		n += 12 * vlen
	default:
		return nil, 0, fmt.Errorf("unknown kind %d", t.Kind)
	}
	return t, n, nil
}

// Type returns the type with the given id.
func (s *Spec) Type(id uint32) (*Type, error) {
	if int64(id) >= int64(len(s.Types)) {
		return nil, fmt.Errorf("btf: type id %d out of range (%d types)", id, len(s.Types)-1)
	}
	return s.Types[id], nil
}

// Skip follows typedefs and qualifiers to the type they name.
func (s *Spec) Skip(id uint32) (*Type, error) {
	for range 64 {
		t, err := s.Type(id)
		if err != nil {
			return nil, err
		}
		switch t.Kind {
		case KindTypedef, KindVolatile, KindConst, KindRestrict, KindTypeTag:
			id = t.Ref
		default:
			return t, nil
		}
	}
	return nil, fmt.Errorf("btf: type %d: too many typedefs or qualifiers", id)
}

// Size is the size in bytes of the type with the given id.
func (s *Spec) Size(id uint32) (uint32, error) {
	return s.size(id, 0)
}

// maxDepth bounds how far types may nest: a malformed blob can make an
// array its own element.
const maxDepth = 32

func (s *Spec) size(id uint32, depth int) (uint32, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("btf: type %d nests deeper than %d (a cycle?)", id, maxDepth)
	}
	t, err := s.Skip(id)
	if err != nil {
		return 0, err
	}
	switch t.Kind {
	case KindInt, KindStruct, KindUnion, KindEnum, KindEnum64, KindDatasec, KindFloat:
		return t.Size, nil
	case KindPtr:
		return 8, nil
	case KindArray:
		elem, err := s.size(t.Array.Elem, depth+1)
		if err != nil {
			return 0, err
		}
		total := uint64(elem) * uint64(t.Array.Nelems)
		if total > 1<<32-1 {
			return 0, fmt.Errorf("btf: array type %d is larger than 4 GiB", t.ID)
		}
		return uint32(total), nil
	case KindVar:
		return s.size(t.Ref, depth+1)
	}
	return 0, fmt.Errorf("btf: type %d (%v %q) has no size", t.ID, t.Kind, t.Name)
}

// Named returns the types called name, of the given kind.
func (s *Spec) Named(name string, kind Kind) []*Type {
	var out []*Type
	for _, t := range s.byName[name] {
		if t.Kind == kind {
			out = append(out, t)
		}
	}
	return out
}

// EssentialName drops a CO-RE flavor suffix: "ethhdr___wrong" is "ethhdr".
func EssentialName(name string) string {
	if i := strings.Index(name, "___"); i > 0 {
		return name[:i]
	}
	return name
}

// FixDatasecs returns a copy of the blob for BPF_BTF_LOAD with what clang
// leaves for the loader to fill in: each DATASEC's size (from its ELF
// section) and each variable's offset in it (from the symbol table). The
// kernel refuses a DATASEC of size 0.
func (s *Spec) FixDatasecs(sectionSize func(name string) (uint32, bool), varOffset func(name string) (uint32, bool)) ([]byte, error) {
	out := append([]byte(nil), s.raw...)
	le := s.Order
	for _, t := range s.Types {
		if t.Kind != KindDatasec {
			continue
		}
		if s.offsets[t.ID] < 0 {
			continue // a split blob's base type
		}
		size, ok := sectionSize(t.Name)
		if !ok {
			return nil, fmt.Errorf("btf: DATASEC %s has no ELF section", t.Name)
		}
		at := s.offsets[t.ID]
		le.PutUint32(out[at+8:], size)
		for i, v := range t.Vars {
			vt, err := s.Type(v.Type)
			if err != nil {
				return nil, err
			}
			off, ok := varOffset(vt.Name)
			if !ok {
				return nil, fmt.Errorf("btf: DATASEC %s: variable %s has no symbol", t.Name, vt.Name)
			}
			le.PutUint32(out[at+12+12*i+4:], off)
		}
	}
	return out, nil
}
