package btf

import (
	"fmt"
	"strings"
)

// Format prints data as the type with the given id, bpftool style: a
// DATASEC as "name: value" lines, structs as {field: value}, integers in
// decimal. What it cannot type it prints as hex.
func (s *Spec) Format(id uint32, data []byte) string {
	t, err := s.Skip(id)
	if err == nil && t.Kind == KindDatasec {
		var lines []string
		for _, v := range t.Vars {
			vt, err := s.Type(v.Type)
			if err != nil || uint64(v.Offset)+uint64(v.Size) > uint64(len(data)) {
				continue
			}
			lines = append(lines, fmt.Sprintf("%s: %s", vt.Name, s.format(vt.Ref, data[v.Offset:v.Offset+v.Size], 0)))
		}
		return strings.Join(lines, "\n")
	}
	return s.format(id, data, 0)
}

func (s *Spec) format(id uint32, data []byte, depth int) string {
	t, err := s.Skip(id)
	if err != nil || depth > maxDepth {
		return fmt.Sprintf("%x", data)
	}
	le := s.Order
	switch t.Kind {
	case KindInt, KindEnum, KindEnum64:
		signed := t.Kind == KindInt && t.Extra>>24&1 == 1 || t.Kind != KindInt && t.KindFlag
		var u uint64
		switch len(data) {
		case 1:
			u = uint64(data[0])
		case 2:
			u = uint64(le.Uint16(data))
		case 4:
			u = uint64(le.Uint32(data))
		case 8:
			u = le.Uint64(data)
		default:
			return fmt.Sprintf("%x", data)
		}
		if signed {
			shift := 64 - 8*len(data)
			return fmt.Sprint(int64(u<<shift) >> shift)
		}
		return fmt.Sprint(u)
	case KindPtr:
		if len(data) == 8 {
			return fmt.Sprintf("%#x", le.Uint64(data))
		}
	case KindArray:
		if str, ok := s.charArray(t.Array.Elem, data); ok {
			return str
		}
		elem, err := s.size(t.Array.Elem, depth+1)
		if err != nil || elem == 0 || uint64(elem)*uint64(t.Array.Nelems) > uint64(len(data)) {
			break
		}
		var parts []string
		for i := uint32(0); i < t.Array.Nelems; i++ {
			parts = append(parts, s.format(t.Array.Elem, data[i*elem:(i+1)*elem], depth+1))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case KindStruct, KindUnion:
		var parts []string
		for _, m := range t.Members {
			size, err := s.size(m.Type, depth+1)
			off := m.BitOffset / 8
			if err != nil || m.BitSize != 0 || m.BitOffset%8 != 0 || uint64(off)+uint64(size) > uint64(len(data)) {
				parts = append(parts, m.Name+": ?")
				continue
			}
			parts = append(parts, fmt.Sprintf("%s: %s", m.Name, s.format(m.Type, data[off:off+size], depth+1)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("%x", data)
}

// charArray prints an array of char as a quoted string when it holds one
// (printable bytes up to a NUL), as bpftool's btf_dumper does: a struct_ops
// value's name, a task's comm.
func (s *Spec) charArray(elem uint32, data []byte) (string, bool) {
	t, err := s.Skip(elem)
	if err != nil || t.Kind != KindInt || t.Size != 1 || (t.Extra>>24&2 == 0 && t.Name != "char") {
		return "", false
	}
	for i, b := range data {
		if b == 0 {
			return fmt.Sprintf("%q", data[:i]), true
		}
		if b < 0x20 || b >= 0x7f {
			break
		}
	}
	return "", false
}
