// Command gdbpoke takes the guest through the places the gdb self-test
// breaks in, for every described type in progtype.All's order: it loads a
// program that reads the type's input field (the verifier asks the type's
// is_valid_access about it), links it and runs it through the type's trigger
// (the module's store runs it). It prints each result.
package main

import (
	"fmt"
	"os"

	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/progtype"
)

func main() {
	for _, typ := range progtype.All {
		if err := poke(typ); err != nil {
			fmt.Fprintf(os.Stderr, "gdbpoke: %s: %v\n", typ.Name, err)
			os.Exit(1)
		}
	}
}

// poke runs 1+42 through the type's trigger.
func poke(typ *progtype.Type) error {
	k, err := progtype.Running(typ)
	if err != nil {
		return err
	}
	in, ok := k.Ctx.InputWord()
	if !ok {
		return fmt.Errorf("no readable 4-byte input field")
	}
	prog, err := bpf.ProgLoad(bpf.ProgLoadAttr{Type: k.Numbers.ProgType, License: "GPL", Name: k.Name,
		ExpectedAttachType: k.Numbers.AttachType,
		Insns:              asm.Instructions{asm.LoadMem(asm.R0, asm.R1, int16(in.Off), asm.Word), asm.Add.Imm32(asm.R0, 42), asm.Return()}})
	if err != nil {
		return err
	}
	defer prog.Close()
	link, err := bpf.LinkCreate(bpf.LinkCreateAttr{Prog: prog, AttachType: k.Numbers.AttachType})
	if err != nil {
		return err
	}
	defer link.Close()
	out, err := k.Trigger.Run(1)
	if err != nil {
		return err
	}
	fmt.Printf("gdbpoke: %s: 1 -> %d\n", k.Name, out)
	return nil
}
