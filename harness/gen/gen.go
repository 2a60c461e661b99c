// Package gen writes random oreore programs for differential tests: the
// same seed gives the same program on every machine and Go release, so a
// seed printed by a failing run reproduces it.
//
// A program reads its u32 context once, fills r0-r9 with scalars, then runs
// a random body of ALU32/ALU64 operations, stack stores and loads, and
// forward conditional jumps (if and if/else, nested), and folds every
// register, the written stack and the high halves into the u32 it returns.
// It is written so that a privileged verifier accepts it:
//
//   - no loops: every jump goes forward, and no instruction is unreachable;
//   - every register is written before it is read, and r10 is only a base;
//   - the stack is read only where every path to the load has written it,
//     with accesses aligned to their size (the verifier wants both: a root
//     load may read uninitialised stack, but its value is whatever the
//     kernel's stack held);
//   - no division or modulo by an immediate zero, no shift by an immediate
//     at least the operand's width. Division and modulo by a register that
//     is zero at run time are allowed: BPF defines them (x/0 = 0, x%0 = x).
package gen

import (
	"oreore/harness/asm"
)

// Limits of one program.
const (
	// StackBytes is the part of the frame the programs use, below r10.
	StackBytes = 64
	maxItems   = 40 // body items at the top level
	maxDepth   = 3  // nesting of if and if/else
	maxBranch  = 8  // conditional jumps: the verifier walks up to 2^n paths
)

// Rand is splitmix64 (Steele, Lea, Flood 2014). It is written out here, not
// taken from math/rand, so that the stream of a seed can never change
// under the programs it reproduces.
type Rand struct{ s uint64 }

// NewRand returns the stream of seed.
func NewRand(seed uint64) *Rand { return &Rand{s: seed} }

// Uint64 returns the next value.
func (r *Rand) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Intn returns a value in [0, n); n > 0.
func (r *Rand) Intn(n int) int { return int(r.Uint64() % uint64(n)) }

func (r *Rand) chance(percent int) bool { return r.Intn(100) < percent }

// CtxInputs returns n contexts of size bytes for a program: all zeros, all
// ones, then bytes of seed's stream.
func CtxInputs(seed uint64, n, size int) [][]byte {
	r := NewRand(seed ^ 0x696e707574)
	var out [][]byte
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		for j := range b {
			switch i {
			case 0:
			case 1:
				b[j] = 0xff
			default:
				b[j] = byte(r.Uint64())
			}
		}
		out = append(out, b)
	}
	return out
}

// Inputs returns n contexts for a program: the edges of u32 first, then
// values of seed's stream.
func Inputs(seed uint64, n int) []uint32 {
	edges := []uint32{0, 0xffffffff, 0x80000000, 1, 0x7fffffff, 42}
	in := edges[:min(n, len(edges))]
	r := NewRand(seed ^ 0x696e707574) // "input": not the program's stream
	for len(in) < n {
		in = append(in, uint32(r.Uint64()))
	}
	return in
}

// Read is one load the prologue may make from the context: a readable
// field's offset and an access size the type allows there.
type Read struct {
	Off  int16
	Size asm.Size
}

// oreoreReads is oreore's context: one u32.
var oreoreReads = []Read{{0, asm.Word}}

// Program returns the program of seed for oreore's u32 context.
func Program(seed uint64) asm.Instructions { return ProgramFor(seed, oreoreReads) }

// ProgramFor returns the program of seed for a context with the given
// readable places. With one place it is Program's prologue exactly; with
// more, the prologue loads each of a random choice and folds it into the
// input, so that a seed tests several fields of a struct context.
func ProgramFor(seed uint64, reads []Read) asm.Instructions {
	g := &generator{r: NewRand(seed), reads: reads}
	g.prologue()
	g.emit(g.block(0, 1+g.r.Intn(maxItems))...)
	g.epilogue()
	return g.out
}

type generator struct {
	r   *Rand
	out asm.Instructions
	// written[i] is true when every path to here has written the byte at
	// r10 - StackBytes + i.
	written  [StackBytes]bool
	branches int
	reads    []Read
}

func (g *generator) emit(insns ...asm.Instruction) { g.out = append(g.out, insns...) }

// input is where the prologue leaves the context's value.
const input = asm.R6

// scalars are the registers the body reads and writes.
var scalars = []asm.Register{asm.R0, asm.R1, asm.R2, asm.R3, asm.R4, asm.R5, asm.R6, asm.R7, asm.R8, asm.R9}

func (g *generator) reg() asm.Register { return scalars[g.r.Intn(len(scalars))] }

// prologue reads the context, then writes every other register in a random
// order, r1 (the context pointer) included: from then on all are scalars.
func (g *generator) prologue() {
	g.emit(asm.LoadMem(input, asm.R1, g.reads[0].Off, g.reads[0].Size))
	if len(g.reads) > 1 {
		// r1 is still the context here; r7 is written again below.
		for _, rd := range g.reads[1:] {
			if g.r.chance(50) {
				g.emit(asm.LoadMem(asm.R7, asm.R1, rd.Off, rd.Size))
				g.emit(asm.Xor.Reg(input, asm.R7))
			}
		}
	}
	regs := []asm.Register{asm.R0, asm.R1, asm.R2, asm.R3, asm.R4, asm.R5, asm.R7, asm.R8, asm.R9}
	for i := len(regs) - 1; i > 0; i-- {
		j := g.r.Intn(i + 1)
		regs[i], regs[j] = regs[j], regs[i]
	}
	for _, r := range regs {
		switch g.r.Intn(4) {
		case 0:
			g.emit(asm.Mov.Imm(r, g.imm()))
		case 1:
			g.emit(asm.Mov.Imm32(r, g.imm()))
		case 2:
			g.emit(asm.LoadImm64(r, int64(g.r.Uint64())))
		default: // a value that depends on the input
			g.emit(asm.Mov.Reg(r, input))
			g.emit(g.alu(r, input)) // the others may not be written yet
		}
	}
}

// block returns n items of body without emitting them. What they write to
// the stack stays in g.written: a caller that may skip the block restores it.
func (g *generator) block(depth, n int) asm.Instructions {
	saved := g.out
	g.out = nil
	for range n {
		g.item(depth)
	}
	body := g.out
	g.out = saved
	return body
}

func (g *generator) item(depth int) {
	canBranch := depth < maxDepth && g.branches < maxBranch
	switch p := g.r.Intn(100); {
	case p < 55:
		g.emit(g.alu(g.reg(), scalars...))
	case p < 68:
		g.store()
	case p < 80 && g.load():
	case p < 83:
		g.emit(asm.LoadImm64(g.reg(), int64(g.r.Uint64())))
	case p < 93 && canBranch:
		g.ifThen(depth)
	case p < 100 && canBranch:
		g.ifElse(depth)
	default:
		g.emit(g.alu(g.reg(), scalars...))
	}
}

// interesting are immediates at the edges of 32-bit and 64-bit arithmetic.
var interesting = []int32{0, 1, -1, 2, 7, 31, 32, 33, 63, 64, 0xff, 0xffff, 0x7fffffff, -0x80000000, 0x55555555, -0x2a}

func (g *generator) imm() int32 {
	switch g.r.Intn(3) {
	case 0:
		return interesting[g.r.Intn(len(interesting))]
	case 1:
		return int32(g.r.Intn(33) - 16)
	default:
		return int32(uint32(g.r.Uint64()))
	}
}

var aluOps = []asm.ALUOp{asm.Add, asm.Sub, asm.Mul, asm.Div, asm.Or, asm.And, asm.LSh, asm.RSh, asm.Neg, asm.Mod, asm.Xor, asm.Mov, asm.ArSh}

// alu returns one ALU32 or ALU64 operation on dst that the verifier takes,
// with an immediate or one of srcs.
func (g *generator) alu(dst asm.Register, srcs ...asm.Register) asm.Instruction {
	op := aluOps[g.r.Intn(len(aluOps))]
	is64 := g.r.chance(50)
	if op == asm.Neg {
		if is64 {
			return op.Imm(dst, 0)
		}
		return op.Imm32(dst, 0)
	}
	if g.r.chance(50) {
		src := srcs[g.r.Intn(len(srcs))]
		if is64 {
			return op.Reg(dst, src)
		}
		return op.Reg32(dst, src)
	}
	imm := g.imm()
	switch op {
	case asm.Div, asm.Mod:
		if imm == 0 { // "division by zero": the verifier refuses a constant one
			imm = 3
		}
	case asm.LSh, asm.RSh, asm.ArSh:
		width := int32(32)
		if is64 {
			width = 64
		}
		imm = int32(uint32(imm) % uint32(width))
	}
	if is64 {
		return op.Imm(dst, imm)
	}
	return op.Imm32(dst, imm)
}

var sizes = []asm.Size{asm.Byte, asm.Half, asm.Word, asm.DWord}

// slot returns a random aligned access of a random size in the frame's
// used part: its offset from r10 and the index of its first byte.
func (g *generator) slot() (asm.Size, int16, int) {
	size := sizes[g.r.Intn(len(sizes))]
	n := size.Bytes()
	at := g.r.Intn(StackBytes/n) * n
	return size, int16(at - StackBytes), at
}

func (g *generator) store() {
	size, off, at := g.slot()
	if g.r.chance(70) {
		g.emit(asm.StoreMem(asm.R10, off, g.reg(), size))
	} else {
		g.emit(asm.StoreImm(asm.R10, off, g.imm(), size))
	}
	for i := range size.Bytes() {
		g.written[at+i] = true
	}
}

// load reads written stack into a register; false when a few tries found
// no written place.
func (g *generator) load() bool {
	for range 8 {
		size, off, at := g.slot()
		if g.isWritten(at, size.Bytes()) {
			g.emit(asm.LoadMem(g.reg(), asm.R10, off, size))
			return true
		}
	}
	return false
}

func (g *generator) isWritten(at, n int) bool {
	for i := range n {
		if !g.written[at+i] {
			return false
		}
	}
	return true
}

var jumpOps = []asm.JumpOp{asm.JEq, asm.JNE, asm.JGT, asm.JGE, asm.JLT, asm.JLE, asm.JSet, asm.JSGT, asm.JSGE, asm.JSLT, asm.JSLE}

// cond returns a conditional jump by off slots.
func (g *generator) cond(off int) asm.Instruction {
	g.branches++
	op := jumpOps[g.r.Intn(len(jumpOps))]
	dst := g.reg()
	is32 := g.r.chance(40)
	if g.r.chance(50) {
		src := g.reg()
		if is32 {
			return op.Reg32(dst, src, int16(off))
		}
		return op.Reg(dst, src, int16(off))
	}
	if is32 {
		return op.Imm32(dst, g.imm(), int16(off))
	}
	return op.Imm(dst, g.imm(), int16(off))
}

// ifThen is: if cond goto +len(body); body. What body writes to the stack
// is forgotten after it, since the jump may skip it.
func (g *generator) ifThen(depth int) {
	before := g.written
	j := g.cond(0)
	body := g.block(depth+1, 1+g.r.Intn(6))
	g.written = before
	j.Offset = int16(body.Slots())
	g.emit(j)
	g.emit(body...)
}

// ifElse is: if cond goto else; then; goto end; else: ...; end. The stack
// written after it is what both arms wrote.
func (g *generator) ifElse(depth int) {
	before := g.written
	j := g.cond(0)
	then := g.block(depth+1, 1+g.r.Intn(5))
	afterThen := g.written
	g.written = before
	els := g.block(depth+1, 1+g.r.Intn(5))
	for i := range g.written {
		g.written[i] = g.written[i] && afterThen[i]
	}
	j.Offset = int16(then.Slots() + 1)
	g.emit(j)
	g.emit(then...)
	g.emit(asm.Goto(int16(els.Slots())))
	g.emit(els...)
}

// epilogue folds every register and every written 8-byte slot into r0,
// then the high half of r0 into the low half that the program returns, so
// that a wrong bit anywhere shows in the result.
func (g *generator) epilogue() {
	folds := []asm.ALUOp{asm.Add, asm.Xor, asm.Sub}
	for _, r := range scalars[1:] {
		g.emit(asm.Mul.Imm(asm.R0, 0x01000193)) // FNV's prime: keeps the order of the folds
		g.emit(folds[g.r.Intn(len(folds))].Reg(asm.R0, r))
	}
	for at := 0; at < StackBytes; at += 8 {
		if g.isWritten(at, 8) {
			g.emit(asm.LoadMem(asm.R1, asm.R10, int16(at-StackBytes), asm.DWord))
			g.emit(asm.Mul.Imm(asm.R0, 0x01000193))
			g.emit(asm.Xor.Reg(asm.R0, asm.R1))
		}
	}
	g.emit(asm.Mov.Reg(asm.R1, asm.R0))
	g.emit(asm.RSh.Imm(asm.R1, 32))
	g.emit(asm.Xor.Reg32(asm.R0, asm.R1))
	g.emit(asm.Return())
}
