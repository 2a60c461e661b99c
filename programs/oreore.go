// Package programs holds the eBPF programs that the harness loads. The
// hand-assembled ones are Go functions returning instructions.
package programs

import "oreore/harness/asm"

// Add42 is the program from the talk: it returns its input plus 42,
// modulo 2^32.
func Add42() asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R0, asm.R1, 0, asm.Word), // r0 = *(u32 *)(r1 + 0)
		asm.Add.Imm32(asm.R0, 42),                // w0 += 42
		asm.Return(),                             // exit
	}
}
