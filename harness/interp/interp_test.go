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
