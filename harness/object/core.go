package object

import (
	"fmt"
	"strconv"
	"strings"

	"oreore/harness/asm"
	"oreore/harness/btf"
)

// CORERef is a CO-RE relocation of one of a program's instructions.
type CORERef struct {
	Insn int // index into Insns
	btf.CORERelo
}

// applyCORE rewrites the instructions that CO-RE relocations point at with
// the values that target (the kernel's BTF) gives.
func applyCORE(insns asm.Instructions, refs []CORERef, local, target *btf.Spec) error {
	for i, ref := range refs {
		localVal, targetVal, err := resolve(local, target, ref.CORERelo)
		if err != nil {
			return fmt.Errorf("CO-RE relocation %d (%v, type %d, access %q) at instruction %d: %w",
				i, ref.Kind, ref.TypeID, ref.AccessStr, ref.Insn, err)
		}
		if err := patch(&insns[ref.Insn], ref.Kind, localVal, targetVal); err != nil {
			return fmt.Errorf("CO-RE relocation %d (%v, access %q) at instruction %d (%v): %w",
				i, ref.Kind, ref.AccessStr, ref.Insn, insns[ref.Insn], err)
		}
	}
	return nil
}

func patch(ins *asm.Instruction, kind btf.COREKind, localVal, targetVal uint64) error {
	class := ins.OpCode & 0x07
	switch {
	case class == asm.ClassLDX || class == asm.ClassST || class == asm.ClassSTX:
		if kind != btf.FieldByteOffset {
			return fmt.Errorf("a memory access can only take a field offset")
		}
		if uint64(int64(ins.Offset)) != localVal {
			return fmt.Errorf("the offset is %d, but the local type says %d", ins.Offset, localVal)
		}
		if targetVal > 1<<15-1 {
			return fmt.Errorf("target offset %d does not fit an instruction", targetVal)
		}
		ins.Offset = int16(targetVal)
	case (class == asm.ClassALU || class == asm.ClassALU64) && ins.OpCode&asm.SourceReg == 0:
		if uint64(ins.Constant) != localVal && uint64(uint32(ins.Constant)) != localVal {
			return fmt.Errorf("the immediate is %d, but the local type says %d", ins.Constant, localVal)
		}
		if targetVal > 1<<31-1 {
			return fmt.Errorf("target value %d does not fit a 32-bit immediate", targetVal)
		}
		ins.Constant = int64(targetVal)
	case ins.IsLoadImm64():
		if uint64(ins.Constant) != localVal {
			return fmt.Errorf("the immediate is %d, but the local type says %d", ins.Constant, localVal)
		}
		ins.Constant = int64(targetVal)
	default:
		return fmt.Errorf("not an instruction a CO-RE relocation can patch")
	}
	return nil
}

// access is a parsed access string: the root's array index, then member or
// element indexes.
func parseAccess(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ":") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad access string %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// resolve computes the relocated value in the object's own types (which
// the instruction holds) and in the target's.
func resolve(local, target *btf.Spec, rel btf.CORERelo) (localVal, targetVal uint64, err error) {
	root, err := local.Skip(rel.TypeID)
	if err != nil {
		return 0, 0, err
	}
	acc, err := parseAccess(rel.AccessStr)
	if err != nil {
		return 0, 0, err
	}
	name := btf.EssentialName(root.Name)
	if name == "" {
		return 0, 0, fmt.Errorf("the local type is anonymous: nothing to look up in the target")
	}
	switch rel.Kind {
	case btf.FieldByteOffset, btf.FieldByteSize, btf.FieldExists:
		lf, err := walk(local, root, acc, nil)
		if err != nil {
			return 0, 0, fmt.Errorf("local type %s: %w", root.Name, err)
		}
		localVal, err = fieldValue(local, lf, rel.Kind)
		if err != nil {
			return 0, 0, err
		}
		for _, cand := range target.Named(name, root.Kind) {
			tf, err := walk(target, cand, acc, lf.names)
			if err != nil {
				continue
			}
			v, err := fieldValue(target, tf, rel.Kind)
			return localVal, v, err
		}
		if rel.Kind == btf.FieldExists {
			return localVal, 0, nil
		}
		return 0, 0, fmt.Errorf("field %s.%s is not in the target BTF", root.Name, strings.Join(lf.names, "."))
	case btf.TypeSize, btf.TypeExists:
		localSize, err := local.Size(root.ID)
		if err != nil {
			return 0, 0, err
		}
		localVal = uint64(localSize)
		if rel.Kind == btf.TypeExists {
			localVal = 1
		}
		for _, cand := range target.Named(name, root.Kind) {
			if rel.Kind == btf.TypeExists {
				return localVal, 1, nil
			}
			size, err := target.Size(cand.ID)
			return localVal, uint64(size), err
		}
		if rel.Kind == btf.TypeExists {
			return localVal, 0, nil
		}
		return 0, 0, fmt.Errorf("type %s is not in the target BTF", root.Name)
	case btf.EnumvalExists, btf.EnumvalValue:
		if (root.Kind != btf.KindEnum && root.Kind != btf.KindEnum64) || len(acc) != 1 || acc[0] >= len(root.Enums) {
			return 0, 0, fmt.Errorf("not an enumerator of an enum")
		}
		e := root.Enums[acc[0]]
		localVal = uint64(e.Value)
		if rel.Kind == btf.EnumvalExists {
			localVal = 1
		}
		for _, kind := range []btf.Kind{btf.KindEnum, btf.KindEnum64} {
			for _, cand := range target.Named(name, kind) {
				for _, te := range cand.Enums {
					if btf.EssentialName(te.Name) == btf.EssentialName(e.Name) {
						if rel.Kind == btf.EnumvalExists {
							return localVal, 1, nil
						}
						return localVal, uint64(te.Value), nil
					}
				}
			}
		}
		if rel.Kind == btf.EnumvalExists {
			return localVal, 0, nil
		}
		return 0, 0, fmt.Errorf("enumerator %s of %s is not in the target BTF", e.Name, root.Name)
	}
	return 0, 0, fmt.Errorf("relocation kind %v is not supported", rel.Kind)
}

// field is where an access string leads.
type field struct {
	bitOffset uint64
	typ       uint32
	bitSize   uint32
	names     []string // member names along the way ("" for array steps)
}

// walk follows acc from root. With names (the local walk's), members are
// matched by name, as the target's layout may differ; without, by index.
func walk(spec *btf.Spec, root *btf.Type, acc []int, names []string) (field, error) {
	rootSize, err := spec.Size(root.ID)
	if err != nil {
		return field{}, err
	}
	f := field{bitOffset: uint64(acc[0]) * uint64(rootSize) * 8, typ: root.ID}
	for i, idx := range acc[1:] {
		t, err := spec.Skip(f.typ)
		if err != nil {
			return field{}, err
		}
		switch t.Kind {
		case btf.KindStruct, btf.KindUnion:
			var m btf.Member
			var extra uint64
			if names == nil {
				if idx >= len(t.Members) {
					return field{}, fmt.Errorf("member %d of %s: it has %d", idx, t.Name, len(t.Members))
				}
				m = t.Members[idx]
			} else {
				var ok bool
				m, extra, ok = findMember(spec, t, names[i])
				if !ok {
					return field{}, fmt.Errorf("%s has no member %s", t.Name, names[i])
				}
			}
			f.bitOffset += extra + uint64(m.BitOffset)
			f.typ, f.bitSize = m.Type, m.BitSize
			f.names = append(f.names, m.Name)
		case btf.KindArray:
			if names != nil && uint32(idx) >= t.Array.Nelems && t.Array.Nelems != 0 {
				return field{}, fmt.Errorf("index %d past an array of %d", idx, t.Array.Nelems)
			}
			elem, err := spec.Size(t.Array.Elem)
			if err != nil {
				return field{}, err
			}
			f.bitOffset += uint64(idx) * uint64(elem) * 8
			f.typ, f.bitSize = t.Array.Elem, 0
			f.names = append(f.names, "")
		default:
			return field{}, fmt.Errorf("cannot index into %v %s", t.Kind, t.Name)
		}
	}
	return f, nil
}

// findMember finds a member by name, looking into anonymous structs and
// unions, and returns the bit offset of the anonymous members it crossed.
func findMember(spec *btf.Spec, t *btf.Type, name string) (btf.Member, uint64, bool) {
	return findMemberDepth(spec, t, name, 0)
}

func findMemberDepth(spec *btf.Spec, t *btf.Type, name string, depth int) (btf.Member, uint64, bool) {
	if depth > 32 {
		return btf.Member{}, 0, false
	}
	for _, m := range t.Members {
		if m.Name == name {
			return m, 0, true
		}
		if m.Name == "" {
			inner, err := spec.Skip(m.Type)
			if err != nil || (inner.Kind != btf.KindStruct && inner.Kind != btf.KindUnion) {
				continue
			}
			if found, off, ok := findMemberDepth(spec, inner, name, depth+1); ok {
				return found, off + uint64(m.BitOffset), true
			}
		}
	}
	return btf.Member{}, 0, false
}

func fieldValue(spec *btf.Spec, f field, kind btf.COREKind) (uint64, error) {
	switch kind {
	case btf.FieldExists:
		return 1, nil
	case btf.FieldByteOffset:
		if f.bitSize != 0 || f.bitOffset%8 != 0 {
			return 0, fmt.Errorf("a bitfield has no byte offset")
		}
		return f.bitOffset / 8, nil
	case btf.FieldByteSize:
		size, err := spec.Size(f.typ)
		return uint64(size), err
	}
	return 0, fmt.Errorf("field relocation %v is not supported", kind)
}
