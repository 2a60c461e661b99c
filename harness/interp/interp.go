// Package interp is a reference interpreter for the subset of eBPF that the
// behaviour suite uses: ALU and ALU64, jumps, stack, context and map-value
// memory, 64-bit immediates and bpf_map_lookup_elem on array maps. It
// follows the kernel's runtime rules (division by zero gives 0, modulo by
// zero keeps the dividend, shift counts are masked), so that a
// disagreement with the kernel points at one of the two.
package interp

import (
	"encoding/binary"
	"fmt"

	"oreore/harness/asm"
)

// ArrayMap is a Go model of a BPF_MAP_TYPE_ARRAY.
type ArrayMap struct {
	ValueSize int
	Values    [][]byte
}

// helperMapLookupElem is BPF_FUNC_map_lookup_elem.
const helperMapLookupElem = 1

const stackSize = 512

// value is a register: a scalar, or a pointer into a memory region.
type value struct {
	v   uint64
	mem []byte // nil for scalars
	off int64
}

// Run interprets insns on a u32 context (oreore's) and returns r0
// truncated to u32, as the kernel's BPF_PROG_RUN does. maps resolves the
// map fds of LoadMapFD instructions.
func Run(insns asm.Instructions, ctx uint32, maps map[int]*ArrayMap) (uint32, error) {
	var ctxMem [4]byte
	binary.NativeEndian.PutUint32(ctxMem[:], ctx)
	return RunCtx(insns, ctxMem[:], maps)
}

// RunCtx interprets insns on a context of any type, given as the bytes a
// program reads at each offset (what test_run's ctx_in holds). Loads
// anywhere in it are allowed: the verifier, not the interpreter, keeps
// programs to the type's readable fields. Stores change ctx.
func RunCtx(insns asm.Instructions, ctx []byte, maps map[int]*ArrayMap) (uint32, error) {
	return runCtx(insns, ctx, maps, binary.NativeEndian, Interpreter)
}

// JIT is how a machine's JIT computes what the BPF runtime leaves to it.
// The kernel's interpreter masks a register shift's count with 63, or 31
// for a 32-bit shift; a JIT's result for a count at least the width is
// implementation-defined (kernel/bpf/core.c, above its SHT macro). x86-64
// (shr r32, cl) and arm64 (lsrv w) mask a 32-bit shift's count with 31 too;
// s390x (srl, sll, sra) takes its six low bits, so w1 >>= w2 with w2 = 63
// gives 0 there.
type JIT struct {
	Shift32Mask uint64
}

// JITs are the JITs of the machines the harness runs on, by GOARCH.
var JITs = map[string]JIT{"amd64": {31}, "arm64": {31}, "s390x": {63}}

// Interpreter is the kernel's interpreter, as a JIT would be.
var Interpreter = JIT{Shift32Mask: 31}

// RunCtxAs is RunCtx as jit computes it.
func RunCtxAs(jit JIT, insns asm.Instructions, ctx []byte, maps map[int]*ArrayMap) (uint32, error) {
	return runCtx(insns, ctx, maps, binary.NativeEndian, jit)
}

// runCtx is RunCtx for a machine whose memory is in order: the guest's is
// the machine's own, and a host test runs the other.
func runCtx(insns asm.Instructions, ctx []byte, maps map[int]*ArrayMap, order binary.ByteOrder, jit JIT) (uint32, error) {
	stack := make([]byte, stackSize)
	var r [11]value
	r[1] = value{mem: ctx}
	r[10] = value{mem: stack, off: stackSize}
	mapOf := map[uint64]*ArrayMap{}

	// Jump offsets count slots; index instructions by slot.
	slotToIdx := map[int]int{}
	slot := 0
	for i, ins := range insns {
		slotToIdx[slot] = i
		slot += ins.Slots()
	}
	pc := 0 // slot
	for steps := 0; steps < 1_000_000; steps++ {
		i, ok := slotToIdx[pc]
		if !ok {
			return 0, fmt.Errorf("jump to slot %d, which is not an instruction", pc)
		}
		ins := insns[i]
		// The encoding has room for R11-R15; the verifier refuses them, and
		// so does this interpreter (it has eleven registers).
		if !ins.Dst.Valid() || !ins.Src.Valid() {
			return 0, fmt.Errorf("instruction %d: R%d is invalid", i, max(ins.Dst, ins.Src))
		}
		next := pc + ins.Slots()
		class := ins.OpCode & 0x07
		switch class {
		case asm.ClassALU, asm.ClassALU64:
			src := uint64(int64(int32(ins.Constant)))
			if ins.OpCode&asm.SourceReg != 0 {
				src = r[ins.Src].v
			}
			if ins.OpCode&0xf0 == asm.OpCode(asm.Mov) && ins.OpCode&asm.SourceReg != 0 && class == asm.ClassALU64 {
				r[ins.Dst] = r[ins.Src] // pointers move whole
				break
			}
			if r[ins.Dst].mem != nil && ins.OpCode&0xf0 == asm.OpCode(asm.Add) && class == asm.ClassALU64 {
				r[ins.Dst].off += int64(src)
				break
			}
			op := asm.ALUOp(ins.OpCode & 0xf0)
			res, err := alu(op, class == asm.ClassALU64, r[ins.Dst].v, src, jit)
			if err != nil {
				return 0, fmt.Errorf("slot %d (%v): %w", pc, ins, err)
			}
			r[ins.Dst] = value{v: res}
		case asm.ClassJMP, asm.ClassJMP32:
			op := asm.JumpOp(ins.OpCode & 0xf0)
			switch {
			case op == asm.Exit && class == asm.ClassJMP:
				return uint32(r[0].v), nil
			case op == asm.Call && class == asm.ClassJMP:
				if ins.Constant != helperMapLookupElem {
					return 0, fmt.Errorf("slot %d: helper %d is not modelled", pc, ins.Constant)
				}
				m := mapOf[r[1].v]
				if m == nil {
					return 0, fmt.Errorf("slot %d: r1 is not a map", pc)
				}
				key, err := load(order, r[2], 0, 4)
				if err != nil {
					return 0, err
				}
				if key < uint64(len(m.Values)) {
					r[0] = value{mem: m.Values[key]}
				} else {
					r[0] = value{}
				}
				for j := 1; j <= 5; j++ {
					r[j] = value{}
				}
			case op == asm.Ja && class == asm.ClassJMP:
				next += int(ins.Offset)
			default:
				src := uint64(int64(int32(ins.Constant)))
				if ins.OpCode&asm.SourceReg != 0 {
					src = r[ins.Src].v
				}
				dst := r[ins.Dst].v
				if r[ins.Dst].mem != nil {
					dst = 1 // a valid pointer compares as non-null
				}
				taken, err := cond(op, class == asm.ClassJMP32, dst, src)
				if err != nil {
					return 0, fmt.Errorf("slot %d (%v): %w", pc, ins, err)
				}
				if taken {
					next += int(ins.Offset)
				}
			}
		case asm.ClassLDX:
			v, err := load(order, r[ins.Src], int64(ins.Offset), asm.Size(ins.OpCode&0x18).Bytes())
			if err != nil {
				return 0, fmt.Errorf("slot %d (%v): %w", pc, ins, err)
			}
			r[ins.Dst] = value{v: v}
		case asm.ClassSTX, asm.ClassST:
			v := uint64(ins.Constant)
			if class == asm.ClassSTX {
				v = r[ins.Src].v
			}
			if err := store(order, r[ins.Dst], int64(ins.Offset), asm.Size(ins.OpCode&0x18).Bytes(), v); err != nil {
				return 0, fmt.Errorf("slot %d (%v): %w", pc, ins, err)
			}
		case asm.ClassLD:
			if !ins.IsLoadImm64() {
				return 0, fmt.Errorf("slot %d (%v): not modelled", pc, ins)
			}
			r[ins.Dst] = value{v: uint64(ins.Constant)}
			if ins.Src == asm.PseudoMapFD {
				m := maps[int(ins.Constant)]
				if m == nil {
					return 0, fmt.Errorf("slot %d: unknown map fd %d", pc, ins.Constant)
				}
				mapOf[uint64(ins.Constant)] = m
			}
		default:
			return 0, fmt.Errorf("slot %d (%v): not modelled", pc, ins)
		}
		pc = next
	}
	return 0, fmt.Errorf("no exit after a million steps")
}

func alu(op asm.ALUOp, is64 bool, dst, src uint64, jit JIT) (uint64, error) {
	if !is64 {
		dst, src = uint64(uint32(dst)), uint64(uint32(src))
	}
	bits := jit.Shift32Mask // a count past 31 shifts every bit out, or in
	if is64 {
		bits = 63
	}
	var res uint64
	switch op {
	case asm.Add:
		res = dst + src
	case asm.Sub:
		res = dst - src
	case asm.Mul:
		res = dst * src
	case asm.Div:
		if src != 0 {
			res = dst / src
		}
	case asm.Mod:
		res = dst
		if src != 0 {
			res = dst % src
		}
	case asm.Or:
		res = dst | src
	case asm.And:
		res = dst & src
	case asm.Xor:
		res = dst ^ src
	case asm.LSh:
		res = dst << (src & bits)
	case asm.RSh:
		res = dst >> (src & bits)
	case asm.ArSh:
		if is64 {
			res = uint64(int64(dst) >> (src & bits))
		} else {
			res = uint64(uint32(int32(uint32(dst)) >> (src & bits)))
		}
	case asm.Neg:
		res = -dst
	case asm.Mov:
		res = src
	default:
		return 0, fmt.Errorf("ALU op %#x not modelled", uint8(op))
	}
	if !is64 {
		res = uint64(uint32(res))
	}
	return res, nil
}

func cond(op asm.JumpOp, is32 bool, dst, src uint64) (bool, error) {
	sd, ss := int64(dst), int64(src)
	if is32 {
		dst, src = uint64(uint32(dst)), uint64(uint32(src))
		sd, ss = int64(int32(dst)), int64(int32(src))
	}
	switch op {
	case asm.JEq:
		return dst == src, nil
	case asm.JNE:
		return dst != src, nil
	case asm.JGT:
		return dst > src, nil
	case asm.JGE:
		return dst >= src, nil
	case asm.JLT:
		return dst < src, nil
	case asm.JLE:
		return dst <= src, nil
	case asm.JSet:
		return dst&src != 0, nil
	case asm.JSGT:
		return sd > ss, nil
	case asm.JSGE:
		return sd >= ss, nil
	case asm.JSLT:
		return sd < ss, nil
	case asm.JSLE:
		return sd <= ss, nil
	}
	return false, fmt.Errorf("jump op %#x not modelled", uint8(op))
}

func region(p value, off int64, size int) ([]byte, error) {
	if p.mem == nil {
		return nil, fmt.Errorf("memory access through a scalar")
	}
	at := p.off + off
	if at < 0 || at+int64(size) > int64(len(p.mem)) {
		return nil, fmt.Errorf("access at %d size %d outside a %d-byte region", at, size, len(p.mem))
	}
	return p.mem[at : at+int64(size)], nil
}

func load(order binary.ByteOrder, p value, off int64, size int) (uint64, error) {
	b, err := region(p, off, size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(order.Uint16(b)), nil
	case 4:
		return uint64(order.Uint32(b)), nil
	}
	return order.Uint64(b), nil
}

func store(order binary.ByteOrder, p value, off int64, size int, v uint64) error {
	b, err := region(p, off, size)
	if err != nil {
		return err
	}
	// A narrow access is the value's low bytes, wherever the machine's
	// order keeps them.
	switch size {
	case 1:
		b[0] = byte(v)
	case 2:
		order.PutUint16(b, uint16(v))
	case 4:
		order.PutUint32(b, uint32(v))
	default:
		order.PutUint64(b, v)
	}
	return nil
}
