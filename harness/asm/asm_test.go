package asm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

func TestStringNotation(t *testing.T) {
	tests := []struct {
		ins  Instruction
		want string
	}{
		{LoadMem(R0, R1, 0, Word), "r0 = *(u32 *)(r1 + 0)"},
		{Add.Imm32(R0, 42), "w0 += 42"},
		{Add.Imm(R2, -4), "r2 += -4"},
		{Mov.Reg(R3, R1), "r3 = r1"},
		{StoreMem(RFP, -8, R1, DWord), "*(u64 *)(r10 - 8) = r1"},
		{JEq.Imm(R1, 56710, 1), "if r1 == 56710 goto +1"},
		{JSLT.Reg32(R1, R2, -3), "if w1 s< w2 goto -3"},
		{LoadImm64(R1, 4294901760), "r1 = 4294901760 ll"},
		{CallHelper(1), "call 1"},
		{Instruction{OpCode: ClassSTX | ModeAtomic | OpCode(DWord), Dst: R1, Src: R2}, "lock *(u64 *)(r1 + 0) += r2"},
		{Instruction{OpCode: ClassSTX | ModeAtomic | OpCode(Word), Dst: R1, Src: R2, Constant: 0x01}, "w2 = atomic_fetch_add((u32 *)(r1 + 0), w2)"},
		{AtomicAdd(R7, 0, R1, Word), "lock *(u32 *)(r7 + 0) += w1"},
		{AtomicFetchAdd(R7, 4, R1, Word), "w1 = atomic_fetch_add((u32 *)(r7 + 4), w1)"},
		{AtomicOr(R7, 4, R8, Word), "lock *(u32 *)(r7 + 4) |= w8"},
		{Instruction{OpCode: ClassALU | SourceReg | OpCode(endOp), Dst: R1, Constant: 16}, "r1 = be16 r1"},
		{Return(), "exit"},
	}
	for _, tt := range tests {
		if got := tt.ins.String(); got != tt.want {
			t.Errorf("%#v prints %q, want %q", tt.ins, got, tt.want)
		}
	}
}

func TestDecodeIsMarshalsInverse(t *testing.T) {
	prog := Instructions{LoadImm64(R1, -2), LoadMem(R0, R1, -3, Half), LoadMapFD(R2, 7), Return()}
	b, err := prog.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil || got.String() != prog.String() || len(got) != len(prog) {
		t.Errorf("Decode(Marshal(p)) =\n%v%v\nwant\n%v", got, err, prog)
	}
	if _, err := Decode(b[:len(b)-8]); err != nil {
		t.Errorf("dropping exit: %v", err)
	}
	if _, err := Decode(b[:12]); err == nil {
		t.Error("a truncated slot: no error")
	}
}

// R11 to R15 encode as the kernel's filter.h macros encode them (golden
// bytes from gcc on tools/include/linux/filter.h of Linux 6.12), print as
// llvm-objdump names them, and survive Decode; the verifier, not the
// encoder, refuses them.
func TestInvalidRegistersEncode(t *testing.T) {
	tests := []struct {
		macro string
		ins   Instruction
		want  []byte
		text  string
	}{
		{"BPF_MOV64_IMM(11, 1)", Mov.Imm(R11, 1), []byte{0xb7, 0x0b, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}, "r11 = 1"},
		{"BPF_MOV64_REG(0, 15)", Mov.Reg(R0, R15), []byte{0xbf, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "r0 = r15"},
		{"BPF_LDX_MEM(BPF_W, 0, 12, 0)", LoadMem(R0, R12, 0, Word), []byte{0x61, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "r0 = *(u32 *)(r12 + 0)"},
		{"BPF_JMP_IMM(BPF_JEQ, 13, 0, 1)", JEq.Imm(R13, 0, 1), []byte{0x15, 0x0d, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}, "if r13 == 0 goto +1"},
		{"BPF_STX_MEM(BPF_DW, 10, 14, -8)", StoreMem(RFP, -8, R14, DWord), []byte{0x7b, 0xea, 0xf8, 0xff, 0x00, 0x00, 0x00, 0x00}, "*(u64 *)(r10 - 8) = r14"},
		{"BPF_ST_MEM(BPF_W, 15, 0, 7)", StoreImm(R15, 0, 7, Word), []byte{0x62, 0x0f, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00}, "*(u32 *)(r15 + 0) = 7"},
		{"BPF_ALU32_REG(BPF_ADD, 14, 11)", Add.Reg32(R14, R11), []byte{0x0c, 0xbe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "w14 += w11"},
		{"BPF_RAW_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 1, 70000)", CallKfunc(70000, 1),
			[]byte{0x85, 0x20, 0x01, 0x00, 0x70, 0x11, 0x01, 0x00}, "call kfunc 70000 (btf fd_array[1])"},
	}
	for _, tt := range tests {
		got, err := Instructions{tt.ins}.Marshal()
		if err != nil {
			t.Errorf("%s: %v", tt.macro, err)
			continue
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: % x, filter.h gives % x", tt.macro, got, tt.want)
		}
		if s := tt.ins.String(); s != tt.text {
			t.Errorf("%s prints %q, want %q", tt.macro, s, tt.text)
		}
		back, err := Decode(got)
		if err != nil || len(back) != 1 || back[0] != tt.ins {
			t.Errorf("%s: Decode gives %v, %v; want %#v", tt.macro, back, err, tt.ins)
		}
	}
}

func TestRegisterPastTheFieldIsAnError(t *testing.T) {
	for _, ins := range []Instruction{Mov.Imm(16, 1), Mov.Reg(R0, 16), LoadMem(255, R1, 0, Word)} {
		if _, err := (Instructions{ins}).Marshal(); err == nil || !strings.Contains(err.Error(), "4-bit field") {
			t.Errorf("%#v: err = %v, want a register that does not fit", ins, err)
		}
	}
}

func TestValidRegisters(t *testing.T) {
	for r := R0; r <= R15; r++ {
		if got, want := r.Valid(), r <= R10; got != want {
			t.Errorf("R%d.Valid() = %v, want %v", r, got, want)
		}
	}
}

// A machine's order decides the offset's and immediate's bytes and which
// nibble holds dst_reg (the first bit-field: low on little-endian, high on
// big-endian), as clang's bpfel and bpfeb emit them.
func TestMarshalInEitherOrder(t *testing.T) {
	prog := Instructions{Mov.Imm(R1, 42), LoadMem(R0, R1, -3, Half)}
	for _, tt := range []struct {
		order binary.ByteOrder
		want  string
	}{
		{binary.LittleEndian, "b7 01 00 00 2a 00 00 00 69 10 fd ff 00 00 00 00"},
		{binary.BigEndian, "b7 10 00 00 00 00 00 2a 69 01 ff fd 00 00 00 00"},
	} {
		b, err := prog.MarshalOrder(tt.order)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("% x", b); got != tt.want {
			t.Errorf("%v: % x, want %s", tt.order, b, tt.want)
		}
		back, err := DecodeOrder(b, tt.order)
		if err != nil || back.String() != prog.String() {
			t.Errorf("%v: decodes to %v, %v", tt.order, back, err)
		}
	}
}
