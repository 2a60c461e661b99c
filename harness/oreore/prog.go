package oreore

import (
	"oreore/harness/asm"
	"oreore/harness/bpf"
)

// Load loads insns as an oreore program with the expected attach type that
// the kernel requires.
func Load(name string, insns asm.Instructions) (bpf.FD, error) {
	return bpf.ProgLoad(bpf.ProgLoadAttr{
		Type:               ProgType,
		Insns:              insns,
		License:            "GPL",
		Name:               name,
		ExpectedAttachType: AttachType,
	})
}

// Attach installs prog in the kernel's single oreore slot, replacing the
// program attached before.
func Attach(prog bpf.FD) error {
	return bpf.ProgAttach(bpf.ProgAttachAttr{Prog: prog, AttachType: AttachType})
}

// Detach empties the slot if prog is the attached program.
func Detach(prog bpf.FD) error {
	return bpf.ProgDetach(bpf.ProgAttachAttr{Prog: prog, AttachType: AttachType})
}

// TestRun runs prog on in with BPF_PROG_TEST_RUN, without attaching it.
func TestRun(prog bpf.FD, in uint32) (uint32, error) {
	res, err := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: ctx(in)})
	return res.Retval, err
}

// ctx is the program's context as the kernel lays it out: one u32.
func ctx(in uint32) []byte {
	return []byte{byte(in), byte(in >> 8), byte(in >> 16), byte(in >> 24)}
}

// Attached returns the id of the attached program, or 0 for none.
func Attached() (uint32, error) {
	ids, err := bpf.ProgQuery(0, AttachType, 1)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}
