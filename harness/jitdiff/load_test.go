//go:build guest

package jitdiff

import (
	"oreore/harness/asm"
	"oreore/harness/bpf"
	"oreore/harness/progtype"
)

// quickLoad loads a program of the described type without a verifier log
// (bpf.ProgLoad's NoLog): under TCG writing the log took a third of a
// generated program's load. On failure it loads again with a log, whose
// error carries the verifier's reason.
func quickLoad(k *progtype.Kernel, name string, insns asm.Instructions) (bpf.FD, error) {
	attr := bpf.ProgLoadAttr{
		Type: k.Numbers.ProgType, Insns: insns, License: "GPL", Name: name, ExpectedAttachType: k.Numbers.AttachType, NoLog: true,
	}
	fd, err := bpf.ProgLoad(attr)
	if err == nil {
		return fd, nil
	}
	attr.NoLog = false
	return bpf.ProgLoad(attr)
}
