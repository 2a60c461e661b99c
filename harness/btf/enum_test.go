package btf

import (
	"encoding/binary"
	"testing"
)

// blob is a BTF blob built by hand: types are appended as raw records,
// names to the string section.
type blob struct {
	types, strs []byte
}

func (b *blob) name(s string) uint32 {
	if len(b.strs) == 0 {
		b.strs = []byte{0}
	}
	off := uint32(len(b.strs))
	b.strs = append(append(b.strs, s...), 0)
	return off
}

func (b *blob) u32(vs ...uint32) {
	for _, v := range vs {
		b.types = binary.LittleEndian.AppendUint32(b.types, v)
	}
}

// enum appends an ENUM (values as the 32 bits stored) or, when size is 8,
// an ENUM64.
func (b *blob) enum(name string, signed bool, size uint32, names []string, values []uint64) {
	kind, flag := uint32(KindEnum), uint32(0)
	if size == 8 {
		kind = uint32(KindEnum64)
	}
	if signed {
		flag = 1
	}
	b.u32(b.name(name), flag<<31|kind<<24|uint32(len(names)), size)
	for i, n := range names {
		if size == 8 {
			b.u32(b.name(n), uint32(values[i]), uint32(values[i]>>32))
		} else {
			b.u32(b.name(n), uint32(values[i]))
		}
	}
}

func (b *blob) bytes() []byte {
	out := binary.LittleEndian.AppendUint16(nil, magic)
	out = append(out, 1, 0) // version, flags
	out = binary.LittleEndian.AppendUint32(out, headerLen)
	for _, v := range []uint32{0, uint32(len(b.types)), uint32(len(b.types)), uint32(len(b.strs))} {
		out = binary.LittleEndian.AppendUint32(out, v)
	}
	return append(append(out, b.types...), b.strs...)
}

// BTF_KIND_ENUM with kind_flag 0 is unsigned: 0x80000000 and 0xffffffff
// are 2^31 and 2^32-1, not negative. A signed ENUM's values are
// sign-extended; ENUM64 stores all 64 bits either way.
func TestEnumValuesFollowSignedness(t *testing.T) {
	var b blob
	b.enum("u32", false, 4, []string{"U_HALF", "U_MAX", "U_SEVEN"}, []uint64{0x80000000, 0xffffffff, 7})
	b.enum("s32", true, 4, []string{"S_MINUS_ONE", "S_MIN", "S_SEVEN"}, []uint64{0xffffffff, 0x80000000, 7})
	b.enum("u64", false, 8, []string{"U64_TOP", "U64_LOW_HALF"}, []uint64{1 << 63, 0xffffffff})
	b.enum("s64", true, 8, []string{"S64_MINUS_ONE", "S64_MIN32"}, []uint64{^uint64(0), 0xffffffff80000000})
	s, err := Parse(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		"U_HALF": 0x80000000, "U_MAX": 0xffffffff, "U_SEVEN": 7,
		"S_MINUS_ONE": ^uint64(0), "S_MIN": 0xffffffff80000000, "S_SEVEN": 7,
		"U64_TOP": 1 << 63, "U64_LOW_HALF": 0xffffffff,
		"S64_MINUS_ONE": ^uint64(0), "S64_MIN32": 0xffffffff80000000,
	}
	seen := 0
	for _, typ := range s.Types[1:] {
		if typ.Kind != KindEnum && typ.Kind != KindEnum64 {
			t.Fatalf("type %d is %v, want an enum", typ.ID, typ.Kind)
		}
		for _, e := range typ.Enums {
			seen++
			// uint64() of the value: the test reads the bits whatever
			// the field's type.
			if got := uint64(e.Value); got != want[e.Name] {
				t.Errorf("%s %s (kind_flag %v): %#x, want %#x", typ.Kind, e.Name, typ.KindFlag, got, want[e.Name])
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%d enumerators, want %d", seen, len(want))
	}
	// The formatter reads values with the same signedness.
	if got := s.Format(1, []byte{0, 0, 0, 0x80}); got != "2147483648" {
		t.Errorf("u32 0x80000000 formats as %s", got)
	}
	if got := s.Format(2, []byte{0xff, 0xff, 0xff, 0xff}); got != "-1" {
		t.Errorf("s32 0xffffffff formats as %s", got)
	}
}
