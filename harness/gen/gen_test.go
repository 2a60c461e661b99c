package gen

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"oreore/harness/asm"
	"oreore/harness/interp"
)

const hostSeeds = 5000

// A seed names its program for good: the same seed gives the same program
// in two calls, and the program of seed 1 is the one this test pins (a
// change to the generator must change this hash knowingly, since the seeds
// printed by earlier failures no longer reproduce them).
func TestSeedReproducesProgram(t *testing.T) {
	for seed := range uint64(200) {
		a, b := Program(seed), Program(seed)
		if a.String() != b.String() {
			t.Fatalf("seed %d gave two programs:\n%v\n%v", seed, a, b)
		}
	}
	bytes, err := Program(1).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const want = "0989193e4e2c719d" // see the comment above before changing it
	if got := fmt.Sprintf("%x", sha256.Sum256(bytes))[:16]; got != want {
		t.Errorf("seed 1 gives a program whose sha256 starts %s, want %s:\n%v", got, want, Program(1))
	}
	if got := Inputs(1, 8); got[6] != Inputs(1, 8)[6] || got[0] != 0 {
		t.Errorf("Inputs(1, 8) = %#x: not reproducible, or the edges do not come first", got)
	}
}

func TestSeedsGiveDifferentPrograms(t *testing.T) {
	seen := map[string]uint64{}
	for seed := range uint64(1000) {
		s := Program(seed).String()
		if other, ok := seen[s]; ok {
			t.Errorf("seeds %d and %d give the same program", other, seed)
		}
		seen[s] = seed
	}
}

// The Go interpreter runs every program to its exit: no instruction it
// does not model, no access outside the stack or the context.
func TestInterpreterRunsEveryProgram(t *testing.T) {
	for seed := range uint64(hostSeeds) {
		p := Program(seed)
		for _, in := range Inputs(seed, 8) {
			if _, err := interp.Run(p, in, nil); err != nil {
				t.Fatalf("seed %d, input %#x: %v\n%v", seed, in, err, p)
			}
		}
	}
}

// The generator covers what it claims: every ALU operation in both widths
// and with both sources, every conditional jump in both widths and with
// both sources, stack stores and loads of every size, and 64-bit
// immediates.
func TestProgramsCoverTheInstructionSet(t *testing.T) {
	seen := map[asm.OpCode]bool{}
	for seed := range uint64(1000) {
		for _, ins := range Program(seed) {
			seen[ins.OpCode] = true
		}
	}
	var want []asm.OpCode
	for _, op := range aluOps {
		for _, class := range []asm.OpCode{asm.ClassALU, asm.ClassALU64} {
			want = append(want, class|asm.SourceImm|asm.OpCode(op))
			if op != asm.Neg {
				want = append(want, class|asm.SourceReg|asm.OpCode(op))
			}
		}
	}
	for _, op := range jumpOps {
		for _, class := range []asm.OpCode{asm.ClassJMP, asm.ClassJMP32} {
			want = append(want, class|asm.SourceImm|asm.OpCode(op), class|asm.SourceReg|asm.OpCode(op))
		}
	}
	for _, size := range sizes {
		want = append(want, asm.ClassLDX|asm.ModeMem|asm.OpCode(size), asm.ClassSTX|asm.ModeMem|asm.OpCode(size),
			asm.ClassST|asm.ModeMem|asm.OpCode(size))
	}
	want = append(want, asm.ClassLD|asm.ModeImm|asm.OpCode(asm.DWord), asm.ClassJMP|asm.OpCode(asm.Ja))
	for _, op := range want {
		if !seen[op] {
			t.Errorf("no program of 1000 has opcode %#02x (%v)", uint8(op), asm.Instruction{OpCode: op})
		}
	}
}

// Every program keeps the rules the package comment lists, checked here on
// every path by a walker that shares nothing with the generator: the Go
// interpreter's stack starts zeroed, so it would not notice a read of
// stack that a path never wrote, but the kernel's would return garbage.
func TestProgramsKeepTheVerifiersRules(t *testing.T) {
	for seed := range uint64(hostSeeds) {
		if err := checkRules(Program(seed)); err != nil {
			t.Fatalf("seed %d: %v\n%v", seed, err, Program(seed))
		}
	}
}

func checkRules(p asm.Instructions) error {
	idx := map[int]int{} // slot -> instruction
	slot := 0
	for i, ins := range p {
		idx[slot] = i
		slot += ins.Slots()
	}
	reached := make([]bool, len(p))
	paths := 0
	// set[r] tells that a path wrote register r.
	type state struct {
		written [StackBytes]bool
		set     [11]bool
	}
	var walk func(i int, s state) error
	walk = func(i int, s state) error {
		written, set := &s.written, &s.set
		read := func(r asm.Register) error {
			if !set[r] {
				return fmt.Errorf("instruction %d (%v) reads r%d, which a path to it never wrote", i, p[i], r)
			}
			return nil
		}
		for {
			if i >= len(p) {
				return fmt.Errorf("fell off the end")
			}
			reached[i] = true
			ins := p[i]
			class := ins.OpCode & 0x07
			size := asm.Size(ins.OpCode & 0x18).Bytes()
			switch class {
			case asm.ClassLD:
				set[ins.Dst] = true
			case asm.ClassALU, asm.ClassALU64:
				op := asm.ALUOp(ins.OpCode & 0xf0)
				if ins.Dst == asm.R10 || (ins.OpCode&asm.SourceReg != 0 && ins.Src == asm.R10) {
					return fmt.Errorf("instruction %d (%v) does arithmetic on r10", i, ins)
				}
				if op != asm.Mov {
					if err := read(ins.Dst); err != nil {
						return err
					}
				}
				if ins.OpCode&asm.SourceReg != 0 {
					if err := read(ins.Src); err != nil {
						return err
					}
				}
				set[ins.Dst] = true
				width := int64(32)
				if class == asm.ClassALU64 {
					width = 64
				}
				if ins.OpCode&asm.SourceReg == 0 {
					switch {
					case (op == asm.Div || op == asm.Mod) && ins.Constant == 0:
						return fmt.Errorf("instruction %d (%v) divides by an immediate zero", i, ins)
					case (op == asm.LSh || op == asm.RSh || op == asm.ArSh) && (ins.Constant < 0 || ins.Constant >= width):
						return fmt.Errorf("instruction %d (%v) shifts by %d", i, ins, ins.Constant)
					}
				}
			case asm.ClassLDX:
				if i == 0 && ins.Src == asm.R1 && ins.Offset == 0 && size == 4 {
					set[ins.Dst] = true // the context
					break
				}
				if ins.Src != asm.R10 {
					return fmt.Errorf("instruction %d (%v) loads through a scalar", i, ins)
				}
				at := int(ins.Offset) + StackBytes
				if at < 0 || at+size > StackBytes || at%size != 0 {
					return fmt.Errorf("instruction %d (%v): unaligned or outside the frame's used part", i, ins)
				}
				for b := at; b < at+size; b++ {
					if !written[b] {
						return fmt.Errorf("instruction %d (%v) reads stack byte %d, which a path to it never wrote", i, ins, b-StackBytes)
					}
				}
				set[ins.Dst] = true
			case asm.ClassST, asm.ClassSTX:
				at := int(ins.Offset) + StackBytes
				if ins.Dst != asm.R10 || at < 0 || at+size > StackBytes || at%size != 0 {
					return fmt.Errorf("instruction %d (%v): store outside the frame's used part, or unaligned", i, ins)
				}
				if class == asm.ClassSTX {
					if err := read(ins.Src); err != nil {
						return err
					}
				}
				for b := at; b < at+size; b++ {
					written[b] = true
				}
			case asm.ClassJMP, asm.ClassJMP32:
				op := asm.JumpOp(ins.OpCode & 0xf0)
				if op == asm.Exit {
					paths++
					return read(asm.R0)
				}
				if ins.Offset < 0 {
					return fmt.Errorf("instruction %d (%v) jumps backwards", i, ins)
				}
				target, ok := idx[slotOf(p, i)+1+int(ins.Offset)]
				if !ok {
					return fmt.Errorf("instruction %d (%v) jumps into the middle of an instruction", i, ins)
				}
				if op == asm.Ja {
					i = target
					continue
				}
				if err := read(ins.Dst); err != nil {
					return err
				}
				if ins.OpCode&asm.SourceReg != 0 {
					if err := read(ins.Src); err != nil {
						return err
					}
				}
				if err := walk(target, s); err != nil {
					return err
				}
			}
			i++
		}
	}
	start := state{}
	start.set[asm.R1], start.set[asm.R10] = true, true
	if err := walk(0, start); err != nil {
		return err
	}
	for i, r := range reached {
		if !r {
			return fmt.Errorf("instruction %d (%v) is unreachable: the verifier refuses it", i, p[i])
		}
	}
	if paths > 1<<maxBranch {
		return fmt.Errorf("%d paths", paths)
	}
	return nil
}

func slotOf(p asm.Instructions, i int) int {
	return p[:i].Slots()
}

// A struct context: the prologue reads its first place exactly as
// Program's does, folds some of the others in, and the Go interpreter runs
// the program on any context of that size; a change to a byte the program
// read changes some result.
func TestProgramForReadsTheGivenPlaces(t *testing.T) {
	reads := []Read{{0, asm.Word}, {4, asm.Word}, {8, asm.DWord}, {16, asm.Half}}
	sawOthers := false
	for seed := range uint64(500) {
		p := ProgramFor(seed, reads)
		if p[0] != asm.LoadMem(input, asm.R1, 0, asm.Word) {
			t.Fatalf("seed %d: the prologue starts %v, want the first read", seed, p[0])
		}
		for _, ins := range p[1:8] {
			if ins.Src == asm.R1 && ins.Offset != 0 {
				sawOthers = true
			}
		}
		for _, ctx := range CtxInputs(seed, 4, 24) {
			if _, err := interp.RunCtx(p, ctx, nil); err != nil {
				t.Fatalf("seed %d, ctx %x: %v\n%v", seed, ctx, err, p)
			}
		}
	}
	if !sawOthers {
		t.Error("no program read past the first field")
	}
	if ProgramFor(7, oreoreReads).String() != Program(7).String() {
		t.Error("ProgramFor with oreore's one read is not Program")
	}
}
