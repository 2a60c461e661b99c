// Package asm builds and encodes eBPF instructions by hand.
//
// Builders read like the assembly they emit, in the notation of llvm-objdump
// and the kernel's verifier log:
//
//	asm.LoadMem(asm.R0, asm.R1, 0, asm.Word) // r0 = *(u32 *)(r1 + 0)
//	asm.Add.Imm32(asm.R0, 42)                // w0 += 42
//	asm.Return()                             // exit
//
// Construction is separate from encoding: a program is an Instructions slice
// that can be printed and compared, and Marshal turns it into kernel bytes.
package asm

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Register is one of the eBPF registers r0 to r10, or a number up to 15
// that the instruction's 4-bit register fields can hold but no register
// has (R11 to R15), for tests that the verifier refuses it.
type Register uint8

const (
	R0 Register = iota // return value
	R1                 // first argument: the context on entry
	R2
	R3
	R4
	R5
	R6 // callee-saved
	R7
	R8
	R9
	R10 // read-only frame pointer
)

// Numbers the register fields can encode that are no registers: the
// verifier refuses each ("R11 is invalid", check_reg_arg in
// kernel/bpf/verifier.c). They exist for negative tests.
const (
	R11 Register = iota + 11
	R12
	R13
	R14
	R15
	maxEncodable = R15
)

// RFP is the frame pointer.
const RFP = R10

// Valid reports whether r is a register the kernel has (r0 to r10).
func (r Register) Valid() bool { return r <= R10 }

// OpCode is the first byte of an instruction.
//
//	ALU and JMP classes:        memory classes:
//	+----------+---+-------+    +------+------+-------+
//	| op (4)   |src| class |    | mode | size | class |
//	+----------+---+-------+    +------+------+-------+
//	 7        4  3  2     0      7    5 4    3 2     0
type OpCode uint8

// Instruction classes: the low three bits of an OpCode.
const (
	ClassLD    OpCode = 0x00
	ClassLDX   OpCode = 0x01
	ClassST    OpCode = 0x02
	ClassSTX   OpCode = 0x03
	ClassALU   OpCode = 0x04
	ClassJMP   OpCode = 0x05
	ClassJMP32 OpCode = 0x06
	ClassALU64 OpCode = 0x07
	classMask  OpCode = 0x07
)

// Operand source of ALU and JMP instructions.
const (
	SourceImm OpCode = 0x00 // BPF_K
	SourceReg OpCode = 0x08 // BPF_X
)

// Memory access modes.
const (
	ModeImm    OpCode = 0x00
	ModeMem    OpCode = 0x60
	ModeAtomic OpCode = 0xc0
)

// Size of a memory access.
type Size OpCode

const (
	Word   Size = 0x00 // u32
	Half   Size = 0x08 // u16
	Byte   Size = 0x10 // u8
	DWord  Size = 0x18 // u64
	sizeOf      = 0x18
)

// Bytes is the width of the access in bytes.
func (s Size) Bytes() int {
	switch s {
	case Word:
		return 4
	case Half:
		return 2
	case Byte:
		return 1
	default:
		return 8
	}
}

func (s Size) cType() string {
	return fmt.Sprintf("u%d", s.Bytes()*8)
}

// PseudoMapFD in the source register of a 64-bit immediate load tells the
// kernel that the immediate is a map fd (BPF_PSEUDO_MAP_FD).
const PseudoMapFD Register = 1

// Instruction is one eBPF instruction. A 64-bit immediate load is one
// Instruction here and two 8-byte slots once encoded.
//
//	msb                                                         lsb
//	+------------------------+----------------+-----+-----+--------+
//	| immediate              | offset         | src | dst | opcode |
//	+------------------------+----------------+-----+-----+--------+
//	 63                    32 31            16 15 12 11  8 7      0
type Instruction struct {
	OpCode   OpCode
	Dst      Register
	Src      Register
	Offset   int16
	Constant int64
}

// IsLoadImm64 reports whether the instruction takes two slots.
func (ins Instruction) IsLoadImm64() bool {
	return ins.OpCode == ClassLD|ModeImm|OpCode(DWord)
}

// Slots is the number of 8-byte slots the encoded instruction takes.
func (ins Instruction) Slots() int {
	if ins.IsLoadImm64() {
		return 2
	}
	return 1
}

// Instructions is a program.
type Instructions []Instruction

// Marshal encodes the program in the kernel's little-endian layout. It
// encodes whatever the 4-bit register fields hold, R11 to R15 included, so
// that a test can send them; a number past 15 would spill into the other
// field, and is an error.
func (insns Instructions) Marshal() ([]byte, error) { return insns.MarshalOrder(binary.NativeEndian) }

// MarshalOrder is Marshal for a machine of the given byte order (an
// object for clang's bpfel or bpfeb): the offset and immediate in that
// order, and the register nibbles where that machine's compiler puts
// struct bpf_insn's dst_reg:4 and src_reg:4 bit-fields.
func (insns Instructions) MarshalOrder(order binary.ByteOrder) ([]byte, error) {
	out := make([]byte, 0, 8*len(insns))
	for i, ins := range insns {
		if ins.Dst > maxEncodable || ins.Src > maxEncodable {
			return nil, fmt.Errorf("instruction %d (%v): register does not fit the 4-bit field", i, ins)
		}
		if !ins.IsLoadImm64() && (ins.Constant < -1<<31 || ins.Constant > 1<<32-1) {
			return nil, fmt.Errorf("instruction %d (%v): immediate %d does not fit 32 bits", i, ins, ins.Constant)
		}
		out = appendSlot(out, order, ins.OpCode, ins.Dst, ins.Src, ins.Offset, uint32(ins.Constant))
		if ins.IsLoadImm64() {
			out = appendSlot(out, order, 0, 0, 0, 0, uint32(uint64(ins.Constant)>>32))
		}
	}
	return out, nil
}

func appendSlot(b []byte, order binary.ByteOrder, op OpCode, dst, src Register, off int16, imm uint32) []byte {
	var slot [8]byte
	slot[0], slot[1] = byte(op), regs(order, dst, src)
	order.PutUint16(slot[2:], uint16(off))
	order.PutUint32(slot[4:], imm)
	return append(b, slot[:]...)
}

// bigEndian says whether order is big-endian.
func bigEndian(order binary.ByteOrder) bool { return order.Uint16([]byte{0, 1}) == 1 }

// regs is the registers' byte: a little-endian compiler puts the first
// bit-field (dst_reg) in the low nibble, a big-endian one in the high.
func regs(order binary.ByteOrder, dst, src Register) byte {
	if bigEndian(order) {
		return byte(dst)<<4 | byte(src)
	}
	return byte(src)<<4 | byte(dst)
}

// unregs is regs' inverse.
func unregs(order binary.ByteOrder, b byte) (dst, src Register) {
	if bigEndian(order) {
		return Register(b >> 4), Register(b & 0xf)
	}
	return Register(b & 0xf), Register(b >> 4)
}

// String prints one instruction per line, with slot numbers as the kernel's
// verifier log counts them.
func (insns Instructions) String() string {
	var sb strings.Builder
	slot := 0
	for _, ins := range insns {
		fmt.Fprintf(&sb, "%4d: %v\n", slot, ins)
		slot += ins.Slots()
	}
	return sb.String()
}

// Slots is the number of 8-byte slots of the encoded program, the
// instruction count that the kernel sees.
func (insns Instructions) Slots() int {
	n := 0
	for _, ins := range insns {
		n += ins.Slots()
	}
	return n
}
