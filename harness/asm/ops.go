package asm

import "fmt"

// ALUOp is an arithmetic operation. Imm and Reg build the 64-bit form (rN),
// Imm32 and Reg32 the 32-bit form (wN), whose result is zero-extended.
type ALUOp OpCode

const (
	Add  ALUOp = 0x00
	Sub  ALUOp = 0x10
	Mul  ALUOp = 0x20
	Div  ALUOp = 0x30
	Or   ALUOp = 0x40
	And  ALUOp = 0x50
	LSh  ALUOp = 0x60
	RSh  ALUOp = 0x70
	Neg  ALUOp = 0x80
	Mod  ALUOp = 0x90
	Xor  ALUOp = 0xa0
	Mov  ALUOp = 0xb0
	ArSh ALUOp = 0xc0
)

// Imm is dst op= imm on 64 bits.
func (op ALUOp) Imm(dst Register, imm int32) Instruction {
	return Instruction{OpCode: ClassALU64 | SourceImm | OpCode(op), Dst: dst, Constant: int64(imm)}
}

// Reg is dst op= src on 64 bits.
func (op ALUOp) Reg(dst, src Register) Instruction {
	return Instruction{OpCode: ClassALU64 | SourceReg | OpCode(op), Dst: dst, Src: src}
}

// Imm32 is dst op= imm on the low 32 bits.
func (op ALUOp) Imm32(dst Register, imm int32) Instruction {
	return Instruction{OpCode: ClassALU | SourceImm | OpCode(op), Dst: dst, Constant: int64(imm)}
}

// Reg32 is dst op= src on the low 32 bits.
func (op ALUOp) Reg32(dst, src Register) Instruction {
	return Instruction{OpCode: ClassALU | SourceReg | OpCode(op), Dst: dst, Src: src}
}

var aluSymbols = map[ALUOp]string{
	Add: "+=", Sub: "-=", Mul: "*=", Div: "/=", Or: "|=", And: "&=", LSh: "<<=",
	RSh: ">>=", Mod: "%=", Xor: "^=", Mov: "=", ArSh: "s>>=",
}

// JumpOp is a branch, call or exit. Imm and Reg compare 64-bit registers,
// Imm32 and Reg32 their low 32 bits; the offset counts slots from the next
// instruction.
type JumpOp OpCode

const (
	Ja   JumpOp = 0x00
	JEq  JumpOp = 0x10
	JGT  JumpOp = 0x20
	JGE  JumpOp = 0x30
	JSet JumpOp = 0x40
	JNE  JumpOp = 0x50
	JSGT JumpOp = 0x60
	JSGE JumpOp = 0x70
	Call JumpOp = 0x80
	Exit JumpOp = 0x90
	JLT  JumpOp = 0xa0
	JLE  JumpOp = 0xb0
	JSLT JumpOp = 0xc0
	JSLE JumpOp = 0xd0
)

// Imm is: if dst op imm goto +off.
func (op JumpOp) Imm(dst Register, imm int32, off int16) Instruction {
	return Instruction{OpCode: ClassJMP | SourceImm | OpCode(op), Dst: dst, Offset: off, Constant: int64(imm)}
}

// Reg is: if dst op src goto +off.
func (op JumpOp) Reg(dst, src Register, off int16) Instruction {
	return Instruction{OpCode: ClassJMP | SourceReg | OpCode(op), Dst: dst, Src: src, Offset: off}
}

// Imm32 is: if wdst op imm goto +off.
func (op JumpOp) Imm32(dst Register, imm int32, off int16) Instruction {
	return Instruction{OpCode: ClassJMP32 | SourceImm | OpCode(op), Dst: dst, Offset: off, Constant: int64(imm)}
}

// Reg32 is: if wdst op wsrc goto +off.
func (op JumpOp) Reg32(dst, src Register, off int16) Instruction {
	return Instruction{OpCode: ClassJMP32 | SourceReg | OpCode(op), Dst: dst, Src: src, Offset: off}
}

var jumpSymbols = map[JumpOp]string{
	JEq: "==", JGT: ">", JGE: ">=", JSet: "&", JNE: "!=", JSGT: "s>", JSGE: "s>=",
	JLT: "<", JLE: "<=", JSLT: "s<", JSLE: "s<=",
}

// Goto is an unconditional jump by off slots.
func Goto(off int16) Instruction {
	return Instruction{OpCode: ClassJMP | OpCode(Ja), Offset: off}
}

// CallHelper calls the kernel helper with the given BPF_FUNC_* number.
func CallHelper(id int32) Instruction {
	return Instruction{OpCode: ClassJMP | OpCode(Call), Constant: int64(id)}
}

// PseudoKfuncCall is BPF_PSEUDO_KFUNC_CALL: a call's src_reg that makes
// its imm a kernel function's BTF ID.
const PseudoKfuncCall Register = 2

// CallKfunc calls the kernel function whose BTF ID is id, in the BTF
// object that the program's fd_array holds at index fdIndex (0: vmlinux's;
// a module's kfuncs need theirs at an index of 1 or more).
func CallKfunc(id int32, fdIndex int16) Instruction {
	return Instruction{OpCode: ClassJMP | OpCode(Call), Src: PseudoKfuncCall, Offset: fdIndex, Constant: int64(id)}
}

// Return ends the program with r0 as its result.
func Return() Instruction {
	return Instruction{OpCode: ClassJMP | OpCode(Exit)}
}

// LoadMem is dst = *(size *)(src + off).
func LoadMem(dst, src Register, off int16, size Size) Instruction {
	return Instruction{OpCode: ClassLDX | ModeMem | OpCode(size), Dst: dst, Src: src, Offset: off}
}

// StoreMem is *(size *)(dst + off) = src.
func StoreMem(dst Register, off int16, src Register, size Size) Instruction {
	return Instruction{OpCode: ClassSTX | ModeMem | OpCode(size), Dst: dst, Src: src, Offset: off}
}

// StoreImm is *(size *)(dst + off) = imm.
func StoreImm(dst Register, off int16, imm int32, size Size) Instruction {
	return Instruction{OpCode: ClassST | ModeMem | OpCode(size), Dst: dst, Offset: off, Constant: int64(imm)}
}

// AtomicAdd is lock *(size *)(dst + off) += src (BPF_ATOMIC, size Word or
// DWord).
func AtomicAdd(dst Register, off int16, src Register, size Size) Instruction {
	return Instruction{OpCode: ClassSTX | ModeAtomic | OpCode(size), Dst: dst, Src: src, Offset: off}
}

// AtomicFetchAdd is src = atomic_fetch_add((size *)(dst + off), src): src
// gets the value from before the add.
func AtomicFetchAdd(dst Register, off int16, src Register, size Size) Instruction {
	ins := AtomicAdd(dst, off, src, size)
	ins.Constant = atomicFetch
	return ins
}

// AtomicOr is lock *(size *)(dst + off) |= src.
func AtomicOr(dst Register, off int16, src Register, size Size) Instruction {
	ins := AtomicAdd(dst, off, src, size)
	ins.Constant = 0x40
	return ins
}

// LoadImm64 is dst = imm ll: the one instruction that takes two slots.
func LoadImm64(dst Register, imm int64) Instruction {
	return Instruction{OpCode: ClassLD | ModeImm | OpCode(DWord), Dst: dst, Constant: imm}
}

// LoadMapFD is dst = map fd, which the kernel replaces by the map's address.
func LoadMapFD(dst Register, fd int) Instruction {
	ins := LoadImm64(dst, int64(fd))
	ins.Src = PseudoMapFD
	return ins
}

// String prints the instruction in llvm-objdump's notation.
func (ins Instruction) String() string {
	class := ins.OpCode & classMask
	switch class {
	case ClassALU, ClassALU64:
		reg := "r"
		if class == ClassALU {
			reg = "w"
		}
		op := ALUOp(ins.OpCode & 0xf0)
		if op == endOp && class == ClassALU {
			order := "le"
			if ins.OpCode&SourceReg != 0 {
				order = "be"
			}
			return fmt.Sprintf("r%d = %s%d r%d", ins.Dst, order, ins.Constant, ins.Dst)
		}
		if op == Neg {
			return fmt.Sprintf("%s%d = -%s%d", reg, ins.Dst, reg, ins.Dst)
		}
		sym, ok := aluSymbols[op]
		if !ok {
			break
		}
		if ins.OpCode&SourceReg != 0 {
			return fmt.Sprintf("%s%d %s %s%d", reg, ins.Dst, sym, reg, ins.Src)
		}
		return fmt.Sprintf("%s%d %s %d", reg, ins.Dst, sym, int32(ins.Constant))
	case ClassJMP, ClassJMP32:
		op := JumpOp(ins.OpCode & 0xf0)
		switch {
		case op == Exit && class == ClassJMP:
			return "exit"
		case op == Call && class == ClassJMP && ins.Src == PseudoKfuncCall:
			return fmt.Sprintf("call kfunc %d (btf fd_array[%d])", ins.Constant, ins.Offset)
		case op == Call && class == ClassJMP:
			return fmt.Sprintf("call %d", ins.Constant)
		case op == Ja && class == ClassJMP:
			return fmt.Sprintf("goto %+d", ins.Offset)
		}
		sym, ok := jumpSymbols[op]
		if !ok {
			break
		}
		reg := "r"
		if class == ClassJMP32 {
			reg = "w"
		}
		rhs := fmt.Sprint(int32(ins.Constant))
		if ins.OpCode&SourceReg != 0 {
			rhs = fmt.Sprintf("%s%d", reg, ins.Src)
		}
		return fmt.Sprintf("if %s%d %s %s goto %+d", reg, ins.Dst, sym, rhs, ins.Offset)
	case ClassLDX:
		if ins.OpCode&0xe0 == ModeMem {
			size := Size(ins.OpCode & sizeOf)
			return fmt.Sprintf("r%d = *(%s *)(r%d %s)", ins.Dst, size.cType(), ins.Src, signed(ins.Offset))
		}
	case ClassSTX:
		size := Size(ins.OpCode & sizeOf)
		switch ins.OpCode & 0xe0 {
		case ModeMem:
			return fmt.Sprintf("*(%s *)(r%d %s) = r%d", size.cType(), ins.Dst, signed(ins.Offset), ins.Src)
		case ModeAtomic:
			if s, ok := atomicString(ins, size); ok {
				return s
			}
		}
	case ClassST:
		if ins.OpCode&0xe0 == ModeMem {
			size := Size(ins.OpCode & sizeOf)
			return fmt.Sprintf("*(%s *)(r%d %s) = %d", size.cType(), ins.Dst, signed(ins.Offset), int32(ins.Constant))
		}
	case ClassLD:
		if ins.IsLoadImm64() {
			if ins.Src == PseudoMapFD {
				return fmt.Sprintf("r%d = map_fd %d ll", ins.Dst, ins.Constant)
			}
			return fmt.Sprintf("r%d = %d ll", ins.Dst, ins.Constant)
		}
	}
	return fmt.Sprintf("<opcode %#02x dst r%d src r%d off %d imm %d>", uint8(ins.OpCode), ins.Dst, ins.Src, ins.Offset, ins.Constant)
}

// endOp is BPF_END: byte swaps, in the ALU class; BPF_X means big-endian.
const endOp ALUOp = 0xd0

// Atomic operations: the immediate of a BPF_ATOMIC store.
const (
	atomicFetch   = 0x01
	atomicXchg    = 0xe0 | atomicFetch
	atomicCmpXchg = 0xf0 | atomicFetch
)

var atomicNames = map[int64]string{0x00: "add", 0x40: "or", 0x50: "and", 0xa0: "xor"}

// atomicString prints BPF_ATOMIC as llvm-objdump does.
func atomicString(ins Instruction, size Size) (string, bool) {
	mem := fmt.Sprintf("(%s *)(r%d %s)", size.cType(), ins.Dst, signed(ins.Offset))
	reg := "r"
	if size == Word {
		reg = "w"
	}
	switch ins.Constant {
	case atomicXchg:
		return fmt.Sprintf("%s%d = xchg_%s(%s, %s%d)", reg, ins.Src, size.cType()[1:], mem, reg, ins.Src), true
	case atomicCmpXchg:
		return fmt.Sprintf("%s0 = cmpxchg_%s(%s, %s0, %s%d)", reg, size.cType()[1:], mem, reg, reg, ins.Src), true
	}
	name, ok := atomicNames[ins.Constant&^atomicFetch]
	if !ok {
		return "", false
	}
	if ins.Constant&atomicFetch != 0 {
		return fmt.Sprintf("%s%d = atomic_fetch_%s(%s, %s%d)", reg, ins.Src, name, mem, reg, ins.Src), true
	}
	sym := map[string]string{"add": "+=", "or": "|=", "and": "&=", "xor": "^="}[name]
	return fmt.Sprintf("lock *%s %s %s%d", mem, sym, reg, ins.Src), true
}

func signed(off int16) string {
	if off < 0 {
		return fmt.Sprintf("- %d", -int32(off))
	}
	return fmt.Sprintf("+ %d", off)
}
