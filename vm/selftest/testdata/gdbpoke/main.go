// Command gdbpoke takes the guest through the two places the gdb self-test
// breaks in: it loads the oreore program (the verifier asks the prog type's
// is_valid_access about its context read), attaches it and writes to
// /sys/oreore/bpf (the module's store runs it). It prints the result.
package main

import (
	"fmt"
	"os"

	"oreore/harness/oreore"
	"oreore/programs"
)

func main() {
	if err := poke(); err != nil {
		fmt.Fprintln(os.Stderr, "gdbpoke:", err)
		os.Exit(1)
	}
}

func poke() error {
	prog, err := oreore.Load("add42", programs.Add42())
	if err != nil {
		return err
	}
	if err := oreore.Attach(prog); err != nil {
		return err
	}
	defer oreore.Detach(prog)
	out, err := oreore.Run(1)
	if err != nil {
		return err
	}
	fmt.Printf("gdbpoke: 1 -> %d\n", out)
	return nil
}
