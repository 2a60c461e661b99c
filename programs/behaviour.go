package programs

import . "oreore/harness/asm"

// Program is a hand-assembled oreore program. Map-using programs take the
// fd of LookupMap, an array of LookupMapEntries u32 values.
type Program struct {
	Name  string
	Build func(mapFD int) Instructions
}

// LookupMapEntries is the size of the array map that MapLookup reads.
const LookupMapEntries = 256

// Behaviour is the behaviour suite's programs: each exercises one corner
// of the instruction set on the input, and ends with r0 as the result.
var Behaviour = []Program{
	{"add42", func(int) Instructions { return Add42() }},
	{"alu64 mix truncated to u32", func(int) Instructions {
		return Instructions{
			LoadMem(R0, R1, 0, Word),
			Mul.Imm(R0, -1640531527), // 0x9e3779b9 sign-extended: the high half matters
			Mov.Reg(R2, R0),
			RSh.Imm(R2, 29),
			Xor.Reg(R0, R2),
			Sub.Imm(R0, 12345),
			LSh.Imm(R0, 7),
			Or.Imm(R0, 5),
			Return(),
		}
	}},
	{"alu32 mix", func(int) Instructions {
		return Instructions{
			LoadMem(R0, R1, 0, Word),
			Mul.Imm32(R0, 0x01000193),
			Xor.Imm32(R0, -0x7ee3623b),
			Add.Reg32(R0, R0),
			Sub.Imm32(R0, 1),
			And.Imm32(R0, 0x7ffffff7),
			Neg.Imm32(R0, 0),
			Return(),
		}
	}},
	{"div and mod by a register that may be zero", func(int) Instructions {
		return Instructions{
			LoadMem(R6, R1, 0, Word),
			Mov.Reg(R2, R6),
			And.Imm(R2, 3), // zero for a quarter of the inputs
			Mov.Reg32(R0, R6),
			Div.Reg32(R0, R2), // w0 /= 0 gives 0
			Mov.Reg(R3, R6),
			LSh.Imm(R3, 20),
			Mod.Reg(R3, R2), // r3 %= 0 keeps r3
			Add.Reg(R0, R3),
			Mov.Reg32(R4, R6),
			Mod.Reg32(R4, R2),
			Xor.Reg(R0, R4),
			Mov.Reg(R5, R6),
			Div.Reg(R5, R2),
			Add.Reg(R0, R5),
			Return(),
		}
	}},
	{"shifts by the input", func(int) Instructions {
		return Instructions{
			LoadMem(R6, R1, 0, Word),
			Mov.Reg(R2, R6),
			And.Imm(R2, 31),
			Mov.Reg32(R0, R6),
			LSh.Reg32(R0, R2),
			Mov.Reg32(R3, R6),
			ArSh.Reg32(R3, R2), // arithmetic on the low 32 bits
			Xor.Reg32(R0, R3),
			Mov.Reg(R4, R6),
			LSh.Imm(R4, 32),
			ArSh.Imm(R4, 40), // sign of bit 31 spreads
			Add.Reg(R0, R4),
			Mov.Reg(R5, R6),
			And.Imm(R5, 63),
			Mov.Reg(R7, R6),
			RSh.Reg(R7, R5),
			Sub.Reg(R0, R7),
			Return(),
		}
	}},
	{"signed and unsigned branches", func(int) Instructions {
		return Instructions{
			LoadMem(R6, R1, 0, Word),
			Mov.Imm(R0, 1),
			JSLT.Imm32(R6, 0, 2), // negative as an int32
			Mov.Imm(R0, 2),
			Goto(1),
			Mov.Imm(R0, 3),
			JGT.Imm(R6, 1000, 1),
			Add.Imm(R0, 10),
			JSet.Imm(R6, 0x100, 1),
			Add.Imm(R0, 100),
			Mov.Reg(R2, R6),
			Mul.Imm(R2, 3),
			JLE.Reg32(R2, R6, 1), // did w2 wrap?
			Add.Imm(R0, 1000),
			LSh.Imm(R6, 32),
			JSGE.Imm(R6, 0, 1), // bit 31 is now the sign
			Add.Imm(R0, 10000),
			Return(),
		}
	}},
	{"stack stores and partial loads", func(int) Instructions {
		return Instructions{
			LoadMem(R6, R1, 0, Word),
			StoreMem(RFP, -8, R6, Word),
			StoreImm(RFP, -4, -2, Word),
			LoadMem(R2, RFP, -8, DWord),
			LoadMem(R3, RFP, -7, Byte),
			LoadMem(R4, RFP, -6, Half),
			StoreMem(RFP, -16, R2, DWord),
			StoreMem(RFP, -13, R3, Byte),
			LoadMem(R0, RFP, -16, Word),
			Add.Reg(R0, R4),
			RSh.Imm(R2, 16),
			Xor.Reg(R0, R2),
			Return(),
		}
	}},
	{"array map lookup keyed by the input", MapLookup},
}

// MapLookup returns value[input & 0xff] + input, from an array map.
func MapLookup(mapFD int) Instructions {
	return Instructions{
		LoadMem(R6, R1, 0, Word),
		Mov.Reg(R2, R6),
		And.Imm(R2, LookupMapEntries-1),
		StoreMem(RFP, -4, R2, Word),
		LoadMapFD(R1, mapFD),
		Mov.Reg(R2, RFP),
		Add.Imm(R2, -4),
		CallHelper(1), // bpf_map_lookup_elem
		JNE.Imm(R0, 0, 2),
		Mov.Imm32(R0, -1),
		Return(),
		LoadMem(R0, R0, 0, Word),
		Add.Reg32(R0, R6),
		Return(),
	}
}

// LookupMapValue is what the suite stores at index i of the lookup map.
func LookupMapValue(i uint32) uint32 {
	return i*2654435761 + 7
}
