package btf

import (
	"encoding/binary"
	"testing"
)

// A module's BTF names vmlinux's types by their IDs and its strings by
// offsets past vmlinux's string section.
func TestSplitBTFContinuesItsBase(t *testing.T) {
	var b blob
	b.u32(b.name("int"), uint32(KindInt)<<24, 4, 32)   // [1] int
	b.enum("e", false, 4, []string{"E0"}, []uint64{0}) // [2] enum e
	base, err := Parse(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	// [3] struct oreore_ops { int run; }, in the module's blob: its names
	// at base's string length and on, its member's type base's int.
	strs := []byte("oreore_ops\x00run\x00")
	at := uint32(len(base.Strings))
	var types []byte
	for _, v := range []uint32{at, uint32(KindStruct)<<24 | 1, 4, at + 11, 1, 0} {
		types = binary.LittleEndian.AppendUint32(types, v)
	}
	split := binary.LittleEndian.AppendUint16(nil, magic)
	split = append(split, 1, 0)
	for _, v := range []uint32{headerLen, 0, uint32(len(types)), uint32(len(types)), uint32(len(strs))} {
		split = binary.LittleEndian.AppendUint32(split, v)
	}
	split = append(append(split, types...), strs...)

	if _, err := Parse(split); err == nil {
		t.Error("a split blob parsed without its base")
	}
	s, err := ParseSplit(split, base)
	if err != nil {
		t.Fatal(err)
	}
	ops := s.Named("oreore_ops", KindStruct)
	if len(ops) != 1 || ops[0].ID != 3 || len(ops[0].Members) != 1 || ops[0].Members[0].Name != "run" || ops[0].Members[0].Type != 1 {
		t.Fatalf("oreore_ops in the split spec: %+v", ops)
	}
	if e := s.Named("e", KindEnum); len(e) != 1 || e[0].ID != 2 {
		t.Errorf("base's enum e in the split spec: %+v", e)
	}
	if len(base.Types) != 3 {
		t.Errorf("the base spec grew to %d types", len(base.Types))
	}
}
