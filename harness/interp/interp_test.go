package interp

import (
	"encoding/binary"
	"strings"
	"testing"

	. "oreore/harness/asm"
)

func TestRuntimeRules(t *testing.T) {
	tests := []struct {
		name  string
		insns Instructions
		ctx   uint32
		want  uint32
	}{
		{"add42 wraps", Instructions{LoadMem(R0, R1, 0, Word), Add.Imm32(R0, 42), Return()}, 0xffffffff, 41},
		{"div by zero is zero", Instructions{Mov.Imm(R0, 9), Mov.Imm(R1, 0), Div.Reg(R0, R1), Return()}, 0, 0},
		{"mod by zero keeps the dividend", Instructions{Mov.Imm(R0, 9), Mov.Imm(R1, 0), Mod.Reg(R0, R1), Return()}, 0, 9},
		{"32-bit ops zero-extend", Instructions{Mov.Imm(R0, -1), Add.Imm32(R0, 0), RSh.Imm(R0, 32), Return()}, 0, 0},
		{"64-bit result truncated", Instructions{LoadImm64(R0, 0x1234567800000009), Return()}, 0, 9},
		{"arsh32 keeps the sign in 32 bits", Instructions{Mov.Imm32(R0, -16), ArSh.Imm32(R0, 2), Return()}, 0, 0xfffffffc},
		{"shift count is masked", Instructions{Mov.Imm(R0, 1), Mov.Imm(R2, 33), LSh.Reg32(R0, R2), Return()}, 0, 2},
		{"signed jump32", Instructions{LoadMem(R2, R1, 0, Word), Mov.Imm(R0, 0), JSLT.Imm32(R2, 0, 1), Return(), Mov.Imm(R0, 1), Return()}, 0x80000000, 1},
		{"stack round trip", Instructions{StoreImm(RFP, -8, 0x01020304, Word), LoadMem(R0, RFP, -7, Byte), Return()}, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Run(tt.insns, tt.ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %#x, want %#x\n%v", got, tt.want, tt.insns)
			}
		})
	}
}

func TestMapLookup(t *testing.T) {
	m := &ArrayMap{ValueSize: 4, Values: [][]byte{make([]byte, 4), make([]byte, 4)}}
	binary.NativeEndian.PutUint32(m.Values[1], 100)
	prog := Instructions{
		StoreImm(RFP, -4, 1, Word),
		LoadMapFD(R1, 7),
		Mov.Reg(R2, RFP),
		Add.Imm(R2, -4),
		CallHelper(1),
		JNE.Imm(R0, 0, 1),
		Return(),
		LoadMem(R0, R0, 0, Word),
		Return(),
	}
	got, err := Run(prog, 0, map[int]*ArrayMap{7: m})
	if err != nil || got != 100 {
		t.Errorf("lookup of index 1: %d, %v; want 100", got, err)
	}
}

func TestOutOfBoundsIsAnError(t *testing.T) {
	if _, err := Run(Instructions{LoadMem(R0, R1, 4, Word), Return()}, 0, nil); err == nil {
		t.Error("ctx read at offset 4: no error")
	}
}

// R11-R15 encode, and the verifier refuses them: so does the interpreter,
// where an index past its eleven registers would panic.
func TestRegistersPastR10AreAnError(t *testing.T) {
	for _, insns := range []Instructions{
		{Mov.Imm(R11, 1), Return()},
		{Mov.Reg(R0, R15), Return()},
	} {
		if _, err := Run(insns, 0, nil); err == nil || !strings.Contains(err.Error(), "is invalid") {
			t.Errorf("%v: error %v, want R<n> is invalid", insns, err)
		}
	}
}

// Memory is in the machine's order: a narrow load or store touches the
// bytes that order gives the value's low end, so a guest on s390x and one
// on x86_64 each agree with their own kernel. Both orders run here.
func TestNarrowAccessInEitherOrder(t *testing.T) {
	store32load := func(off int16, size Size) Instructions {
		return Instructions{StoreImm(RFP, -8, 0x01020304, Word), LoadMem(R0, RFP, -8+off, size), Return()}
	}
	tests := []struct {
		name   string
		insns  Instructions
		le, be uint32
	}{
		{"first byte of a word", store32load(0, Byte), 0x04, 0x01},
		{"second half of a word", store32load(2, Half), 0x0102, 0x0304},
		{"half stored, word read", Instructions{StoreImm(RFP, -8, 0, Word), StoreImm(RFP, -8, 0x0506, Half), LoadMem(R0, RFP, -8, Word), Return()}, 0x0506, 0x05060000},
		{"context's first byte", Instructions{LoadMem(R0, R1, 0, Byte), Return()}, 0xa8, 0xa1},
	}
	for _, tt := range tests {
		for _, o := range []struct {
			order binary.ByteOrder
			want  uint32
		}{{binary.LittleEndian, tt.le}, {binary.BigEndian, tt.be}} {
			ctx := make([]byte, 4)
			o.order.PutUint32(ctx, 0xa1a2a3a8)
			got, err := runCtx(tt.insns, ctx, nil, o.order, Interpreter)
			if err != nil {
				t.Fatalf("%s, %v: %v", tt.name, o.order, err)
			}
			if got != o.want {
				t.Errorf("%s, %v: got %#x, want %#x", tt.name, o.order, got, o.want)
			}
		}
	}
}

// A shift by a register at least the operand's width: the interpreter
// masks the count, as the kernel's does, and a JIT as its machine does.
func TestWideShifts(t *testing.T) {
	for _, tt := range []struct {
		name        string
		count       int32
		shift       Instruction
		interp, jit uint32 // the interpreter's r0, s390x's JIT's
	}{
		{"32-bit by 31", 31, RSh.Reg32(R0, R2), 1, 1},
		{"32-bit by 63", 63, RSh.Reg32(R0, R2), 1, 0},
		{"32-bit by 32", 32, RSh.Reg32(R0, R2), 0xffffffff, 0},
		{"32-bit left by 33", 33, LSh.Reg32(R0, R2), 0xfffffffe, 0},
		{"32-bit arithmetic by 40", 40, ArSh.Reg32(R0, R2), 0xffffffff, 0xffffffff},
		{"32-bit by 2^32-1", -1, LSh.Reg32(R0, R2), 0x80000000, 0},
		{"64-bit by 64", 64, RSh.Reg(R0, R2), 0xffffffff, 0xffffffff},
		{"by an immediate", 0, RSh.Imm32(R0, 31), 1, 1},
	} {
		insns := Instructions{LoadImm64(R0, -1), Mov.Imm(R2, tt.count), tt.shift, Return()}
		for _, m := range []struct {
			jit  JIT
			want uint32
		}{{Interpreter, tt.interp}, {JITs["amd64"], tt.interp}, {JITs["arm64"], tt.interp}, {JITs["s390x"], tt.jit}} {
			got, err := RunCtxAs(m.jit, insns, make([]byte, 4), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != m.want {
				t.Errorf("%s, %+v: r0 %#x, want %#x", tt.name, m.jit, got, m.want)
			}
		}
	}
}
