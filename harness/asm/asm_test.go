package asm

import "testing"

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
