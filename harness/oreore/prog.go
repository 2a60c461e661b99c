package oreore

import (
	"encoding/binary"

	"oreore/harness/asm"
	"oreore/harness/bpf"
)

// Load loads insns as an oreore program with the expected attach type that
// the kernel requires.
func Load(name string, insns asm.Instructions) (bpf.FD, error) {
	u, err := Kernel()
	if err != nil {
		return -1, err
	}
	return bpf.ProgLoad(bpf.ProgLoadAttr{
		Type:               u.ProgType,
		Insns:              insns,
		License:            "GPL",
		Name:               name,
		ExpectedAttachType: u.AttachType,
	})
}

// Attach installs prog in the kernel's single oreore slot with
// BPF_PROG_ATTACH, replacing the program attached before.
func Attach(prog bpf.FD) error {
	u, err := Kernel()
	if err != nil {
		return err
	}
	return bpf.ProgAttach(bpf.ProgAttachAttr{Prog: prog, AttachType: u.AttachType})
}

// Detach empties the slot if prog is the attached program.
func Detach(prog bpf.FD) error {
	u, err := Kernel()
	if err != nil {
		return err
	}
	return bpf.ProgDetach(bpf.ProgAttachAttr{Prog: prog, AttachType: u.AttachType})
}

// LinkCreate puts prog in the slot through a BPF link: the slot stays
// filled while the link is open (or pinned), and empties when it is closed.
func LinkCreate(prog bpf.FD) (bpf.FD, error) {
	u, err := Kernel()
	if err != nil {
		return -1, err
	}
	return bpf.LinkCreate(bpf.LinkCreateAttr{Prog: prog, AttachType: u.AttachType})
}

// LinkInfo is what the kernel reports about an oreore link.
type LinkInfo struct {
	bpf.LinkInfo
	AttachType uint32
	// Attached is false once BPF_LINK_DETACH has emptied the slot.
	Attached bool
}

// GetLinkInfo reads an oreore link's info.
func GetLinkInfo(link bpf.FD) (LinkInfo, error) {
	info, err := bpf.LinkGetInfo(link)
	if err != nil {
		return LinkInfo{}, err
	}
	// struct { __u32 attach_type; __u32 attached; } oreore;
	return LinkInfo{
		LinkInfo:   info,
		AttachType: binary.NativeEndian.Uint32(info.Union[0:4]),
		Attached:   binary.NativeEndian.Uint32(info.Union[4:8]) != 0,
	}, nil
}

// TestRun runs prog on in with BPF_PROG_TEST_RUN, without attaching it.
func TestRun(prog bpf.FD, in uint32) (uint32, error) {
	res, err := bpf.ProgTestRun(prog, bpf.TestRun{CtxIn: ctx(in)})
	return res.Retval, err
}

// ctx is the program's context as the kernel lays it out: one u32, in the
// machine's order.
func ctx(in uint32) []byte { return binary.NativeEndian.AppendUint32(nil, in) }

// Attached returns the id of the attached program, or 0 for none.
func Attached() (uint32, error) {
	u, err := Kernel()
	if err != nil {
		return 0, err
	}
	ids, err := bpf.ProgQuery(0, u.AttachType, 1)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}
